"""The plan of a manifest-only connector's API, for `mockapi generate`
(mockapi/src/generate/mod.rs writes this file into a temporary folder and
runs it with the Python of the connector's pinned airbyte-cdk venv):

    plan.py MANIFEST CONFIG [COMPONENTS COMPONENTS_SHA256] > plan.json

It reads the manifest as the cdk does (`ManifestReferenceResolver` then
`ManifestComponentTransformer`, as `ManifestDeclarativeSource.__init__` does:
references resolved, `$parameters` handed down) and evaluates every
interpolated string with the cdk's own `JinjaInterpolation`, with the config,
the component's `$parameters` and, for a child stream, a stream slice whose
every key `k` evaluates to `{k}` (the mock's path segment for the parent's
id). What it cannot classify it says per stream in `problems`, never by
failing: the generator still serves the other streams.
"""

import hashlib
import json
import re
import sys
from urllib.parse import parse_qsl, urlsplit

import yaml
from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation
from airbyte_cdk.sources.declarative.parsers.manifest_component_transformer import (
    ManifestComponentTransformer,
)
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import (
    ManifestReferenceResolver,
)

JINJA = JinjaInterpolation()


class Slice(dict):
    """A stream slice whose every key is the mock's path marker `{key}`."""

    def __missing__(self, key):
        return "{" + str(key) + "}"

    def get(self, key, default=None):
        return self[key]


def ev(value, config, params, slice_=None):
    if not isinstance(value, str):
        return value
    if "{{" not in value and "{%" not in value:
        return value
    s = slice_ if slice_ is not None else Slice()
    try:
        return JINJA.eval(
            value,
            config,
            parameters=params,
            stream_slice=s,
            next_page_token=None,
            stream_state={},
        )
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        raise Unsupported(f"cannot evaluate {value!r}: {e}")


class Unsupported(Exception):
    pass


def option(opt, config, params):
    """A RequestOption as (inject_into, field_name)."""
    if not opt:
        return None
    if opt.get("type") == "RequestPath":
        return ("path", None)
    name = opt.get("field_name")
    if name is None and opt.get("field_path"):
        name = ".".join(str(p) for p in opt["field_path"])
    return (opt.get("inject_into"), ev(name, config, params))


def pointer(expr, records_path):
    """The JSON pointer a `response...` expression reads, e.g.
    `response.get("pagination", {}).get("next_page_token")`,
    `response['metadata']['next']`, `response.metadata.after`."""
    m = re.search(r"response((?:\s*(?:\.get\(\s*['\"][^'\"]+['\"][^)]*\)|\[\s*['\"][^'\"]+['\"]\s*\]|\.[A-Za-z_][A-Za-z0-9_]*))+)", expr)
    if not m:
        return None
    keys = re.findall(r"\.get\(\s*['\"]([^'\"]+)['\"]|\[\s*['\"]([^'\"]+)['\"]\s*\]|\.([A-Za-z_][A-Za-z0-9_]*)", m.group(1))
    keys = [a or b or c for a, b, c in keys if (a or b or c) != "get"]
    return "/" + "/".join(k.replace("~", "~0").replace("/", "~1") for k in keys)


def paginator(p, config, params, records_path):
    if not p or p.get("type") == "NoPagination":
        return {"kind": "none"}
    if p.get("type") != "DefaultPaginator":
        raise Unsupported(f"paginator {p.get('type')} is not one the generator knows")
    pp = p.get("$parameters", params)
    strat = p.get("pagination_strategy") or {}
    token = option(p.get("page_token_option"), config, pp)
    size = option(p.get("page_size_option"), config, pp)
    for what, opt in (("page_token_option", token), ("page_size_option", size)):
        if opt and opt[0] not in ("request_parameter", "path"):
            raise Unsupported(f"{what} goes into the {opt[0]}, the mock reads only query parameters")
    sp = strat.get("$parameters", pp)
    page_size = ev(strat.get("page_size"), config, sp)
    page_size = int(page_size) if page_size not in (None, "") else None
    out = {
        "page_size": page_size,
        "token_param": token[1] if token and token[0] == "request_parameter" else None,
        "size_param": size[1] if size else None,
    }
    kind = strat.get("type")
    if kind == "PageIncrement":
        start = ev(strat.get("start_from_page", 0), config, sp)
        out.update(kind="page", first_page=int(start or 0))
        if not out["token_param"]:
            raise Unsupported("PageIncrement without a page_token_option request parameter")
    elif kind == "OffsetIncrement":
        out.update(kind="offset")
        if not out["token_param"]:
            raise Unsupported("OffsetIncrement without a page_token_option request parameter")
    elif kind == "CursorPagination":
        value = strat.get("cursor_value", "")
        if "headers" in value and "link" in value:
            if "cursor" in value:
                out.update(kind="link_cursor")
            elif "url" in value:
                out.update(kind="link")
            else:
                raise Unsupported(f"cursor_value {value!r} reads a Link header the generator does not know")
        elif re.search(r"\[\s*-1\s*\]", value) or "last_record" in value:
            m = re.search(r"(?:\[\s*-1\s*\]|last_record)\s*(?:\[\s*['\"]([^'\"]+)['\"]\s*\]|\.([A-Za-z_]\w*)|\.get\(\s*['\"]([^'\"]+)['\"])", value)
            if not m:
                raise Unsupported(f"cursor_value {value!r}: which field of the last record is not clear")
            out.update(kind="cursor", id_field=m.group(1) or m.group(2) or m.group(3))
        elif "response" in value:
            ptr = pointer(value, records_path)
            if not ptr:
                raise Unsupported(f"cursor_value {value!r} reads the body in a way the generator does not know")
            out.update(kind="token", token_path=ptr, url=not token or token[0] == "path")
            if out["url"]:
                out["token_param"] = "page_token"
        else:
            raise Unsupported(f"cursor_value {value!r} is not one the generator knows")
    else:
        raise Unsupported(f"pagination strategy {kind} is not one the generator knows")
    return out


def auth(a, config, params, secrets):
    if not a or a.get("type") in ("NoAuth",):
        return None
    ap = a.get("$parameters", params)
    kind = a.get("type")
    if kind == "BearerAuthenticator":
        return {"bearer": {"token": str(ev(a.get("api_token"), config, ap))}}
    if kind == "BasicHttpAuthenticator":
        return {"basic": {"username": str(ev(a.get("username"), config, ap)), "password": str(ev(a.get("password", ""), config, ap) or "")}}
    if kind == "ApiKeyAuthenticator":
        value = str(ev(a.get("api_token"), config, ap))
        opt = option(a.get("inject_into"), config, ap)
        if opt is None and a.get("header"):
            opt = ("header", ev(a.get("header"), config, ap))
        if not opt or opt[0] not in ("header", "request_parameter"):
            raise Unsupported(f"ApiKeyAuthenticator injects into {opt and opt[0]}, not a header or a query parameter")
        if opt[0] == "header":
            return {"header": {"name": opt[1], "value": value}}
        return {"query": {"name": opt[1], "value": value}}
    if kind == "OAuthAuthenticator":
        url = str(ev(a.get("token_refresh_endpoint"), config, ap) or "")
        if not url:
            raise Unsupported("OAuthAuthenticator with no token_refresh_endpoint")
        parts = urlsplit(url)
        return {"oauth": {
            "host": parts.hostname,
            "path": parts.path or "/",
            "token_name": str(ev(a.get("access_token_name") or "access_token", config, ap)),
            "expires_name": str(ev(a.get("expires_in_name") or "expires_in", config, ap)),
        }}
    if kind == "SessionTokenAuthenticator":
        login = a.get("login_requester") or {}
        lp = login.get("$parameters", ap)
        base = str(ev(login.get("url_base", ""), config, lp))
        path = str(ev(login.get("path", ""), config, lp) or "")
        url = base if not path else base.rstrip("/") + "/" + path.lstrip("/")
        parts = urlsplit(url)
        ra = a.get("request_authentication") or {}
        if ra.get("type") == "Bearer":
            inject = {"bearer": True}
        else:
            opt = option(ra.get("inject_into"), config, ap)
            if not opt or opt[0] not in ("header", "request_parameter"):
                raise Unsupported("SessionTokenAuthenticator sends its token in a way the generator does not know")
            inject = {"header" if opt[0] == "header" else "query": opt[1]}
        return {"session": {
            "host": parts.hostname,
            "path": parts.path or "/",
            "method": (login.get("http_method") or "POST").upper(),
            "token_path": [str(ev(p, config, ap)) for p in a.get("session_token_path") or []],
            "inject": inject,
        }}
    raise Unsupported(f"authenticator {kind} is not one the generator knows: the mock accepts any credential")


def cursor(inc, config, params):
    if not inc:
        return None
    if inc.get("type") != "DatetimeBasedCursor":
        raise Unsupported(f"incremental_sync {inc.get('type')} is not one the generator knows")
    ip = inc.get("$parameters", params)
    start = option(inc.get("start_time_option"), config, ip)
    end = option(inc.get("end_time_option"), config, ip)
    fmt = ev(inc.get("datetime_format"), config, ip)
    formats = inc.get("cursor_datetime_formats") or [fmt]
    return {
        "field": ev(inc.get("cursor_field"), config, ip),
        "format": fmt,
        "record_format": formats[0],
        "start_param": start[1] if start and start[0] == "request_parameter" else None,
        "end_param": end[1] if end and end[0] == "request_parameter" else None,
        "step": inc.get("step"),
    }


def stream(s, config, secrets):
    params = s.get("$parameters", {})
    name = s.get("name") or params.get("name")
    out = {"name": name, "problems": []}
    ret = s.get("retriever") or {}
    if ret.get("type") != "SimpleRetriever":
        out["problems"].append(f"retriever {ret.get('type')} is not a SimpleRetriever")
        return out
    req = ret.get("requester") or {}
    if req.get("type") != "HttpRequester":
        out["problems"].append(f"requester {req.get('type')} is not an HttpRequester")
        return out
    rp = req.get("$parameters", params)
    try:
        base = str(ev(req.get("url_base", ""), config, rp))
        path = str(ev(req.get("path", ""), config, rp) or "")
        url = base if not path else (path if re.match(r"https?://", path) else base.rstrip("/") + "/" + path.lstrip("/"))
        parts = urlsplit(url)
        out["host"] = parts.hostname
        out["path"] = parts.path or "/"
        out["method"] = (req.get("http_method") or "GET").upper()
        fixed = dict(parse_qsl(parts.query))
        dynamic = []
        for k, v in (req.get("request_parameters") or {}).items():
            key = str(ev(k, config, rp))
            if isinstance(v, str) and re.search(r"stream_|next_page_token|now_utc|today_utc|last_record|last_page", v):
                # Changes with the slice, the state or the clock: not a
                # route's fixed parameter.
                dynamic.append(key)
                continue
            val = ev(v, config, rp)
            if val not in (None, "") and "{" not in str(val):
                fixed[key] = str(val)
        out["query"] = fixed
        out["dynamic_query"] = dynamic
        out["secret_query"] = [k for k, v in fixed.items() if v in secrets]
        headers = {str(k): str(ev(v, config, rp)) for k, v in (req.get("request_headers") or {}).items()}
        out["secret_headers"] = {k: v for k, v in headers.items() if v in secrets}
        sel = ret.get("record_selector") or {}
        ext = sel.get("extractor") or {}
        if ext.get("type") != "DpathExtractor":
            raise Unsupported(f"record extractor {ext.get('type')} is custom code the generator cannot read")
        out["records_path"] = [str(ev(p, config, ext.get("$parameters", rp))) for p in ext.get("field_path", [])]
        try:
            out["auth"] = auth(req.get("authenticator"), config, rp, secrets)
        except Unsupported as e:
            # Not fatal: the mock then takes any credential.
            out["auth"] = None
            out["problems"].append(str(e))
        out["paginator"] = paginator(ret.get("paginator"), config, rp, out["records_path"])
        out["cursor"] = cursor(s.get("incremental_sync"), config, params)
        if out["cursor"] and not out["cursor"]["start_param"]:
            # The cursor sent inside a templated query parameter: its
            # literal text before the template is the filter's prefix.
            for k, v in (req.get("request_parameters") or {}).items():
                if isinstance(v, str) and re.search(r"stream_interval|stream_slice\.start_time|stream_slice\[.start_time.\]|stream_state", v):
                    out["cursor"]["query_param"] = str(ev(k, config, rp))
                    out["cursor"]["query_prefix"] = v.split("{{", 1)[0].split("{%", 1)[0]
                    break
        router = ret.get("partition_router")
        routers = router if isinstance(router, list) else ([router] if router else [])
        for r in routers:
            if r.get("type") != "SubstreamPartitionRouter":
                raise Unsupported(f"partition router {r.get('type')} is not one the generator knows")
            parents = r.get("parent_stream_configs") or []
            if len(parents) != 1:
                raise Unsupported(f"{len(parents)} parent streams: the generator knows one")
            p = parents[0]
            pp = p.get("$parameters", rp)
            popt = option(p.get("request_option"), config, pp)
            pstream = p.get("stream") or {}
            out["parent"] = {
                "stream": pstream.get("name") or (pstream.get("$parameters") or {}).get("name"),
                "parent_key": str(ev(p.get("parent_key"), config, pp)),
                "partition_field": str(ev(p.get("partition_field"), config, pp)),
                "param": popt[1] if popt and popt[0] == "request_parameter" else None,
            }
        loader = s.get("schema_loader") or {}
        if isinstance(loader, list):
            loader = loader[0] if loader else {}
        if loader.get("type") == "InlineSchemaLoader":
            out["schema"] = loader.get("schema")
        else:
            out["problems"].append(f"schema_loader {loader.get('type')}: the generator uses the discovered schema")
        added = []
        for t in s.get("transformations") or []:
            if t.get("type") == "AddFields":
                added += [".".join(str(x) for x in f.get("path", [])) for f in t.get("fields", [])]
        out["added_fields"] = added
        # Record fields the transformations read (`record["scheduler"]["email"]`):
        # the records must have them, declared or not.
        reads = []
        added_from = {}
        for t in s.get("transformations") or []:
            for f in t.get("fields", []) if isinstance(t.get("fields"), list) else []:
                value = f.get("value") if isinstance(f, dict) else None
                found = [
                    re.findall(r"['\"]([^'\"]+)['\"]", m.group(1))
                    for m in re.finditer(r"record((?:\[\s*['\"][^'\"]+['\"]\s*\])+)", str(value or ""))
                ]
                reads += found
                if isinstance(f, dict) and len(found) == 1:
                    added_from[".".join(str(x) for x in f.get("path", []))] = found[0]
        out["record_reads"] = reads
        # An added field copied from one record field (Tempo's `period_from`
        # from `record["period"]["from"]`): the generator fills the source.
        out["added_from"] = added_from
        pk = s.get("primary_key")
        out["primary_key"] = [pk] if isinstance(pk, str) and pk else (pk or [])
    except Unsupported as e:
        out["problems"].append(str(e))
    return out


def secrets_of(spec, config):
    found = []

    def walk(schema, value):
        if not isinstance(schema, dict):
            return
        if schema.get("airbyte_secret") and isinstance(value, (str, int)):
            found.append(str(value))
        if isinstance(value, dict):
            for k, sub in (schema.get("properties") or {}).items():
                walk(sub, value.get(k))
            for opt in schema.get("oneOf") or schema.get("anyOf") or []:
                walk(opt, value)

    walk(spec, config)
    return found


def discovered(manifest, config, components):
    """The streams' schemas as the cdk's own discover gives them (the
    source built as the connector's image builds it); the network is
    closed to it by the caller (a proxy that refuses)."""
    import contextlib
    import importlib.util
    import inspect
    import logging

    try:
        if components:
            # Custom code runs only when it is the pinned file (as launch.py).
            path, want = components
            with open(path, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
            if got != want:
                return {}, (
                    f"components {path} has sha256 {got}, not the pinned {want}: not run, "
                    "inline schemas are used; `cargo xtask provision --force` fetches it again"
                )
            spec = importlib.util.spec_from_file_location("components", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["components"] = module
            sys.modules["source_declarative_manifest.components"] = module
            spec.loader.exec_module(module)
        from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
            ConcurrentDeclarativeSource as Source,
        )

        kwargs = dict(catalog=None, config=config, state=[], source_config=manifest)
        if "config_path" in inspect.signature(Source.__init__).parameters:
            kwargs["config_path"] = None
        with contextlib.redirect_stdout(sys.stderr):
            catalog = Source(**kwargs).discover(logging.getLogger("plan"), config)
        return {s.name: s.json_schema for s in catalog.streams}, None
    except Exception as e:  # noqa: BLE001 - the inline schemas are used instead
        return {}, f"the cdk's discover failed ({e}): inline schemas are used"


def main():
    manifest_path, config_path = sys.argv[1], sys.argv[2]
    components = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else None
    with open(manifest_path, encoding="utf-8") as f:
        manifest = yaml.safe_load(f)
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    resolved = ManifestReferenceResolver().preprocess_manifest(manifest)
    resolved = ManifestComponentTransformer().propagate_types_and_parameters("", resolved, {})
    spec = ((resolved.get("spec") or {}).get("connection_specification")) or {}
    secrets = secrets_of(spec, config)
    streams = [stream(s, config, secrets) for s in resolved.get("streams", [])]
    problems = []
    schemas, failed = discovered(manifest, config, components)
    if failed:
        problems.append(failed)
    for s in streams:
        if s["name"] in schemas:
            s["schema"] = schemas[s["name"]]
            s["problems"] = [p for p in s["problems"] if not p.startswith("schema_loader ")]
    if resolved.get("dynamic_streams"):
        problems.append("dynamic_streams: streams made at discover time are not generated")
    check = resolved.get("check") or {}
    print(json.dumps({"streams": streams, "problems": problems, "check": check.get("stream_names") or []}))


if __name__ == "__main__":
    main()
