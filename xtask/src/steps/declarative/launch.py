"""Runs one manifest-only Airbyte connector on a pinned airbyte-cdk, as its
image does, for `cargo xtask` (written into its cache by
xtask/src/steps/declarative/mod.rs; the entrypoint `cargo xtask provision`
prints runs it with the cdk venv's Python):

    launch.py --manifest M --manifest-sha256 H [--components C --components-sha256 H] -- VERB ARGS...

The files run only when their sha256 is the pinned one. `spec` prints the
connector's own spec, built from the manifest's `spec` section as the image's
`SourceLocalYaml` builds it; `source-declarative-manifest spec` would print the
generic runner's spec instead. The other verbs are the cdk's own
`source-declarative-manifest VERB ... --manifest-path M [--components-path C]`
(airbyte_cdk/cli/source_declarative_manifest/_run.py, which registers the
components module under the names the image gives it).
"""

import argparse
import hashlib
import sys


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

    from airbyte_cdk.cli.source_declarative_manifest import _run

    if args[:1] == ["spec"]:
        from airbyte_cdk.entrypoint import launch
        from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
            ConcurrentDeclarativeSource,
        )

        if a.components:
            _run._register_components_from_file(a.components)
        manifest = _run._parse_manifest_from_file(a.manifest)
        source = ConcurrentDeclarativeSource(
            catalog=None, config={}, state=None, source_config=manifest
        )
        launch(source, args)
        return
    extra = ["--manifest-path", a.manifest]
    if a.components:
        extra += ["--components-path", a.components]
    _run.handle_remote_manifest_command(args + extra)


if __name__ == "__main__":
    main()
