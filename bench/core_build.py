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

The signature path (issue 12) is built apart, with MicroPython's bundled
mbedTLS from --micropython (build_sig): stack of mpota_sig_check_area and
mpota_session_end with mbedTLS's frames and without, and the code it links.

usage: core_build.py --src REPO --out DIR --json FILE [--micropython TREE] [--no-sig]
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
    # delta patches (issue 13): the applier and the running image's digest
    "delta": ["mpota_delta_begin", "mpota_delta_push", "mpota_delta_finish",
              "mpota_image_digest_area"],
}
STACK_ENTRIES = ["mpota_session_write", "mpota_session_begin", "mpota_session_end",
                 "mpota_session_set_boot", "mpota_session_resume", "mpota_session_abort",
                 # delta (issue 13): the applier calls its sink (mpota_session_write)
                 # through a pointer, so a patched update's deepest stack is the two added
                 "mpota_delta_push", "mpota_image_digest_area"]


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
        if node in exclude or names.get(node, node) in exclude:
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


def stack_report(entry, graph, exclude=()):
    """deepest() from entry as a JSON-ready dict; graph is parse_callgraph's
    (frames, qualifiers, edges, names)."""
    frames, _, edges, names = graph
    if entry not in frames:
        return {"error": "no frame found"}
    total_b, chain, outside, cycles = deepest(entry, frames, edges, names, exclude)
    return {"bytes": total_b, "chain": [{"function": f, "frame": fr} for f, fr in chain],
            "outside_core": outside, "cycles": cycles}


def compile_all(cc, flags, sources, odir, prefix=""):
    """Compiles each source into odir (object named prefix + its base name);
    ({source base name: object}, warnings, errors)."""
    def compile_one(path):
        obj = os.path.join(odir, prefix + os.path.basename(path)[:-2] + ".o")
        r = run([cc] + flags + ["-c", path, "-o", obj], cwd=odir)
        return path, obj, r

    warnings, errors, objs = [], [], {}
    with concurrent.futures.ThreadPoolExecutor(min(os.cpu_count() or 2, 2)) as ex:
        for path, obj, r in ex.map(compile_one, sources):
            if r.returncode != 0:
                errors.append(r.stderr.strip())
            elif r.stderr.strip():
                warnings.append(r.stderr.strip())
            objs[os.path.basename(path)] = obj
    return objs, warnings, errors


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

    objs, warnings, errors = compile_all(cc, flags + includes, sources, odir)
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
    graph = parse_callgraph(ci, su)
    frames, quals, edges, names = graph
    stack = {entry: stack_report(entry, graph) for entry in STACK_ENTRIES}
    # Every write after the first MPOTA_SESSION_HEAD_LEN bytes: the pre-flight
    # (in the first write only) left out.
    if "mpota_session_write" in frames:
        stack["mpota_session_write_steady"] = stack_report(
            "mpota_session_write", graph, exclude={"preflight_and_flush_head"})
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


# --- the signature path with mbedTLS (issue 12) --------------------------------
# MicroPython's bundled mbedTLS (lib/mbedtls, 3.x), compiled in place from the
# tree (read-only; objects go to the output folder), with the configuration
# MicroPython's bare-metal ports build it with (extmod/mbedtls/
# mbedtls_config_common.h, MICROPY_MBEDTLS_CONFIG_BARE_METAL) plus RSA-PSS
# (MBEDTLS_PKCS1_V21, as the twin adds and ESP-IDF has by default), without
# the clock (nothing here needs it). The sources are what the signature path
# and the core's hashing link against.
MBEDTLS_SOURCES = ["bignum.c", "bignum_core.c", "rsa.c", "rsa_alt_helpers.c", "ecdsa.c", "ecp.c",
                   "ecp_curves.c", "md.c", "md5.c", "sha1.c", "sha256.c", "sha512.c",
                   "constant_time.c", "platform.c", "platform_util.c"]
SIG_CORE = ["sig_block.c", "sig_trust.c", "sig_verify_mbedtls.c"]
SIG_STACK_ENTRIES = ["mpota_sig_check_area", "mpota_session_end"]
SIG_ROOTS = ["mpota_sig_check_area", "mpota_sig_trust_add_running"]
SIG_CONFIG = """/* Generated by bench/core_build.py: MicroPython's bare-metal mbedTLS
 * configuration, with RSA-PSS and without the clock. */
#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)
#include "extmod/mbedtls/mbedtls_config_common.h"
#define MBEDTLS_PKCS1_V21
#undef MBEDTLS_HAVE_TIME
#undef MBEDTLS_HAVE_TIME_DATE
"""


def linked_by_object(ld, objs, roots, dst):
    """ld -r --gc-sections from roots; bytes kept per input object, from the
    map: {object base name: {"text", "data", "bss"}} (text: code, literals
    and read-only data), or {"error": ...}."""
    cmd = [ld, "-r", "--gc-sections", "-e", roots[0], "-Map", dst + ".map"]
    for r_ in roots:
        cmd += ["-u", r_]
    r = run(cmd + objs + ["-o", dst])
    if r.returncode != 0:
        return {"error": r.stderr.strip()}
    with open(dst + ".map") as f:
        text = f.read()
    text = text[text.find("Linker script and memory map"):]
    kept = {}
    for m in re.finditer(r"^ (\.[\w.$]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)$", text, re.M):
        sec, size, obj = m.group(1), int(m.group(2), 16), os.path.basename(m.group(3))
        kind = ("text" if sec.startswith((".text", ".literal", ".rodata")) else
                "data" if sec.startswith((".data", ".sdata")) else
                "bss" if sec.startswith((".bss", ".sbss")) else None)
        if kind and size:
            e = kept.setdefault(obj, {"text": 0, "data": 0, "bss": 0})
            e[kind] += size
    return kept


def build_sig(name, tc, src, out, tree):
    """The core with the signature backend and MicroPython's mbedTLS: stack
    of the signature entry points with and without mbedTLS's frames, and the
    code the signature path links."""
    cc = tc["prefix"] + "gcc"
    if not shutil.which(cc):
        return {"skipped": f"{cc} not found (scripts/deps.sh installs it)"}
    lib = os.path.join(tree or "", "lib/mbedtls")
    common = os.path.join(tree or "", "extmod/mbedtls/mbedtls_config_common.h")
    if not tree or not os.path.isfile(os.path.join(lib, "library/bignum.c")) or \
            not os.path.isfile(common):
        return {"skipped": "no MicroPython tree with lib/mbedtls (MICROPY_DIR or "
                           "../shared/micropython)"}
    odir = os.path.join(out, name)
    shutil.rmtree(odir, ignore_errors=True)
    os.makedirs(os.path.join(odir, "py"))
    with open(os.path.join(odir, "py", "mpconfig.h"), "w") as f:
        f.write("/* Stands in for MicroPython's py/mpconfig.h: the mbedTLS options\n"
                " * asked of it (MICROPY_PY_SSL_DTLS) are off. */\n")
    with open(os.path.join(odir, "mpota_sig_mbedtls_config.h"), "w") as f:
        f.write(SIG_CONFIG)
    includes = []
    if tc["libc_dir"]:
        includes += ["-isystem", os.path.join(src, tc["libc_dir"])]
    includes += ["-I", odir, "-I", tree, "-I", os.path.join(lib, "include"),
                 '-DMBEDTLS_CONFIG_FILE="mpota_sig_mbedtls_config.h"']
    flags = tc["flags"] + COMMON_FLAGS + includes
    core_src = sorted(glob.glob(os.path.join(src, "src/core/*.c")))
    core, warnings, errors = compile_all(
        cc, flags + ["-I", os.path.join(src, "include"), "-I", os.path.join(src, "src/core")],
        core_src, odir, prefix="core_")
    mbed, mwarn, merr = compile_all(cc, flags, [os.path.join(lib, "library", f)
                                                for f in MBEDTLS_SOURCES], odir)
    if errors or merr:
        return {"error": "\n".join(errors + merr)}

    size_tool = tc["prefix"] + "size"
    sig_objects = {}
    for f in SIG_CORE:
        text, data, bss = berkeley_size(size_tool, core[f])
        sig_objects[f] = {"text": text, "data": data, "bss": bss}
    kept = linked_by_object(tc["prefix"] + "ld", list(core.values()) + list(mbed.values()),
                            SIG_ROOTS, os.path.join(odir, "sig_path.o"))
    if "error" in kept:
        return {"error": kept["error"]}
    sig_objs = {os.path.basename(core[f]) for f in SIG_CORE}
    mbed_objs = {os.path.basename(o) for o in mbed.values()}
    linked = {"roots": SIG_ROOTS,
              "mpota_sig": {k: v for k, v in kept.items() if k in sig_objs},
              "mpota_other": {k: v for k, v in kept.items()
                              if k not in sig_objs and k not in mbed_objs},
              "mbedtls": {k: v for k, v in kept.items() if k in mbed_objs}}
    for part in ("mpota_sig", "mpota_other", "mbedtls"):
        linked[part + "_text"] = sum(v["text"] for v in linked[part].values())

    graph = parse_callgraph(sorted(glob.glob(os.path.join(odir, "*.ci"))), [])
    frames, quals, edges, names = graph
    # mbedTLS's own functions: those with a frame in an mbedTLS unit.
    in_mbed = set()
    for o in mbed.values():
        with open(o[:-2] + ".ci") as f:
            for m in re.finditer(r'node: \{ title: "([^"]*)" label: "[^"]*\\n[^"]*\\n\d+ bytes',
                                 f.read()):
                in_mbed.add(m.group(1))
    stack = {}
    for entry in SIG_STACK_ENTRIES:
        stack[entry] = stack_report(entry, graph)
        without = stack_report(entry, graph, exclude=in_mbed)
        if "bytes" in without:
            stack[entry]["bytes_without_mbedtls"] = without["bytes"]
            stack[entry]["chain_without_mbedtls"] = without["chain"]
    # Below the backend, per scheme: verify_rsa / verify_ecdsa (static, so
    # found by name) and the P-384 image hash.
    per_scheme = {}
    for fn in ("verify_rsa", "verify_ecdsa", "mpota_sig_sha384_area"):
        title = next((t for t in frames if names.get(t) == fn), None)
        if title:
            per_scheme[fn] = stack_report(title, graph)
    # Frames gcc could not bound (alloca, variable-length arrays) on the path.
    dynamic = sorted(names.get(t, t) for t, q in quals.items() if q != "static")
    return {
        "compiler": run([cc, "--version"]).stdout.splitlines()[0],
        "command": " ".join([cc] + tc["flags"] + COMMON_FLAGS + ["-c"]),
        "mbedtls": _mbedtls_version(lib),
        "mbedtls_config": "MicroPython extmod/mbedtls/mbedtls_config_common.h, "
                          "MICROPY_MBEDTLS_CONFIG_BARE_METAL=1, +MBEDTLS_PKCS1_V21, "
                          "-MBEDTLS_HAVE_TIME(_DATE)",
        "mbedtls_sources": MBEDTLS_SOURCES,
        "sig_objects": sig_objects,
        "sig_objects_text": sum(v["text"] for v in sig_objects.values()),
        "linked": linked,
        "stack": stack,
        "stack_below_backend": per_scheme,
        "dynamic_frames": dynamic,
        "warnings": warnings + mwarn,
    }


def _mbedtls_version(lib):
    try:
        with open(os.path.join(lib, "include/mbedtls/build_info.h")) as f:
            m = re.search(r'MBEDTLS_VERSION_STRING\s+"([^"]+)"', f.read())
            return m.group(1) if m else None
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--micropython", default=None,
                    help="MicroPython tree whose lib/mbedtls the signature path is built with")
    ap.add_argument("--no-sig", action="store_true", help="leave the signature path out")
    a = ap.parse_args()
    src = os.path.abspath(a.src)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    res = {name: build(name, tc, src, out) for name, tc in TOOLCHAINS.items()}
    # A device build without the diag sentences (MPOTA_DIAG_TEXT=0).
    for name, tc in TOOLCHAINS.items():
        lean = dict(tc, flags=tc["flags"] + ["-DMPOTA_DIAG_TEXT=0"])
        res[name + "_no_diag_text"] = build(name + "_no_diag_text", lean, src, out)
    for name, tc in TOOLCHAINS.items():
        res[name + "_sig"] = ({"skipped": "left out (--no-sig)"} if a.no_sig else
                              build_sig(name + "_sig", tc, src, out, a.micropython and
                                        os.path.abspath(a.micropython)))
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    bad = [n for n, r in res.items() if "error" in r]
    for n in bad:
        print(f"core_build: {n}: {res[n]['error']}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
