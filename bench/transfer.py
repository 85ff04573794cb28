#!/usr/bin/env python3
"""Smaller transfers (issue 13): for release pairs, the bytes a full, a gzip
and a delta update download, and bench_transfer's modeled end-to-end time
over three links.

    transfer.py --bench BENCH_TRANSFER --mpota MPOTA --out RAW/transfer.json
                [--releases DIR] [--vectors tests/vectors/detools]

Pairs: the committed generated pair (tests/vectors/detools, with detools'
heatshrink patch), and with --releases (or MPOTA_RELEASES) a directory of
real consecutive builds, <project>/<NN>-<name>.bin, the layout the
reference set outside the repository uses; its sizes.tsv (detools and
bsdiff patch sizes, made by hand with those tools) is read when present.
Patches are made with `mpota delta make` when the CLI has it, else the
pair's detools heatshrink patch is used (patches/<project>--NN-MM.heatshrink.patch).
"""
import argparse
import glob
import gzip
import json
import os
import subprocess
import sys
import tempfile


def gzip9(path, out):
    with open(path, "rb") as f:
        data = f.read()
    with open(out, "wb") as f:
        f.write(gzip.compress(data, 9, mtime=0))
    return os.path.getsize(out)


def has_delta_make(mpota):
    r = subprocess.run([mpota, "delta", "--help"], capture_output=True, text=True)
    return r.returncode == 0 and "make" in r.stdout


def make_patch(mpota, old, new, out, compression):
    r = subprocess.run([mpota, "delta", "make", old, new, "-o", out, "--compression", compression],
                       capture_output=True, text=True)
    return r.returncode == 0


def pairs(releases, vectors):
    out = [("generated", os.path.join(vectors, "from.bin"), os.path.join(vectors, "to.bin"),
            os.path.join(vectors, "to.heatshrink.patch"))]
    if not releases:
        return out
    for proj in sorted(os.listdir(releases)):
        bins = sorted(glob.glob(os.path.join(releases, proj, "[0-9][0-9]-*.bin")))
        for a, b in zip(bins, bins[1:]):
            na, nb = os.path.basename(a)[:2], os.path.basename(b)[:2]
            hs = os.path.join(releases, "patches", f"{proj}--{na}-{nb}.heatshrink.patch")
            out.append((f"{proj} {na}->{nb}", a, b, hs))
    return out


def reference_sizes(releases):
    # sizes.tsv: project from to new_size gzip9 bsdiff detools_none ... (made by hand)
    path = os.path.join(releases or "", "sizes.tsv")
    if not releases or not os.path.exists(path):
        return {}
    rows = [l.rstrip("\n").split("\t") for l in open(path)]
    head, out = rows[0], {}
    for r in rows[1:]:
        d = dict(zip(head, r))
        out[f"{d['project']} {d['from'][:2]}->{d['to'][:2]}"] = {
            k: int(v) for k, v in d.items() if k not in ("project", "from", "to")}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--mpota", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--releases", default=os.environ.get("MPOTA_RELEASES"))
    ap.add_argument("--vectors", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                      "vectors", "detools"))
    a = ap.parse_args()
    own = has_delta_make(a.mpota)
    ref = reference_sizes(a.releases)
    res = {"patch_maker": "mpota delta make" if own else "detools (committed / reference set)",
           "releases": bool(a.releases), "pairs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, old, new, detools_hs in pairs(a.releases, a.vectors):
            gz = os.path.join(tmp, "new.bin.gz")
            row = {"pair": name, "new_bytes": os.path.getsize(new), "gzip9_bytes": gzip9(new, gz)}
            patch = detools_hs
            if own:
                for c in ("heatshrink", "crle", "none"):
                    p = os.path.join(tmp, f"new.{c}.patch")
                    if make_patch(a.mpota, old, new, p, c):
                        row[f"mpota_{c}_bytes"] = os.path.getsize(p)
                patch = os.path.join(tmp, "new.heatshrink.patch")
            if not os.path.exists(patch):
                print(f"transfer: no patch for {name}", file=sys.stderr)
                continue
            row["reference"] = ref.get(name)
            r = subprocess.run([a.bench, old, new, gz, patch, "--json"], capture_output=True,
                               text=True)
            if r.returncode != 0:
                print(f"transfer: bench_transfer failed for {name}: {r.stderr}", file=sys.stderr)
                return 1
            row["modeled"] = json.loads(r.stdout)
            res["pairs"].append(row)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
