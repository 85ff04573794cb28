#!/usr/bin/env python3
"""Turns the raw outputs of bench/run.sh into bench/results.json and BENCH.md.

Exit status 1 if something broke: a driver failed (listed in failures.txt),
the core has static RAM, or a required number is missing without a reason.
A missed target is reported, never a failure.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys

HEADLINE_SIZE = 1600000
HEADLINE_STATE = "used"
STRATEGIES = ["per_sector", "erase_all", "mpota", "mpota_unknown_len", "floor"]
STRATEGY_TEXT = {
    "per_sector": "erase 4 KiB, write it, next block (MicroPython `Partition.writeblocks`, "
                  "glenn20's `ota`)",
    "erase_all": "erase the whole slot first, then write (ESP-IDF `esp_ota_begin(OTA_SIZE_UNKNOWN)`)",
    "mpota": "the real session, length declared (manifest / Content-Length)",
    "mpota_unknown_len": "the real session, length not declared",
    "floor": "erase exactly the image's range, largest aligned erases, write",
}
REQUIRED = ["modeled_device_s", "xtensa_core_text", "xtensa_core_static",
            "host_pipeline_vs_sha256", "session_state_bytes", "write_path_stack_bytes"]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def lines(path):
    try:
        with open(path) as f:
            return [l.strip() for l in f if l.strip()]
    except OSError:
        return []


def cmd_first_line(cmd):
    if not shutil.which(cmd[0]):
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    out = (r.stdout or r.stderr).strip().splitlines()
    return out[0] if out else None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() in ("model name", "Hardware", "cpu model", "Model"):
                    return val.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mbedtls_version():
    for d in ("/usr/include", "/usr/local/include"):
        for name in ("mbedtls/build_info.h", "mbedtls/version.h"):
            try:
                with open(os.path.join(d, name)) as f:
                    m = re.search(r'MBEDTLS_VERSION_STRING_FULL\s+"([^"]+)"', f.read())
                    if m:
                        return m.group(1)
            except OSError:
                continue
    return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def machine_info(src, core):
    git = None
    if shutil.which("git"):
        r = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            dirty = subprocess.run(["git", "-C", src, "status", "--porcelain"],
                                   capture_output=True, text=True).stdout.strip()
            git = r.stdout.strip() + (" + uncommitted changes" if dirty else "")
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "uname": cmd_first_line(["uname", "-srm"]),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "gcc": cmd_first_line(["gcc", "--version"]),
        "clang": cmd_first_line(["clang", "--version"]),
        "xtensa_gcc": (core or {}).get("xtensa", {}).get("compiler")
                      or cmd_first_line(["xtensa-lx106-elf-gcc", "--version"]),
        "arm_gcc": (core or {}).get("arm", {}).get("compiler")
                   or cmd_first_line(["arm-none-eabi-gcc", "--version"]),
        "mbedtls": mbedtls_version(),
        "valgrind": cmd_first_line(["valgrind", "--version"]),
        "cmake": cmd_first_line(["cmake", "--version"]),
        "loadavg": loadavg(),
        "git": git,
    }


def callgrind_totals(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"^totals:\s+(\d+)", text, re.M) or re.search(r"^summary:\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def callgrind_functions(path, top=8):
    """Self cost per function from callgrind_annotate: [(Ir, function)]."""
    if not shutil.which("callgrind_annotate") or not os.path.exists(path):
        return []
    r = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                       capture_output=True, text=True)
    out = []
    for line in r.stdout.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\S.*?)(\s+\[.*\])?$", line)
        if m and "PROGRAM TOTALS" not in line:
            fn = m.group(2).split(":", 1)[-1]
            out.append((int(m.group(1).replace(",", "")), fn))
    return out[:top]


def fmt_int(v):
    return "–" if v is None else f"{v:,}"


def fmt_s(v, nd=3):
    return "–" if v is None else f"{v:.{nd}f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--smoke", type=int, default=0)
    ap.add_argument("--wall", type=float, default=None)
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--micropython", default=None,
                    help="MicroPython tree (for the esp32 port's task stack size)")
    a = ap.parse_args()
    raw = a.raw
    failures = lines(os.path.join(raw, "failures.txt"))
    skipped = lines(os.path.join(raw, "skipped.txt"))

    modeled = load(os.path.join(raw, "modeled.json"))
    pipeline = load(os.path.join(raw, "pipeline.json"))
    host_sizeof = load(os.path.join(raw, "sizeof_host.json"))
    core = load(os.path.join(raw, "core.json"))
    res = {"smoke": bool(a.smoke), "machine": machine_info(a.src, core)}

    # --- modeled device time ---------------------------------------------------
    runs = (modeled or {}).get("runs", [])
    by = {}
    for r in runs:
        by.setdefault(r["image_bytes"], {}).setdefault(r["slot_state"], {})[r["strategy"]] = r
    head = by.get(HEADLINE_SIZE, {}).get(HEADLINE_STATE, {})
    if all(s in head for s in ("per_sector", "erase_all", "mpota", "floor")):
        res["modeled_device_s"] = {s: round(head[s]["counts"]["total_s"], 4)
                                   for s in ("per_sector", "erase_all", "mpota", "floor")}
        res["modeled_device_s"]["mpota_unknown_len"] = round(
            head["mpota_unknown_len"]["counts"]["total_s"], 4)
    else:
        res["modeled_device_s"] = None
    res["modeled_device_s_all"] = {
        str(size): {state: {s: round(r["counts"]["total_s"], 4) for s, r in st.items()}
                    for state, st in states.items()}
        for size, states in sorted(by.items())}
    res["modeled_ratios"] = {
        str(size): {state: {
            "mpota_vs_floor": ratio(st.get("mpota", {}).get("counts", {}).get("total_s"),
                                    st.get("floor", {}).get("counts", {}).get("total_s")),
            "per_sector_vs_mpota": ratio(st.get("per_sector", {}).get("counts", {}).get("total_s"),
                                         st.get("mpota", {}).get("counts", {}).get("total_s")),
            "erase_all_vs_mpota": ratio(st.get("erase_all", {}).get("counts", {}).get("total_s"),
                                        st.get("mpota", {}).get("counts", {}).get("total_s")),
        } for state, st in states.items()} for size, states in sorted(by.items())}
    if modeled:
        res["modeled_setup"] = {k: modeled[k] for k in ("flash_size", "chunk", "slot", "model")}
    res["modeled_runs"] = runs

    # --- host pipeline -----------------------------------------------------------
    modes = (pipeline or {}).get("modes", {})
    sha = modes.get("sha256", {})
    pipe = modes.get("pipeline", {})
    nover = modes.get("pipeline_noverify", {})
    res["host_sha256_mb_s"] = sha.get("mb_s_best")
    res["host_pipeline_mb_s"] = pipe.get("mb_s_best")
    res["host_pipeline_noverify_mb_s"] = nover.get("mb_s_best")
    res["host_pipeline_vs_sha256"] = (round(ratio(sha.get("best_s"), pipe.get("best_s")), 4)
                                      if sha and pipe else None)
    res["host_pipeline_noverify_vs_sha256"] = (
        round(ratio(sha.get("best_s"), nover.get("best_s")), 4) if sha and nover else None)
    res["host_pipeline_vs_sha256_median"] = (
        round(ratio(sha.get("median_s"), pipe.get("median_s")), 4) if sha and pipe else None)
    res["host_pipeline_runs"] = pipeline

    cg_size = lines(os.path.join(raw, "callgrind.size"))
    cg_size = int(cg_size[0]) if cg_size else None
    ipb, cg_funcs = {}, {}
    for m in ("sha256", "pipeline", "pipeline_noverify"):
        path = os.path.join(raw, f"callgrind.{m}.out")
        tot = callgrind_totals(path)
        if tot == 0:
            failures.append(f"callgrind collected nothing for {m} (--toggle-collect matched "
                            f"no function)")
        elif tot is not None and cg_size:
            ipb[m] = round(tot / cg_size, 2)
            cg_funcs[m] = callgrind_functions(path)
    res["instructions_per_byte"] = ipb or None
    res["host_pipeline_vs_sha256_instructions"] = (
        round(ipb["sha256"] / ipb["pipeline"], 4) if "sha256" in ipb and "pipeline" in ipb
        else None)
    res["callgrind_image_bytes"] = cg_size
    sha_passes = None
    if "sha256" in cg_funcs and "pipeline" in cg_funcs:
        def sha_ir(fs):
            return sum(ir for ir, fn in fs if "sha256_process" in fn)
        one = sha_ir(cg_funcs["sha256"])
        if one:
            sha_passes = {m: round(sha_ir(cg_funcs[m]) / one, 2) for m in cg_funcs}
    res["sha256_passes"] = sha_passes
    res["callgrind_top_functions"] = {m: [{"ir": ir, "function": fn} for ir, fn in fs]
                                      for m, fs in cg_funcs.items()}

    # --- code size, static RAM, stack, struct sizes ------------------------------------
    static_bad = []
    for tc in ("xtensa", "arm"):
        c = (core or {}).get(tc) or {"skipped": "core build did not run"}
        if "skipped" in c:
            skipped.append(f"{tc} code size, static RAM and stack: {c['skipped']}")
        if "skipped" in c or "error" in c:
            res[f"{tc}_core_text"] = None
            res[f"{tc}_core_static"] = None
            continue
        res[f"{tc}_core_text"] = c["total"]["text"]
        res[f"{tc}_core_code"] = c["total"]["code"]
        res[f"{tc}_core_rodata"] = c["total"]["rodata"]
        res[f"{tc}_core_static"] = c["total"]["data"] + c["total"]["bss"]
        res[f"{tc}_core_objects"] = c["objects"]
        res[f"{tc}_linked_subsets"] = {k: {kk: v.get(kk) for kk in ("text", "code", "rodata",
                                                                    "data", "bss")}
                                       for k, v in c["subsets"].items()}
        res[f"{tc}_sizeof"] = c["sizeof"]
        lean = (core or {}).get(tc + "_no_diag_text") or {}
        if lean.get("total"):
            # Built with -DMPOTA_DIAG_TEXT=0: no message sentences on the device.
            res[f"{tc}_core_text_no_diag_text"] = lean["total"]["text"]
        for o in c["static_nonzero"]:
            static_bad.append(f"{tc} {o}")
    arm = (core or {}).get("arm") or {}
    xt = (core or {}).get("xtensa") or {}

    def stack_of(c, entry):
        v = (c.get("stack") or {}).get(entry) or {}
        return v.get("bytes")

    res["write_path_stack_bytes"] = stack_of(arm, "mpota_session_write")
    res["write_path_stack_bytes_steady"] = stack_of(arm, "mpota_session_write_steady")
    res["write_path_stack_bytes_xtensa"] = stack_of(xt, "mpota_session_write")
    res["stack_bytes_arm"] = {e: v.get("bytes") for e, v in (arm.get("stack") or {}).items()}
    res["stack_bytes_xtensa"] = {e: v.get("bytes") for e, v in (xt.get("stack") or {}).items()}
    res["stack_chains_arm"] = arm.get("stack")
    if host_sizeof:
        res["session_state_bytes"] = host_sizeof["session_without_hash"]
        res["session_total_bytes"] = host_sizeof["session_total"]
        res["session_hash_context_bytes"] = host_sizeof["session_hash_contexts"]
    else:
        res["session_state_bytes"] = None
    s32 = arm.get("sizeof") or xt.get("sizeof") or {}
    if "session_total" in s32:
        res["session_state_bytes_32bit"] = s32["session_total"] - s32["session_hash_contexts"]
        res["session_total_bytes_32bit"] = s32["session_total"]

    # What the MicroPython module adds to an ESP32 firmware (tests/esp32/
    # check_esp32_port.sh with MODULE_SIZE_JSON).
    module = load(os.path.join(raw, "module.json")) or {}
    res["module_firmware_bytes"] = module.get("module_firmware_bytes")
    res["module_firmware_parts"] = module.get("parts")

    # --- targets ---------------------------------------------------------------------
    hr = res["modeled_ratios"].get(str(HEADLINE_SIZE), {}).get(HEADLINE_STATE, {})
    targets = {
        "mpota_vs_floor": {"target": "<= 1.1", "value": hr.get("mpota_vs_floor"),
                           "met": None if hr.get("mpota_vs_floor") is None
                           else hr["mpota_vs_floor"] <= 1.1},
        "per_sector_vs_mpota": {"target": ">= 2.5", "value": hr.get("per_sector_vs_mpota"),
                                "met": None if hr.get("per_sector_vs_mpota") is None
                                else hr["per_sector_vs_mpota"] >= 2.5},
        "host_pipeline_vs_sha256": {"target": ">= 0.8", "value": res["host_pipeline_vs_sha256"],
                                    "met": None if res["host_pipeline_vs_sha256"] is None
                                    else res["host_pipeline_vs_sha256"] >= 0.8},
        "xtensa_core_text": {"target": "<= 5000", "value": res["xtensa_core_text"],
                             "met": None if res["xtensa_core_text"] is None
                             else res["xtensa_core_text"] <= 5000},
        "xtensa_core_static": {"target": "== 0", "value": res["xtensa_core_static"],
                               "met": None if res["xtensa_core_static"] is None
                               else res["xtensa_core_static"] == 0},
        "session_state_bytes": {"target": "<= 512", "value": res["session_state_bytes"],
                                "met": None if res["session_state_bytes"] is None
                                else res["session_state_bytes"] <= 512},
        "write_path_stack_bytes": {"target": "<= 1024", "value": res["write_path_stack_bytes"],
                                   "met": None if res["write_path_stack_bytes"] is None
                                   else res["write_path_stack_bytes"] <= 1024},
        "module_firmware_bytes": {"target": "<= 12000", "value": res["module_firmware_bytes"],
                                  "met": None if res["module_firmware_bytes"] is None
                                  else res["module_firmware_bytes"] <= 12000},
    }
    res["targets"] = targets

    if static_bad:
        failures.append("static RAM in the core: " + "; ".join(static_bad))
    # A required number may be missing only when the tool behind it is.
    needs = {"xtensa_core_text": "xtensa", "xtensa_core_static": "xtensa",
             "write_path_stack_bytes": "arm"}
    for key in REQUIRED:
        part = needs.get(key)
        if res.get(key) is None and not (part and "skipped" in ((core or {}).get(part) or {})):
            failures.append(f"required result {key} missing")
    signature_results(res, load(os.path.join(raw, "sig.json")), core, skipped, a.micropython)
    res["transfer"] = load(os.path.join(raw, "transfer.json"))
    res["stock_bench"] = load(os.path.join(raw, "stock_bench.json"))
    res["skipped"] = skipped
    res["failures"] = failures
    res["run_wall_s"] = a.wall

    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1, sort_keys=False)
        f.write("\n")
    with open(a.md, "w") as f:
        f.write(markdown(res, core, runs, by, cg_funcs))
    return 1 if failures else 0


def esp32_task_stack(tree):
    """MICROPY_TASK_STACK_SIZE of MicroPython's esp32 port, in bytes, or None."""
    try:
        with open(os.path.join(tree, "ports/esp32/mpconfigport.h")) as f:
            m = re.search(r"#define MICROPY_TASK_STACK_SIZE\s+\((\d+) \* 1024\)", f.read())
            return int(m.group(1)) * 1024 if m else None
    except (OSError, TypeError):
        return None


def signature_results(res, sig, core, skipped, tree):
    """Secure Boot V2 verification (issue 12): host time and heap per scheme
    from bench_sig, stack and code size of the path from core_build's *_sig
    builds."""
    schemes = (sig or {}).get("schemes", {})
    res["sig_verify_us"] = {k: v["verify"]["us_median"] for k, v in schemes.items()} or None
    res["sig_check_area_us"] = {k: v["check_area"]["us_median"] for k, v in schemes.items()} or None
    res["sig_heap_peak_bytes"] = {k: v["heap_verify"]["peak_bytes"]
                                  for k, v in schemes.items()} or None
    res["sig_host_runs"] = sig
    stack, code = {}, {}
    for tc in ("arm", "xtensa"):
        c = (core or {}).get(tc + "_sig") or {"skipped": "core build did not run"}
        if "skipped" in c:
            skipped.append(f"{tc} signature path with mbedTLS: {c['skipped']}")
        if "stack" not in c:
            continue
        stack[tc] = {e: {"with_mbedtls": v.get("bytes"),
                         "without_mbedtls": v.get("bytes_without_mbedtls")}
                     for e, v in c["stack"].items()}
        stack[tc]["below_backend"] = {fn: v.get("bytes")
                                      for fn, v in c.get("stack_below_backend", {}).items()}
        lk = c["linked"]
        code[tc] = {"mpota_sig_objects_text": c["sig_objects_text"],
                    "mpota_sig_linked_text": lk["mpota_sig_text"],
                    "mpota_other_linked_text": lk["mpota_other_text"],
                    "mbedtls_linked_text": lk["mbedtls_text"],
                    "mbedtls_by_object": {k: v["text"] for k, v in lk["mbedtls"].items()}}
    res["sig_stack_bytes"] = stack or None
    res["sig_code_bytes"] = code or None
    res["sig_build"] = {tc: {k: (core or {}).get(tc + "_sig", {}).get(k)
                             for k in ("compiler", "command", "mbedtls", "mbedtls_config",
                                       "mbedtls_sources")}
                        for tc in ("arm", "xtensa") if tc in stack}
    res["esp32_task_stack_bytes"] = esp32_task_stack(tree)


def transfer_markdown(res):
    """Section 8: smaller transfers, gzip and delta (issue 13)."""
    t = res.get("transfer")
    o = []
    w = o.append
    w("## 8. Smaller transfers: gzip and delta updates\n")
    if not t or not t.get("pairs"):
        w("Not run (bench/transfer.py).\n")
        return "\n".join(o) + "\n"
    w(f"`bench/transfer.py` with `bench/bench_transfer`: each update runs for real on the "
      f"bench rig (the old build running in ota_0): the image, its `gzip -9` (inflated by "
      f"zlib, as the CLI does), or a heatshrink patch ({t['patch_maker']}) applied by the "
      f"core's applier from the running slot; all three through the session. The flash "
      f"operations each 1 KiB of download causes are timed with the flash model (section 1) "
      f"and start once that KiB has arrived and the flash is free, so the download overlaps "
      f"erase and program; then end() and set_boot. CPU time to inflate or patch is not "
      f"modeled. Real pairs: consecutive builds that three public projects committed "
      f"(loboris' MicroPython_ESP32_psRAM_LoBo esp32_ota, shariltumin/esp32-micropython, "
      f"teuler/robotling), kept outside the repository; detools 0.53 and Debian's bsdiff "
      f"sizes were made by hand with those tools.\n")
    w("| pair | image B | gzip -9 B | patch B | detools heatshrink B | detools lzma B | "
      "bsdiff B | raw / gzip / delta at 20 Mbit/s (s) | 1 Mbit/s | 100 kbit/s |")
    w("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    for p in t["pairs"]:
        m = p["modeled"]["updates"]
        ref = p.get("reference") or {}
        cell = lambda i: " / ".join(f"{m[k]['total_s'][i]:.1f}" for k in ("raw", "gzip", "delta"))
        w(f"| {p['pair']} | {fmt_int(p['new_bytes'])} | {fmt_int(p['gzip9_bytes'])} | "
          f"{fmt_int(m['delta']['transferred'])} | {fmt_int(ref.get('detools_heatshrink'))} | "
          f"{fmt_int(ref.get('detools_lzma'))} | {fmt_int(ref.get('bsdiff'))} | {cell(0)} | "
          f"{cell(1)} | {cell(2)} |")
    w("")
    return "\n".join(o) + "\n"


def analysis(res, core, by):
    """Plain statements, with the numbers, of where each result comes from;
    for a missed target, what would close the gap. Nothing here changes the
    library: the lead decides."""
    o = []
    w = o.append
    t = res["targets"]

    # Modeled time: mpota against the floor, term by term.
    st = by.get(HEADLINE_SIZE, {}).get(HEADLINE_STATE, {})
    mp, fl = st.get("mpota"), st.get("floor")
    if mp and fl:
        c, f = mp["counts"], fl["counts"]
        ph = mp.get("phases", {})
        blank_reads = ph.get("write", {}).get("read_bytes", 0)
        end_reads = ph.get("end", {}).get("read_bytes", 0)
        w(f"- **Modeled time, mpota vs floor** ({'met' if t['mpota_vs_floor']['met'] else 'missed'}, "
          f"{t['mpota_vs_floor']['value']:.3f}): mpota {c['total_s']:.3f} s vs floor "
          f"{f['total_s']:.3f} s at 1.6 MB into a used slot. Erase: mpota "
          f"{c['erase_s']:.3f} s vs {f['erase_s']:.3f} s ({c['block_erases']} blocks + "
          f"{c['sector_erases']} sector vs {f['block_erases']} blocks + {f['sector_erases']} "
          f"sectors: the image's last partial 64 KiB region gets one block erase instead of "
          f"sectors, saving {f['erase_s'] - c['erase_s']:.3f} s). Reads: "
          f"{c['read_bytes']:,} vs {f['read_bytes']:,} bytes = {c['read_s'] - f['read_s']:+.3f} s: "
          f"end()'s read-back {end_reads:,} bytes ({end_reads / 6.65e6:.3f} s) plus the blank "
          f"checks {blank_reads:,} bytes. set_boot's own verify (a second full read, "
          f"{ph.get('set_boot', {}).get('read_bytes', 0):,} bytes) is charged to every strategy. "
          f"Programs: {c['prog_pages'] - f['prog_pages']:+d} page (the pre-flight head is "
          f"programmed apart from the rest of the first chunk). Without end()'s read-back when "
          f"set_boot follows at once (set_boot re-reads the same bytes and checks the image's "
          f"appended SHA-256; images without one get only the XOR checksum there), mpota would "
          f"be {c['total_s'] - end_reads / 6.65e6:.3f} s = "
          f"{(c['total_s'] - end_reads / 6.65e6) / f['total_s']:.3f} × floor.")
        bl = by.get(HEADLINE_SIZE, {}).get("blank", {}).get("mpota")
        if bl:
            bw = bl.get("phases", {}).get("write", {})
            w(f"- In a blank slot mpota erases nothing and pays "
              f"{bw.get('read_bytes', 0):,} bytes of blank-check reads "
              f"({bw.get('read_s', 0):.3f} s) instead: {bl['counts']['total_s']:.3f} s, "
              f"below the floor (which always erases).")

    # Host pipeline.
    ipb = res.get("instructions_per_byte") or {}
    passes = res.get("sha256_passes") or {}
    hv = t["host_pipeline_vs_sha256"]
    if hv["value"] is not None:
        line = (f"- **Host pipeline vs SHA-256** ({'met' if hv['met'] else 'missed'}, "
                f"{hv['value']:.3f} by wall clock")
        if "sha256" in ipb and "pipeline" in ipb:
            line += f", {ipb['sha256'] / ipb['pipeline']:.3f} by instructions)"
        else:
            line += ")"
        if passes.get("pipeline"):
            k = passes["pipeline"]
            sha = ipb["sha256"]
            other = ipb["pipeline"] - k * sha
            line += (f": the pipeline runs SHA-256 over every byte **{k:.2f} times** "
                     f"(callgrind: the instructions of `mbedtls_internal_sha256_process` relative "
                     f"to SHA-256 alone) — one pass: the parser's running hash yields both the "
                     f"image hash (a copy finished at the checksum byte, SPEC §4.6) and the "
                     f"download hash, and the read-back compares each program with the data in "
                     f"hand instead of hashing it again. Everything else costs {other:.1f} "
                     f"instructions/byte (SHA-256 alone: {sha:.1f}); at one pass the ratio can "
                     f"reach at most {sha / (sha + other):.2f} by instructions. The wall-clock "
                     f"ratio is lower because the pipeline also moves memory that instruction "
                     f"counts do not weigh (the emulator's erase memset and program AND, the "
                     f"read-back copies) and because it is measured on a shared machine.")
            if "pipeline_noverify" in ipb:
                line += (f" With `no_verify` (no read-back) it is already "
                         f"{ipb['sha256'] / ipb['pipeline_noverify']:.2f} by instructions, "
                         f"{res.get('host_pipeline_noverify_vs_sha256') or 0:.2f} by wall clock.")
        w(line)

    # Code size.
    xt = (core or {}).get("xtensa") or {}
    tv = t["xtensa_core_text"]
    if xt.get("objects") and tv["value"] is not None:
        objs = {k: v for k, v in xt["objects"].items() if k != xt.get("total_excludes")}
        top = sorted(objs.items(), key=lambda kv: -kv[1]["text"])[:6]
        sub = xt.get("subsets", {})
        diag = objs.get("diag.c", {})
        minimal = sum(objs.get(n, {}).get("text", 0) for n in ("session.c", "erase_plan.c", "area.c"))
        lean = res.get("xtensa_core_text_no_diag_text")
        w(f"- **Core text on xtensa** ({'met' if tv['met'] else 'missed'}, {tv['value']:,} bytes "
          f"for all of src/core" +
          (f"; {lean:,} bytes built with `-DMPOTA_DIAG_TEXT=0`, the device option that drops "
           f"the message sentences" if lean else "") +
          f"): largest objects " +
          ", ".join(f"{k} {v['text']:,}" for k, v in top) +
          f". diag.c alone is {diag.get('text', 0):,} bytes, {diag.get('rodata', 0):,} of them "
          f"the message catalogue (read-only strings). What a device links with --gc-sections: "
          f"{sub.get('update_api', {}).get('text', 0):,} bytes for the update API without "
          f"messages, {sub.get('update_api_with_messages', {}).get('text', 0):,} with them, "
          f"{sub.get('session_only', {}).get('text', 0):,} for begin/write/end/set_boot/abort alone "
          f"(the session pulls the image parser, identify's pre-flight, otadata and "
          f"set_boot's verify). 5,000 bytes is not reachable by trimming: it would take (a) the "
          f"message sentences out of the device build (error names or codes only, text "
          f"on the host: −{diag.get('rodata', 0):,}), and (b) on ESP32, delegating image "
          f"verification, otadata and set_boot to ESP-IDF, which MicroPython's esp32 port "
          f"already links for `esp32.Partition` (`esp_image_verify`, "
          f"`esp_ota_set_boot_partition`): session.c + erase_plan.c + area.c are "
          f"{minimal:,} bytes, and the pre-flight would need identify's app-image checks "
          f"(identify.c {objs.get('identify.c', {}).get('text', 0):,}) or the IDF's "
          f"`esp_ota_check_image_validity`. The portable, IDF-independent engine as designed "
          f"is ~{sub.get('update_api', {}).get('text', 0) / 1000:.0f} KB. Static RAM is "
          f"{res.get('xtensa_core_static')} bytes, as required.")

    # Stack and state.
    sw = res.get("write_path_stack_bytes")
    if sw is not None:
        sa = res.get("stack_bytes_arm") or {}
        chain = ((res.get("stack_chains_arm") or {}).get("mpota_session_write") or {}).get(
            "chain", [])
        big = sorted((x for x in chain if x["frame"]), key=lambda x: -x["frame"])[:2]
        bigs = " and ".join(f"`{x['function']}` {x['frame']}" for x in big)
        w(f"- **Stack** (arm -Os): the write path peaks at {sw:,} bytes in the first write (the "
          f"pre-flight; largest frames {bigs}), "
          f"{res.get('write_path_stack_bytes_steady') or 0:,} bytes in every later write "
          f"(`mpota_area_is_blank`'s 128-byte buffer). Not the write path but worth knowing: "
          f"`mpota_session_end` peaks at {sa.get('mpota_session_end', 0):,} bytes "
          f"(its 256-byte read-back buffer and the pre-flight for images shorter than "
          f"0x120 bytes) and `mpota_session_set_boot` at "
          f"{sa.get('mpota_session_set_boot', 0):,} (`mpota_image_verify_area`'s buffer). "
          f"mbedTLS's own frames come on top on every path that hashes.")
    if res.get("session_state_bytes") is not None:
        w(f"- **Session state**: {res['session_state_bytes']} bytes on the host "
          f"({res.get('session_state_bytes_32bit', '–')} with 32-bit pointers) without the "
          f"{res.get('session_hash_context_bytes')} bytes of hash contexts; "
          f"{res.get('session_total_bytes')} in all. The 0x120-byte pre-flight buffer (288) is "
          f"most of it; it is unioned with the final digest already.")
    return "\n".join(o) + "\n"


def signature_markdown(res, core):
    """Section 7: Secure Boot V2 signature verification (issue 12)."""
    o = []
    w = o.append
    w("## 7. Signature verification (Secure Boot V2)\n")
    sig = res.get("sig_host_runs")
    if sig:
        w(f"**Host time** (`bench/bench_sig`): block 0 of each vector espsecure signed "
          f"(`tests/vectors/sbv2`, a 6,000-byte app padded to 8,192 + the 4 KiB sector). "
          f"`mpota_sig_block_verify` = the digest check and the mbedTLS signature check "
          f"(`mpota_sig_verify_backend`); `mpota_sig_check_area` = the whole check of the "
          f"image on a RAM flash (`mpota_flash_emu_open_ram`): read the block back, trust "
          f"(the key is trusted), for P-384 the SHA-384 of the 8 KiB image, verify. Each run "
          f"repeats the call for ~{sig['budget_s']:g} s; {sig['reps']} runs, interleaved; "
          f"µs per call, median (best). The system's libmbedcrypto "
          f"({res['machine'].get('mbedtls') or '?'}), RelWithDebInfo (-O2).\n")
        w("| scheme | verify µs median | (best) | check_area µs median | (best) | "
          "heap peak B | allocations |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for k, v in sig["schemes"].items():
            h = v["heap_verify"]
            w(f"| {k} | {v['verify']['us_median']:,.1f} | {v['verify']['us_best']:,.1f} | "
              f"{v['check_area']['us_median']:,.1f} | {v['check_area']['us_best']:,.1f} | "
              f"{h['peak_bytes']:,} | {h['allocations']:,} |")
        w("")
        w("**Heap** is mbedTLS's alone (the core allocates nothing): the peak of live "
          "requested bytes during one verify. Debian's libmbedcrypto lacks "
          "`MBEDTLS_PLATFORM_MEMORY` (no `mbedtls_platform_set_calloc_free`), so `bench_sig` "
          "defines `malloc`/`calloc`/`realloc`/`free` itself; ELF interposition makes the "
          "shared library call them, they pass the work to glibc's `__libc_*` and count. "
          "64-bit limbs here; a 32-bit device holds the same bytes of each number in twice "
          "the limbs (mbedTLS 3.x on the device may differ by a few hundred bytes). `live_after` is 0 "
          "for every scheme (no leak).\n")
    st = res.get("sig_stack_bytes") or {}
    if st:
        b = res.get("sig_build") or {}
        any_tc = next(iter(b.values()))
        w(f"**Stack** of the signature path, with MicroPython's bundled mbedTLS "
          f"{any_tc.get('mbedtls')} compiled in place (`{', '.join(any_tc.get('mbedtls_sources') or [])}`"
          f"; configuration: {any_tc.get('mbedtls_config')}), by `bench/core_build.py` "
          f"(same method as section 4; \"without mbedTLS\" stops at mbedTLS's functions, "
          f"counting mpota's frames only, the signature backend included):\n")
        w("| entry | arm with mbedTLS | arm without | xtensa with mbedTLS | xtensa without |")
        w("|---|---:|---:|---:|---:|")
        for e in ("mpota_sig_check_area", "mpota_session_end"):
            a, x = st.get("arm", {}).get(e, {}), st.get("xtensa", {}).get(e, {})
            w(f"| `{e}` | **{fmt_int(a.get('with_mbedtls'))}** | {fmt_int(a.get('without_mbedtls'))} | "
              f"**{fmt_int(x.get('with_mbedtls'))}** | {fmt_int(x.get('without_mbedtls'))} |")
        w("")
        w("Below the backend, per scheme (mbedTLS included):\n")
        w("| function | arm | xtensa |\n|---|---:|---:|")
        for fn, label in (("verify_rsa", "RSA-3072-PSS (`verify_rsa`)"),
                          ("verify_ecdsa", "ECDSA P-256/P-384 (`verify_ecdsa`)"),
                          ("mpota_sig_sha384_area", "P-384 image hash (`mpota_sig_sha384_area`)")):
            w(f"| {label} | {fmt_int(st.get('arm', {}).get('below_backend', {}).get(fn))} | "
              f"{fmt_int(st.get('xtensa', {}).get('below_backend', {}).get(fn))} |")
        w("")
        for tc in ("arm", "xtensa"):
            c = (core or {}).get(tc + "_sig") or {}
            ch = (c.get("stack") or {}).get("mpota_session_end", {}).get("chain")
            if ch:
                w(f"Deepest chain ({tc}): " + " → ".join(
                    f"{x['function'].split(':')[-1]} ({x['frame'] if x['frame'] is not None else 'ext'})"
                    for x in ch) + "\n")
        w("The deepest chain is RSA: `verify_rsa` holds the 384-byte signature and the RSA "
          "context, `mbedtls_rsa_rsassa_pss_verify_ext` a 1 KiB buffer "
          "(`MBEDTLS_MPI_MAX_SIZE`), and MGF1 goes through `mbedtls_md_*`, whose switch over "
          "every enabled hash makes the static bound take SHA-512's frame (SHA-256's is "
          "smaller at run time). Calls through pointers (the allocator with "
          "`MBEDTLS_PLATFORM_MEMORY`, the flash callbacks), libc and compiler helpers count "
          "0, as does `mbedtls_mpi_shift_l_mod.part.0` in ecp.c, a clone gcc's call graph "
          "names without a node (a small leaf on the ECDSA path, not on the deepest one).\n")
    code = res.get("sig_code_bytes") or {}
    if code:
        w("**Code size** (text = code + read-only data): mpota's own signature code "
          "(`sig_block.c`, `sig_trust.c`, `sig_verify_mbedtls.c`, compiled) against what "
          "the path links from mbedTLS (`ld -r --gc-sections` from `mpota_sig_check_area` "
          "and `mpota_sig_trust_add_running`, kept sections counted per object from the "
          "link map). On ESP32, ESP-IDF's mbedTLS already carries RSA and ECDSA for TLS, so "
          "the module adds only mpota's part; a firmware without TLS would add the mbedTLS "
          "column too (with MicroPython's configuration: every curve's constants, MD5 and "
          "SHA-1 behind `mbedtls_md`).\n")
        w("| | arm | xtensa |\n|---|---:|---:|")
        rows = (("mpota sig objects (3 files)", "mpota_sig_objects_text"),
                ("mpota sig, linked from the roots", "mpota_sig_linked_text"),
                ("other mpota code the path links (crc, area, diag, ...)", "mpota_other_linked_text"),
                ("**mbedTLS the path links**", "mbedtls_linked_text"))
        for label, k in rows:
            w(f"| {label} | {fmt_int(code.get('arm', {}).get(k))} | "
              f"{fmt_int(code.get('xtensa', {}).get(k))} |")
        w("")
        objs = sorted((code.get("xtensa") or code.get("arm"))["mbedtls_by_object"].items(),
                      key=lambda kv: -kv[1])
        w("mbedTLS by object (" + ("xtensa" if code.get("xtensa") else "arm") + "): " +
          ", ".join(f"{k} {v:,}" for k, v in objs) + ".\n")
    w(device_needs(res))
    return "\n".join(o) + "\n"


def device_needs(res):
    """What a device needs for a signed update: stack of the calling task, heap."""
    st = res.get("sig_stack_bytes") or {}
    heap = res.get("sig_heap_peak_bytes") or {}
    task = res.get("esp32_task_stack_bytes")
    worst = max((v.get("mpota_session_end", {}).get("with_mbedtls") or 0) for v in st.values()) \
        if st else None
    if not worst:
        return ""
    o = [f"**What a device needs.** The call that verifies is `mpota_session_end` "
         f"(`ota` package: `end()`), in the task that calls it: **{worst:,} bytes** of C stack "
         f"at the deepest (RSA-3072) by the static bound, mbedTLS included, on top of what "
         f"the caller already uses. xtensa-lx106 is the call0 ABI; ESP32's LX6/LX7 use the "
         f"windowed ABI, whose frames are somewhat larger (a register save area per frame, "
         f"some 16-32 bytes more for each of the dozen frames on this chain), so budget "
         f"~{(worst + 512 + 511) // 512 * 512:,} bytes. "]
    if task:
        o.append(f"MicroPython's ESP32 main task has {task:,} bytes "
                 f"(`MICROPY_TASK_STACK_SIZE` in ports/esp32/mpconfigport.h), of which the "
                 f"interpreter keeps a margin for its own stack check and the Python frames "
                 f"of the caller: the verify fits with ~{task - worst - 1024:,} bytes to spare "
                 f"after a 1 KiB margin. A `_thread` thread gets 4 KiB plus the check margin by "
                 f"default on esp32 (`MP_THREAD_DEFAULT_STACK_SIZE`), about what an RSA verify "
                 f"alone takes: a thread that calls `end()` on a signed update should raise "
                 f"`_thread.stack_size()` to 8 KiB or more. ")
    if heap:
        o.append("Heap: mbedTLS's peak during one verify is " +
                 ", ".join(f"{k} {v:,} bytes" for k, v in heap.items()) +
                 " (host, mbedTLS 2.28). On the ESP32 port mbedTLS allocates from ESP-IDF's "
                 "heap (`CONFIG_MBEDTLS_DEFAULT_MEM_ALLOC=y` in the port's sdkconfig.base), "
                 "not MicroPython's GC heap: a few KiB of free system heap at `end()`.")
    return "".join(o) + "\n"


def markdown(res, core, runs, by, cg_funcs):
    m = res["machine"]
    o = []
    w = o.append
    w("# mpota benchmarks\n")
    w("Generated by `bench/run.sh`%s on %s; raw numbers in `bench/results.json`. "
      "Regenerate with `bench/run.sh` (the lead wires `make bench` to it).\n"
      % (" --smoke (a fast subset, for CI)" if res["smoke"] else "", m["date_utc"]))
    if res["failures"]:
        w("**FAILURES:** " + "; ".join(res["failures"]) + "\n")
    if res["skipped"]:
        w("**Skipped:** " + "; ".join(res["skipped"]) + "\n")

    w("## Machine and tools\n")
    w("| | |\n|---|---|")
    for k, label in (("uname", "uname -srm"), ("cpu", "CPU"), ("cpus", "CPUs"), ("gcc", "gcc"),
                     ("clang", "clang"), ("xtensa_gcc", "xtensa"), ("arm_gcc", "arm"),
                     ("mbedtls", "mbedTLS"), ("valgrind", "valgrind"), ("cmake", "cmake"),
                     ("loadavg", "load average at the end (1, 5, 15 min)"),
                     ("git", "tree"), ("date_utc", "date")):
        w(f"| {label} | {m.get(k) if m.get(k) is not None else '–'} |")
    if res.get("run_wall_s") is not None:
        w(f"| run time | {res['run_wall_s']:.1f} s (build included) |")
    w("")

    w("## Targets\n")
    w("| target | wanted | measured | |\n|---|---|---|---|")
    names = {
        "mpota_vs_floor": "modeled time, mpota / floor (1.6 MB, used slot)",
        "per_sector_vs_mpota": "modeled time, per_sector / mpota (1.6 MB, used slot)",
        "host_pipeline_vs_sha256": "host pipeline throughput / SHA-256 alone (verify on)",
        "xtensa_core_text": "portable core text on xtensa (bytes)",
        "xtensa_core_static": "portable core static RAM, data+bss (bytes)",
        "session_state_bytes": "session state without hash contexts (bytes, host)",
        "write_path_stack_bytes": "write-path stack, arm -Os (bytes, hashing aside)",
        "module_firmware_bytes": "MicroPython module in an ESP32 firmware: core it links + "
                                 "binding, diag text off (bytes, xtensa-lx106 -Os)",
    }
    for k, t in res["targets"].items():
        v = t["value"]
        vs = "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else f"{v:,}")
        met = "not measured" if t["met"] is None else ("**met**" if t["met"] else "**missed**")
        w(f"| {names[k]} | {t['target']} | {vs} | {met} |")
    w("")

    # 1. modeled
    setup = res.get("modeled_setup")
    w("## 1. Modeled device time\n")
    if setup:
        mdl, slot = setup["model"], setup["slot"]
        w(f"Flash timing model (`src/host/flash_model.c`): 4 KiB sector erase "
          f"{mdl['sector_erase_s'] * 1000:g} ms, 64 KiB block erase {mdl['block_erase_s'] * 1000:g} ms, "
          f"256-byte page program {mdl['page_program_s'] * 1000:g} ms, reads "
          f"{mdl['read_bytes_per_s'] / 1e6:g} MB/s. Device: {setup['flash_size'] >> 20} MiB emulated NOR "
          f"flash in RAM, MicroPython's OTA layout for 8 MiB (`mpota_part_layout_make`), app v1 "
          f"running from ota_0; the update goes to **{slot['label']}**, offset "
          f"0x{slot['offset']:X}, **{slot['size']:,} bytes (0x{slot['size']:X})**. Images from "
          f"`mpota_image_build_app` (ESP32, digest appended), written in {setup['chunk']}-byte chunks. "
          f"\"used\" = every byte of the slot holds old data; \"blank\" = all 0xFF. All strategies "
          f"are counted by the same emulator and priced by the same model.\n")
    w("| strategy | what it does | image read-backs |\n|---|---|---|")
    rb = {r["strategy"]: r["image_readbacks"] for r in runs}
    for s in STRATEGIES:
        w(f"| `{s}` | {STRATEGY_TEXT[s]} | {rb.get(s, '–')} |")
    w("")
    w("Every strategy ends with the real `mpota_boot_set_boot()`: one full read of the image to "
      "verify it (as `esp_ota_set_boot_partition` and MicroPython's `Partition.set_boot` do) and "
      "one otadata write (1 sector erase + 1 program; the single sector erase in every row). "
      "mpota also reads each program back to compare it (the same bytes once) and reads ahead of each erase to skip blank "
      "regions, all counted as they happen. ESP-IDF's `esp_ota_end` verifies the image once more "
      "before `set_boot`; `erase_all` is not charged for that read (it would add "
      "image/6.65 MB/s, 0.24 s at 1.6 MB).\n")

    for size in sorted(by):
        for state in ("used", "blank"):
            st = by[size].get(state)
            if not st:
                continue
            w(f"### {size / 1e6:.1f} MB image ({size:,} bytes), {state} slot\n")
            w("| strategy | sector erases | block erases | programs | pages | read bytes | "
              "erase s | program s | read s | **total s** |")
            w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for s in STRATEGIES:
                r = st.get(s)
                if not r:
                    continue
                c = r["counts"]
                w(f"| `{s}` | {c['sector_erases']:,} | {c['block_erases']:,} | {c['progs']:,} | "
                  f"{c['prog_pages']:,} | {c['read_bytes']:,} | {c['erase_s']:.3f} | "
                  f"{c['program_s']:.3f} | {c['read_s']:.3f} | **{c['total_s']:.3f}** |")
            rr = res["modeled_ratios"][str(size)][state]
            w(f"\nmpota / floor = **{rr['mpota_vs_floor']:.3f}**, per_sector / mpota = "
              f"**{rr['per_sector_vs_mpota']:.2f}**, erase_all / mpota = "
              f"**{rr['erase_all_vs_mpota']:.2f}**.\n")
            mp = st.get("mpota")
            if mp and mp.get("phases") and size == HEADLINE_SIZE:
                w(f"mpota by phase ({state} slot):\n")
                w("| phase | sector erases | block erases | pages | read bytes | erase s | "
                  "program s | read s | total s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
                for ph, c in mp["phases"].items():
                    w(f"| {ph} | {c['sector_erases']:,} | {c['block_erases']:,} | "
                      f"{c['prog_pages']:,} | {c['read_bytes']:,} | {c['erase_s']:.3f} | "
                      f"{c['program_s']:.3f} | {c['read_s']:.3f} | {c['total_s']:.3f} |")
                w("")

    w("### All sizes (modeled seconds)\n")
    w("| image | slot | per_sector | erase_all | mpota | mpota, length unknown | floor | "
      "mpota / floor | per_sector / mpota |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in sorted(by):
        for state in ("blank", "used"):
            st = by[size].get(state)
            if not st:
                continue
            t = {s: st[s]["counts"]["total_s"] for s in st}
            rr = res["modeled_ratios"][str(size)][state]
            w(f"| {size / 1e6:.1f} MB ({size:,} B) | {state} | {fmt_s(t.get('per_sector'))} | "
              f"{fmt_s(t.get('erase_all'))} | {fmt_s(t.get('mpota'))} | "
              f"{fmt_s(t.get('mpota_unknown_len'))} | {fmt_s(t.get('floor'))} | "
              f"{fmt_s(rr['mpota_vs_floor'])} | {fmt_s(rr['per_sector_vs_mpota'], 2)} |")
    w("")

    # 2. host pipeline
    w("## 2. Host pipeline throughput\n")
    pr = res.get("host_pipeline_runs") or {}
    if pr:
        w(f"An image of {pr['image_bytes']:,} bytes in memory → `mpota_session_begin` / "
          f"`_write` ({pr['chunk']}-byte chunks) / `_end` (read-back verify on) → RAM emulated "
          f"flash (used slot, restored before every run, untimed), against SHA-256 alone "
          f"(mbedTLS through the core's `mpota_sha256_*` glue, same chunks) in the same process. "
          f"Wall clock (CLOCK_MONOTONIC), {pr['reps']} repetitions of each, interleaved; the ratio "
          f"uses the **best** (shortest) run of each, the estimate least disturbed by other load "
          f"(medians shown too). Build: RelWithDebInfo (-O2 -g), the system's libmbedcrypto.\n")
        w("| mode | best s | median s | MB/s (best) | MB/s (median) | vs SHA-256 (best) |")
        w("|---|---:|---:|---:|---:|---:|")
        sha_best = pr["modes"].get("sha256", {}).get("best_s")
        for mname, mv in pr["modes"].items():
            w(f"| {mname} | {mv['best_s']:.4f} | {mv['median_s']:.4f} | {mv['mb_s_best']:.1f} | "
              f"{mv['mb_s_median']:.1f} | {fmt_s(ratio(sha_best, mv['best_s']))} |")
        w("")
    ipb = res.get("instructions_per_byte")
    if ipb:
        w(f"Instructions per byte under `valgrind --tool=callgrind` (deterministic; "
          f"{res['callgrind_image_bytes']:,}-byte image; only the measured function is collected "
          f"with `--toggle-collect`, setup excluded; `totals:` of the output file / bytes):\n")
        w("| mode | Ir / byte | vs SHA-256 | SHA-256 passes over the image |\n|---|---:|---:|---:|")
        passes = res.get("sha256_passes") or {}
        for mname, v in ipb.items():
            w(f"| {mname} | {v:.1f} | {fmt_s(ratio(ipb.get('sha256'), v))} | "
              f"{fmt_s(passes.get(mname), 2)} |")
        w("")
        if "pipeline" in cg_funcs:
            w("Where the pipeline's instructions go (callgrind self cost):\n")
            w("| Ir | function |\n|---:|---|")
            for ir, fn in cg_funcs["pipeline"]:
                w(f"| {ir:,} | `{fn}` |")
            w("")

    # 3. code size
    w("## 3. Code size and static RAM of the portable core\n")
    mp = res.get("module_firmware_parts")
    if mp:
        w(f"**The MicroPython module in an ESP32 firmware**: "
          f"**{res['module_firmware_bytes']:,} bytes** (core it links {mp['core']:,}, ESP-IDF "
          f"backend {mp['backend']:,}, binding {mp['binding']:,}): everything the esp32 port "
          "check compiles (`tests/esp32/check_esp32_port.sh` with `MODULE_SIZE_JSON`, "
          "xtensa-lx106 `-Os -ffunction-sections -fdata-sections`, `MPOTA_DIAG_TEXT=0`, "
          "MicroPython's esp32 port and ESP-IDF v5.5.1 headers) linked `ld -r --gc-sections` "
          "from the module object; what stays counts (code, literals, read-only and static "
          "data). Target <= 12,000 (issue 11). Out of the firmware since issue 11: error "
          "names and sentences (the ota package words errors from the numbers), mpota's "
          "partition-table parser (the module takes ESP-IDF's table) and the Device/Session "
          "calls only the twin uses. What stays is the engine: the session, otadata and "
          "set_boot, the image parser and identify's pre-flight. Reaching 12,000 needs a "
          "product decision: set_boot and verification handed to ESP-IDF (giving up "
          "mpota's cut-safe otadata order), no non-app recognisers in the firmware, or "
          "optional policies.\n")
    for tc in ("xtensa", "arm"):
        c = (core or {}).get(tc) or {}
        if "skipped" in c or "error" in c or not c:
            w(f"**{tc}**: {c.get('skipped') or c.get('error') or 'not built'}\n")
            continue
        w(f"**{tc}**: `{c['command']}` ({c['compiler']}); {c['include_note']}. `size` per "
          f"object; text = code (.text/.literal) + read-only data (.rodata; on ESP32 it stays in "
          f"flash). `{c['total_excludes']}` (the mbedTLS glue) is listed but not in the total: "
          f"hashing comes from the platform (ESP-IDF's mbedTLS over the hardware SHA).\n")
        w("| object | text | code | rodata | data | bss |\n|---|---:|---:|---:|---:|---:|")
        for name, v in c["objects"].items():
            mark = " (not in total)" if name == c["total_excludes"] else ""
            w(f"| {name}{mark} | {v['text']:,} | {v['code']:,} | {v['rodata']:,} | {v['data']} | "
              f"{v['bss']} |")
        t = c["total"]
        w(f"| **total** | **{t['text']:,}** | {t['code']:,} | {t['rodata']:,} | **{t['data']}** | "
          f"**{t['bss']}** |\n")
        w(f"What an application links (`ld -r --gc-sections` from the entry points):\n")
        w("| subset | text | code | rodata | data+bss |\n|---|---:|---:|---:|---:|")
        desc = {"session_only": "session begin/write/end/set_boot/abort",
                "update_api": "session + app-side boot API + table parse (a MicroPython module)",
                "update_api_with_messages": "... + `mpota_diag_format` (the message catalogue)",
                "delta": "delta patches: the applier + the running image's digest (issue 13)"}
        for k, v in c["subsets"].items():
            if "error" in v:
                w(f"| {desc[k]} | error | | | |")
            else:
                w(f"| {desc[k]} | {v['text']:,} | {v['code']:,} | {v['rodata']:,} | "
                  f"{v['data'] + v['bss']} |")
        w("")
        if c.get("warnings"):
            w("Compiler warnings:\n```\n" + "\n".join(c["warnings"])[:3000] + "\n```\n")

    # 4. stack
    w("## 4. Stack\n")
    w("Method: the core is compiled with `-fstack-usage -fcallgraph-info=su` (gcc 12); each "
      "function's frame comes from its node in the `.ci` call graph (the same number as in the "
      "`.su` file), the edges from the same files (static functions are kept apart per file), "
      "and `bench/core_build.py` takes the deepest path from each entry point, summing frames. "
      "Calls that leave the core count 0 and are listed: mbedTLS (the SHA-256/MD5 code; as in "
      "the issue, hashing aside), libc memcpy/memset, compiler helpers, and the flash callbacks "
      "(\"Indirect Call Placeholder\": the port's read/prog/erase). No recursion was found "
      "unless listed.\n")
    for tc in ("arm", "xtensa"):
        c = (core or {}).get(tc) or {}
        st = c.get("stack")
        if not st:
            continue
        w(f"**{tc}** (`{c['command']}`):\n")
        w("| entry | bytes | deepest chain (frame bytes) |\n|---|---:|---|")
        for e, v in st.items():
            if "bytes" not in v:
                continue
            chain = " → ".join(f"{x['function']} ({x['frame'] if x['frame'] is not None else 'ext'})"
                               for x in v["chain"])
            label = e if e != "mpota_session_write_steady" else \
                "mpota_session_write, after the pre-flight"
            w(f"| `{label}` | {v['bytes']:,} | {chain} |")
        w("")
        outside = st.get("mpota_session_write", {}).get("outside_core")
        if outside:
            w(f"Outside the core on the write path ({tc}): " + ", ".join(f"`{x}`" for x in outside)
              + "\n")
        cyc = sorted({cy for v in st.values() for cy in v.get("cycles", [])})
        if cyc:
            w("Recursion (cut): " + "; ".join(cyc) + "\n")

    # 5. RAM
    w("## 5. Session state\n")
    w("`sizeof(mpota_session_t)`, caller-owned (no heap, no static state). \"Without hash "
      "contexts\" subtracts the session's SHA-256 and MD5 contexts and the parser's SHA-256 "
      "context (mbedTLS software contexts here; ESP-IDF's hardware-SHA contexts differ), as "
      "`tests/unit/test_session.c` counts.\n")
    w("| layout | total | hash contexts | **state without them** |\n|---|---:|---:|---:|")
    if res.get("session_state_bytes") is not None:
        w(f"| host x86-64 (64-bit pointers) | {res['session_total_bytes']:,} | "
          f"{res['session_hash_context_bytes']:,} | **{res['session_state_bytes']:,}** |")
    for tc in ("arm", "xtensa"):
        s = res.get(f"{tc}_sizeof")
        if s and "session_total" in s:
            w(f"| {tc} (32-bit, as on ESP32) | {s['session_total']:,} | "
              f"{s['session_hash_contexts']:,} | **{s['session_total'] - s['session_hash_contexts']:,}** |")
    w("")

    # 6. Stock MicroPython
    sb = res.get("stock_bench")
    w("## 6. Stock MicroPython: three writers of one update\n")
    if not sb:
        w("Not run (see Skipped).\n")
    else:
        w(f"One {sb['image_bytes']:,}-byte app into a used slot on the twin, each writer driven by "
          "glenn20's documented call (`ota.update.from_file(url, sha=, length=, reboot=False)`); "
          "counts, modeled device time and peak live heap from `mpota-twin --stats`, wall time "
          f"the best of {sb['runs']} runs without it (`bench/stock_bench.sh`). The Python engine "
          "takes the 64 KiB buffer when `gc.mem_free()` leaves 32 KiB beside it, else the 4 KiB "
          "one. Peak heap is the twin's whole live heap (its own modules included): the C "
          "engine's row is the floor.\n")
        names = {"glenn20": "glenn20's package, unmodified (stock)",
                 "python": "`ota` package, Python engine (stock)",
                 "python4k": "`ota` package, Python engine, 4 KiB buffer (stock)",
                 "c": "`ota` package, C engine"}
        w("| writer | modeled s | block erases | sector erases | programs | MB read | peak heap (B) | wall s |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for k in ("glenn20", "python", "python4k", "c"):
            r = sb["ways"].get(k)
            if not r:
                w(f"| {names[k]} | not measured | | | | | | |")
                continue
            heap = f"{r['peak_heap']:,}" if r.get("peak_heap") is not None else "-"
            w(f"| {names[k]} | {r['modeled_s']:.2f} | {r['block_erases']} | {r['sector_erases']} | "
              f"{r['programs']} | {r['bytes_read'] / 1e6:.1f} | {heap} | {r['wall_s']:.2f} |")
        w("")
        if sb.get("python_vs_glenn20_speedup") is not None:
            sp = sb["python_vs_glenn20_speedup"]
            w(f"- Python engine vs glenn20: **{sp:.2f}x faster** (target >= 2x: "
              f"{'met' if sp >= 2 else 'missed'}).")
        pc = sb["python_vs_c"]
        w(f"- Python engine vs C engine: **{pc:.3f}x** the C engine's time (target <= 1.25x: "
          f"{'met' if pc <= 1.25 else 'missed'}).\n")

    w(signature_markdown(res, core))
    w(transfer_markdown(res))

    w("## Reading the misses: what it would take\n")
    w(analysis(res, core, by))

    w("## Method notes\n")
    w("- Modeled time is counted, not simulated: the four strategies run on the same RAM "
      "emulator (`mpota_flash_emu_open_ram`), whose counters (erases by kind, 256-byte pages "
      "programmed, bytes read) are priced by `mpota_flash_model_*`. After each update the "
      "bootloader model (`mpota_boot_select`) must boot the new slot, else the bench fails.")
    w("- `per_sector`, `erase_all` and `floor` are ~30-line drivers over `struct mpota_area` "
      "in `bench/bench_modeled.c`; `mpota_area_erase` gives the largest aligned erases "
      "(64 KiB blocks inside, 4 KiB sectors at the edges), as `esp_partition_erase_range` does.")
    w("- The headline key `modeled_device_s.mpota` declares the image length (as a manifest or "
      "Content-Length does); `mpota_unknown_len` does not.")
    w("- Host throughput is machine-dependent and noisy on shared machines (see the load "
      "average above); the callgrind instruction counts are not. The wall-clock ratio tends to "
      "sit below the instruction ratio: the pipeline also moves memory that instructions do not "
      "weigh (the emulator's memset per 64 KiB erase, its byte-wise AND per program, the "
      "read-back copies), host costs that a device does not have in this form.")
    w("- Code size: `size` (Berkeley) counts .rodata into text. The core is compiled, not "
      "linked; the subsets are `ld -r --gc-sections` of the same objects.")
    w("- xtensa-lx106 is the ESP8266 core (call0 ABI); ESP32's LX6 uses the windowed ABI, "
      "whose frames are somewhat larger. The arm build is the 32-bit reference for stack.")
    w("")
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    sys.exit(main())
