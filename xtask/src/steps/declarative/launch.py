"""Runs one manifest-only Airbyte connector on a pinned airbyte-cdk, as its
image does, for `cargo xtask` (written into its cache by
xtask/src/steps/declarative/mod.rs; the entrypoint `cargo xtask provision`
prints runs it with the cdk venv's Python):

    launch.py --manifest M --manifest-sha256 H [--components C --components-sha256 H] -- VERB ARGS...

The files run only when their sha256 is the pinned one. Every verb runs as
in the connector's image, where `source-declarative-manifest` finds the
manifest baked at `source_declarative_manifest/manifest.yaml` and builds a
`SourceLocalYaml` (airbyte_cdk/cli/source_declarative_manifest/_run.py:
`_get_local_yaml_source`): the declarative source of the manifest with the
config, catalog and state of the command line, its `components.py`
importable as `components` and `source_declarative_manifest.components`.
So `spec` prints the connector's own spec (`source-declarative-manifest spec
--manifest-path` would print the generic runner's), and the same code runs
on every cdk from 6.x (which has no `--manifest-path`) to 7.x.
"""

import argparse
import hashlib
import importlib.util
import json
import sys
import time
import traceback


def pinned(path, want, what):
    with open(path, "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    if got != want:
        print(
            f"{what} {path} has sha256 {got}, not the pinned {want}: refusing to run it; "
            "run `cargo xtask provision --force` to fetch the pinned file again",
            file=sys.stderr,
        )
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(prog="launch.py")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--manifest-sha256", required=True)
    ap.add_argument("--components")
    ap.add_argument("--components-sha256")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    args = a.args[1:] if a.args[:1] == ["--"] else a.args
    pinned(a.manifest, a.manifest_sha256, "manifest")
    if a.components:
        pinned(a.components, a.components_sha256, "components")

    import inspect

    import yaml
    from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
        ConcurrentDeclarativeSource as Source,
    )

    try:
        if a.components:
            register_components(a.components)
        parsed = AirbyteEntrypoint.parse_args(args)
        config = Source.read_config(parsed.config) if hasattr(parsed, "config") else None
        catalog = Source.read_catalog(parsed.catalog) if hasattr(parsed, "catalog") else None
        state = Source.read_state(parsed.state) if hasattr(parsed, "state") else []
        with open(a.manifest, encoding="utf-8") as f:
            manifest = yaml.safe_load(f)
        kwargs = dict(catalog=catalog, config=config, state=state, source_config=manifest)
        if "config_path" in inspect.signature(Source.__init__).parameters:
            # cdk 7: the config's path, for its config migrations.
            kwargs["config_path"] = getattr(parsed, "config", None)
        source = Source(**kwargs)
    except Exception as error:
        # As the image says it (_get_local_yaml_source), then the traceback.
        trace_error(error)
        raise
    launch(source, args)


def register_components(path):
    """`components.py` as the image imports it (the cdk's
    `_register_components_from_file`, which older cdks lack)."""
    spec = importlib.util.spec_from_file_location("components", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["components"] = module
    sys.modules["source_declarative_manifest.components"] = module
    spec.loader.exec_module(module)


def trace_error(error):
    message = {
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": int(time.time() * 1000),
            "error": {
                "message": "Error starting the sync. This could be due to an invalid configuration or catalog. Please contact Support for assistance. Error: "
                + str(error),
                "internal_message": str(error),
                "stack_trace": traceback.format_exc(),
                "failure_type": "system_error",
            },
        },
    }
    print(json.dumps(message), flush=True)

if __name__ == "__main__":
    main()
