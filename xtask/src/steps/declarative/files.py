"""Upstream files of manifest-only connectors, for `cargo xtask` (written into
its cache by xtask/src/steps/declarative/mod.rs, run with the Python of a
pinned airbyte-cdk venv, whose PyYAML reads YAML as Airbyte itself does).

    files.py yaml2json FILE                         the YAML file as JSON on stdout
    files.py sha256 FILE                            its sha256 on stdout
    files.py copy SRC OUT --sha256 H                copy SRC to OUT when its sha256 is H
    files.py fetch URL OUT [--sha256 H] [--zip-member NAME] [--timeout S]
                                                    download URL (or one member of the
                                                    zip it serves) to OUT, checking H

OUT is written whole or not at all (a temporary file renamed). Exit codes:
1 an error, 2 the source cannot be reached, 3 the bytes have another sha256.
HTTPS trusts $SSL_CERT_FILE when set (Python's default context).
"""

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile


def fail(code, message):
    print(message, file=sys.stderr)
    sys.exit(code)


def write_whole(out, data):
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, out)


def check(data, want, what):
    got = hashlib.sha256(data).hexdigest()
    if want and got != want:
        fail(3, f"{what} has sha256 {got}, not the pinned {want}")
    return got


def main():
    ap = argparse.ArgumentParser(prog="files.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("yaml2json")
    p.add_argument("file")
    p = sub.add_parser("sha256")
    p.add_argument("file")
    p = sub.add_parser("copy")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--sha256", required=True)
    p = sub.add_parser("fetch")
    p.add_argument("url")
    p.add_argument("out")
    p.add_argument("--sha256")
    p.add_argument("--zip-member")
    p.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()

    if a.cmd == "yaml2json":
        import yaml

        with open(a.file, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        json.dump(doc, sys.stdout, default=str)
    elif a.cmd == "sha256":
        with open(a.file, "rb") as f:
            print(hashlib.sha256(f.read()).hexdigest())
    elif a.cmd == "copy":
        with open(a.src, "rb") as f:
            data = f.read()
        check(data, a.sha256, a.src)
        write_whole(a.out, data)
    elif a.cmd == "fetch":
        try:
            req = urllib.request.Request(a.url, headers={"User-Agent": "airbyte-to-flow"})
            with urllib.request.urlopen(req, timeout=a.timeout) as r:
                data = r.read()
        except urllib.error.HTTPError as e:
            fail(2, f"{a.url} answered HTTP {e.code} {e.reason}")
        except (urllib.error.URLError, OSError) as e:
            fail(2, f"cannot reach {a.url}: {getattr(e, 'reason', e)}")
        what = a.url
        if a.zip_member:
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    data = z.read(a.zip_member)
            except (zipfile.BadZipFile, KeyError) as e:
                fail(1, f"{a.url} is not a zip holding {a.zip_member!r}: {e}")
            what = f"{a.zip_member} of {a.url}"
        check(data, a.sha256, what)
        write_whole(a.out, data)


if __name__ == "__main__":
    main()
