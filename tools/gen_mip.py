#!/usr/bin/env python3
"""Makes what mip installs: python/ota/mpy/*.mpy and python/ota/package.json.

Every python/ota/*.py becomes ota/<name>.mpy on the device, and
python/ota32.py becomes ota32.mpy beside the package. The .mpy files are
bytecode only, made by MicroPython's mpy-cross (.mpy version 6, which stock
firmware loads from v1.19 on), each with its installed name as the source
name in tracebacks. package.json lists them with paths relative to itself,
so `mip.install(".../python/ota/package.json")` and
`mpremote mip install github:OWNER/REPO/python/ota` fetch nothing outside
python/ota/. The version is the package's __version__.

    tools/gen_mip.py --mpy-cross PATH [--root DIR] [--out DIR]

--out writes both into DIR instead (tests/cli/test_twin_mip.sh compares
them with the committed ones).
"""
import argparse
import json
import os
import re
import subprocess
import sys


def sources(root):
    pkg = os.path.join(root, "python", "ota")
    out = [(os.path.join(pkg, f), "ota/" + f[:-3])
           for f in sorted(os.listdir(pkg)) if f.endswith(".py")]
    out.append((os.path.join(root, "python", "ota32.py"), "ota32"))
    return out


def version(root):
    text = open(os.path.join(root, "python", "ota", "__init__.py")).read()
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        sys.exit("gen_mip: no __version__ in python/ota/__init__.py")
    return m.group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpy-cross", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out")
    a = ap.parse_args()
    out = a.out or os.path.join(a.root, "python", "ota")
    mpy_dir = os.path.join(out, "mpy")
    os.makedirs(mpy_dir, exist_ok=True)
    want = set()
    urls = []
    for src, name in sources(a.root):
        base = os.path.basename(name) + ".mpy"
        want.add(base)
        dst = os.path.join(mpy_dir, base)
        subprocess.run([a.mpy_cross, "-s", name + ".py", "-o", dst, src], check=True)
        urls.append([name + ".mpy", "mpy/" + base])
    for f in os.listdir(mpy_dir):
        if f not in want:
            os.remove(os.path.join(mpy_dir, f))  # a source that is gone
    pkg = {"urls": urls, "deps": [], "version": version(a.root)}
    with open(os.path.join(out, "package.json"), "w") as f:
        f.write("{\n    \"urls\": [\n")
        f.write(",\n".join("        " + json.dumps(u) for u in urls))
        f.write("\n    ],\n    \"deps\": [],\n    \"version\": %s\n}\n" % json.dumps(pkg["version"]))
    size = sum(os.path.getsize(os.path.join(mpy_dir, f)) for f in want)
    print("gen_mip: %s: %d .mpy files, %d bytes" % (out, len(want), size))


if __name__ == "__main__":
    main()
