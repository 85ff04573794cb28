#!/usr/bin/env python3
"""Cross-builds the portable core (src/core/*.c) and measures it.

For each embedded toolchain (xtensa-lx106-elf-gcc, arm-none-eabi-gcc):
  * code size per object with `size` (Berkeley: text, data, bss) and the split
    of text into code (.text/.literal) and read-only data (.rodata) from
    `size -A`; digest_mbedtls.c (the mbedTLS glue) is left out of the totals:
    on a device hashing comes from the platform (ESP-IDF's mbedTLS port over
    the hardware SHA), and the glue is a few calls;
  * static RAM (data + bss) per object: must be 0;
  * what an application actually links: `ld -r --gc-sections` from a set of
    entry points (the update API), with -ffunction-sections/-fdata-sections;
  * struct sizes as the target lays them out (bench/sizeof_probe.c, nm -S);
  * stack: gcc -fstack-usage gives each function's frame, -fcallgraph-info=su
    the call edges of each translation unit; the deepest path from an entry
    point is the sum of the frames along it. Calls that leave the core
    (mbedTLS hashing, libc memcpy/memset, the flash callbacks through
    pointers) count 0 and are listed.

The core includes <mbedtls/sha256.h> through include/mpota/hash.h. The cross
compilers get the mbedTLS headers through a directory holding only a link to
the host's mbedtls/ folder, never the host's libc headers. The arm toolchain
brings newlib's headers; the xtensa one has none, so bench/xtensa-libc/ gives
the few declarations needed (string.h, stdint.h).

usage: core_build.py --src REPO --out DIR --json FILE
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys

TOOLCHAINS = {
    "xtensa": {
        "prefix": "xtensa-lx106-elf-",
        "flags": ["-Os", "-ffunction-sections", "-fdata-sections"],
        "libc_dir": "bench/xtensa-libc",
    },
    "arm": {
        "prefix": "arm-none-eabi-",
        "flags": ["-Os", "-mthumb", "-mcpu=cortex-m4", "-ffunction-sections", "-fdata-sections"],
        "libc_dir": None,
    },
}
COMMON_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-fstack-usage", "-fcallgraph-info=su"]
GLUE = "digest_mbedtls.c"  # hashing: from the platform on a device

# Entry points of the subsets that an application links (gc-sections roots).
UPDATE_API = [
    "mpota_session_begin", "mpota_session_resume", "mpota_session_write",
    "mpota_session_write_at", "mpota_session_offset", "mpota_session_restart",
    "mpota_session_end", "mpota_session_set_boot", "mpota_session_abort",
    "mpota_session_sha256", "mpota_session_state", "mpota_session_diag",
    "mpota_session_target",
    "mpota_boot_mark_valid", "mpota_boot_mark_invalid", "mpota_boot_rollback_possible",
    "mpota_boot_last_invalid", "mpota_boot_get_boot_partition", "mpota_boot_get_next_update",
    "mpota_boot_get_state", "mpota_part_table_parse", "mpota_part_find_label",
]
SUBSETS = {
    # begin/write/end/set_boot/abort only
    "session_only": ["mpota_session_begin", "mpota_session_write", "mpota_session_end",
                     "mpota_session_set_boot", "mpota_session_abort"],
    # what a MicroPython module for updates needs, without the message text
    "update_api": UPDATE_API,
    # ... and with the diagnostics catalogue (mpota_diag_format's sentences)
    "update_api_with_messages": UPDATE_API + ["mpota_diag_format", "mpota_err_name"],
}
STACK_ENTRIES = ["mpota_session_write", "mpota_session_begin", "mpota_session_end",
                 "mpota_session_set_boot", "mpota_session_resume", "mpota_session_abort"]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def find_mbedtls_dir():
    """The folder holding mbedtls/sha256.h for the host compiler."""
    r = run(["cc", "-E", "-H", "-x", "c", "-", "-o", "/dev/null"],
            input="#include <mbedtls/sha256.h>\n")
    for line in r.stderr.splitlines():
        m = re.match(r"^\.+ (.*)/mbedtls/sha256\.h$", line.strip())
        if m:
            return os.path.join(m.group(1), "mbedtls")
    if os.path.isdir("/usr/include/mbedtls"):
        return "/usr/include/mbedtls"
    return None


def berkeley_size(tool, path):
    r = run([tool, path])
    line = r.stdout.strip().splitlines()[-1].split()
    return int(line[0]), int(line[1]), int(line[2])


def section_split(tool, path):
    """code / rodata / data / bss from `size -A` section names."""
    out = {"code": 0, "rodata": 0, "data": 0, "bss": 0}
    r = run([tool, "-A", path])
    for line in r.stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        name, size = parts[0], int(parts[1])
        if name.startswith((".text", ".literal")):
            out["code"] += size
        elif name.startswith(".rodata"):
            out["rodata"] += size
        elif name.startswith((".data", ".sdata")):
            out["data"] += size
        elif name.startswith((".bss", ".sbss", "COMMON")):
            out["bss"] += size
    return out


def parse_callgraph(ci_files, su_files):
    """Frames by function title and call edges, over all translation units."""
    frames, qualifiers, edges, names = {}, {}, {}, {}
    node_re = re.compile(r'node: \{ title: "([^"]*)" label: "([^"]*)"')
    edge_re = re.compile(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"')
    for ci in ci_files:
        with open(ci) as f:
            for line in f:
                m = node_re.match(line)
                if m:
                    title, label = m.group(1), m.group(2)
                    parts = label.split("\\n")
                    names[title] = parts[0]
                    if len(parts) >= 3:
                        fm = re.match(r"(\d+) bytes \(([^)]*)\)", parts[2])
                        if fm:
                            frames[title] = int(fm.group(1))
                            qualifiers[title] = fm.group(2)
                    continue
                m = edge_re.match(line)
                if m:
                    edges.setdefault(m.group(1), set()).add(m.group(2))
    return frames, qualifiers, edges, names


def deepest(entry, frames, edges, names, exclude=()):
    """(bytes, chain, outside) for the deepest call path from entry, not
    entering functions named in exclude; cycles are cut and reported."""
    memo, outside, cycles = {}, set(), []

    def visit(node, stack):
        if node in memo:
            return memo[node]
        if names.get(node, node) in exclude:
            return 0, []
        if node in stack:
            cycles.append(" -> ".join(names.get(n, n) for n in stack + [node]))
            return 0, []
        own = frames.get(node)
        if own is None:
            outside.add(names.get(node, node))
            own = 0
        best, best_chain = 0, []
        for callee in sorted(edges.get(node, ())):
            b, chain = visit(callee, stack + [node])
            if b > best:
                best, best_chain = b, chain
        res = (own + best, [(names.get(node, node), frames.get(node))] + best_chain)
        memo[node] = res
        return res

    total, chain = visit(entry, [])
    return total, chain, sorted(outside), cycles


def build(name, tc, src, out):
    cc = tc["prefix"] + "gcc"
    if not shutil.which(cc):
        return {"skipped": f"{cc} not found (scripts/deps.sh installs it)"}
    mbed = find_mbedtls_dir()
    if not mbed:
        return {"skipped": "mbedTLS headers not found (libmbedtls-dev)"}
    odir = os.path.join(out, name)
    shutil.rmtree(odir, ignore_errors=True)
    inc = os.path.join(odir, "inc")
    os.makedirs(inc)
    os.symlink(mbed, os.path.join(inc, "mbedtls"))
    includes = ["-isystem", inc]
    if tc["libc_dir"]:
        includes += ["-isystem", os.path.join(src, tc["libc_dir"])]
    includes += ["-I", os.path.join(src, "include"), "-I", os.path.join(src, "src/core")]
    flags = tc["flags"] + COMMON_FLAGS
    # The signature backend (sig_verify_mbedtls.c) needs mbedTLS's RSA and
    # ECC headers, which the host's mbedTLS only gives with its threading
    # and stdio: it is left out here (issue 12 measures it on its own).
    sources = sorted(p for p in glob.glob(os.path.join(src, "src/core/*.c"))
                     if os.path.basename(p) == GLUE or not p.endswith("_mbedtls.c"))

    def compile_one(path):
        obj = os.path.join(odir, os.path.basename(path)[:-2] + ".o")
        r = run([cc] + flags + includes + ["-c", path, "-o", obj], cwd=odir)
        return path, obj, r

    warnings, errors, objs = [], [], {}
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        for path, obj, r in ex.map(compile_one, sources):
            if r.returncode != 0:
                errors.append(r.stderr.strip())
            elif r.stderr.strip():
                warnings.append(r.stderr.strip())
            objs[os.path.basename(path)] = obj
    if errors:
        return {"error": "\n".join(errors)}

    size_tool = tc["prefix"] + "size"
    objects, total = {}, {"text": 0, "data": 0, "bss": 0, "code": 0, "rodata": 0}
    static_nonzero = []
    for src_name, obj in sorted(objs.items()):
        text, data, bss = berkeley_size(size_tool, obj)
        split = section_split(size_tool, obj)
        entry = {"text": text, "data": data, "bss": bss,
                 "code": split["code"], "rodata": split["rodata"]}
        objects[src_name] = entry
        if data + bss:
            static_nonzero.append(f"{src_name}: data {data}, bss {bss}")
        if src_name != GLUE:
            for k in total:
                total[k] += entry[k]

    # What an application links: gc-sections from the entry points.
    ld = tc["prefix"] + "ld"
    core_objs = [o for s, o in sorted(objs.items()) if s != GLUE]
    subsets = {}
    for sub, roots in SUBSETS.items():
        dst = os.path.join(odir, f"subset_{sub}.o")
        cmd = [ld, "-r", "--gc-sections", "-e", roots[0]]
        for r_ in roots:
            cmd += ["-u", r_]
        r = run(cmd + core_objs + ["-o", dst])
        if r.returncode != 0:
            subsets[sub] = {"error": r.stderr.strip()}
            continue
        text, data, bss = berkeley_size(size_tool, dst)
        split = section_split(size_tool, dst)
        subsets[sub] = {"text": text, "data": data, "bss": bss, "code": split["code"],
                        "rodata": split["rodata"], "roots": roots}

    # Struct sizes as this target lays them out.
    probe = os.path.join(odir, "sizeof_probe.o")
    r = run([cc] + tc["flags"] + ["-std=c11"] + includes +
            ["-c", os.path.join(src, "bench/sizeof_probe.c"), "-o", probe])
    sizes = {}
    if r.returncode == 0:
        nm = run([tc["prefix"] + "nm", "-S", probe])
        for line in nm.stdout.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3].startswith("mpota_probe_"):
                sizes[parts[3][len("mpota_probe_"):]] = int(parts[1], 16)
    else:
        sizes = {"error": r.stderr.strip()}

    # Stack.
    ci = sorted(glob.glob(os.path.join(odir, "*.ci")))
    su = sorted(glob.glob(os.path.join(odir, "*.su")))
    frames, quals, edges, names = parse_callgraph(ci, su)
    stack = {}
    for entry in STACK_ENTRIES:
        if entry not in frames:
            stack[entry] = {"error": "no frame found"}
            continue
        total_b, chain, outside, cycles = deepest(entry, frames, edges, names)
        stack[entry] = {"bytes": total_b,
                        "chain": [{"function": f, "frame": fr} for f, fr in chain],
                        "outside_core": outside, "cycles": cycles}
    # Every write after the first MPOTA_SESSION_HEAD_LEN bytes: the pre-flight
    # (in the first write only) left out.
    if "mpota_session_write" in frames:
        total_b, chain, outside, cycles = deepest("mpota_session_write", frames, edges, names,
                                                  exclude={"preflight_and_flush_head"})
        stack["mpota_session_write_steady"] = {
            "bytes": total_b, "chain": [{"function": f, "frame": fr} for f, fr in chain],
            "outside_core": outside, "cycles": cycles}
    dynamic = sorted(names.get(t, t) for t, q in quals.items() if q != "static")

    version = run([cc, "--version"]).stdout.splitlines()[0]
    return {
        "compiler": version,
        "command": " ".join([cc] + flags + ["-c"]),
        "include_note": ("-isystem: mbedtls/ (link to %s)%s" %
                         (mbed, "; bench/xtensa-libc (string.h, stdint.h)" if tc["libc_dir"]
                          else "; the toolchain's newlib headers")),
        "objects": objects,
        "total": total,
        "total_excludes": GLUE,
        "static_nonzero": static_nonzero,
        "subsets": subsets,
        "sizeof": sizes,
        "stack": stack,
        "dynamic_frames": dynamic,
        "warnings": warnings,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    src = os.path.abspath(a.src)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    res = {name: build(name, tc, src, out) for name, tc in TOOLCHAINS.items()}
    # A device build without the diag sentences (MPOTA_DIAG_TEXT=0).
    for name, tc in TOOLCHAINS.items():
        lean = dict(tc, flags=tc["flags"] + ["-DMPOTA_DIAG_TEXT=0"])
        res[name + "_no_diag_text"] = build(name + "_no_diag_text", lean, src, out)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    bad = [n for n, r in res.items() if "error" in r]
    for n in bad:
        print(f"core_build: {n}: {res[n]['error']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
