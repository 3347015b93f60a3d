#!/usr/bin/env python3
"""Report of bench/smtp/run_rtt.sh: clean mail through the bump at an emulated round-trip time.

  rtt_report.py RAW_DIR --out-md FILE [--out-json FILE] [--goal RATIO]

RAW_DIR holds rR-CASE-SENDER.json (smtp_measure.py send --reference: every message through the
bump paired with one through the reference lane), delay-SENDER.json (the delay lines' counts)
and setup.json. For each sender and case: every run's ratio (the bump lane's median delivery
time over the reference lane's), their median and range, and the median of all per-message
pair ratios of every run. The goal (default 1.02x) applies to the data planes' rows; the
"none" case (a Linux bridge in both lanes) shows what the measurement itself gives.
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True
CASE_NAMES = {
    "none": "none (a bridge in both lanes: noise)",
    "dp": "sluice-dp",
    "xdp": "XDP data plane",
}


def load_runs(raw):
    runs = {}  # (sender, case) -> [(round, result)]
    for path in glob.glob(os.path.join(raw, "r*-*-*.json")):
        m = re.fullmatch(r"r(\d+)-([a-z]+)-([a-z]+)\.json", os.path.basename(path))
        if not m:
            continue
        with open(path, encoding="utf-8") as f:
            runs.setdefault((m.group(3), m.group(2)), []).append((int(m.group(1)), json.load(f)))
    for v in runs.values():
        v.sort(key=lambda x: x[0])
    return runs


def pair_ratios(res):
    """Per-message ratios: message seq through the bump over the same seq through the reference."""
    ref = {m["seq"]: m for m in res.get("reference", {}).get("messages", []) if m.get("ok")}
    out = []
    for m in res.get("messages", []):
        r = ref.get(m["seq"])
        if m.get("ok") and r and r["time_s"] > 0:
            out.append(m["time_s"] / r["time_s"])
    return out


def ms(x):
    return "-" if x is None else f"{x * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("raw")
    ap.add_argument("--out-md", required=True)
    ap.add_argument("--out-json")
    ap.add_argument("--goal", type=float, default=1.02)
    a = ap.parse_args()

    setup = {}
    if os.path.exists(os.path.join(a.raw, "setup.json")):
        with open(os.path.join(a.raw, "setup.json"), encoding="utf-8") as f:
            setup = json.load(f)
    runs = load_runs(a.raw)
    if not runs:
        print(f"rtt_report: no rR-CASE-SENDER.json in {a.raw}", file=sys.stderr)
        return 1

    rtt = setup.get("rtt_ms", "?")
    lines = [
        f"# Clean mail at {rtt} ms round-trip time",
        "",
        f"Machine: {setup.get('cpu', '?')}, {setup.get('cpus', '?')} CPUs, kernel "
        f"{setup.get('kernel', '?')}; build {setup.get('build') or '?'}; commit "
        f"{setup.get('commit', '?')}; run {setup.get('date', '?')}. {setup.get('rounds', '?')} "
        f"rounds, each running every case once in a shuffled order; {setup.get('messages', '?')} "
        f"message pairs of {setup.get('size', '?')} bytes per sender, case and round.",
        "",
        "| sender | in the bump | runs | bump lane, median of runs | reference lane | "
        "ratio, median of runs | range of runs | median pair ratio | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    combined = {"setup": setup, "goal": a.goal, "rows": []}
    order = {"none": 0, "dp": 1, "xdp": 2}
    for (sender, case), rs in sorted(runs.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 9))):
        ratios, bump, ref, pairs, delivered, attempted = [], [], [], [], 0, 0
        for _, res in rs:
            b, r = res.get("median_s"), res.get("reference", {}).get("median_s")
            delivered += res.get("delivered", 0) + res.get("reference", {}).get("delivered", 0)
            attempted += res.get("attempted", 0) + res.get("reference", {}).get("attempted", 0)
            if b and r:
                ratios.append(b / r)
                bump.append(b)
                ref.append(r)
            pairs += pair_ratios(res)
        row = {
            "sender": sender,
            "case": case,
            "runs": len(rs),
            "delivered": delivered,
            "attempted": attempted,
            "ratios": ratios,
            "ratio_median": statistics.median(ratios) if ratios else None,
            "bump_median_s": statistics.median(bump) if bump else None,
            "reference_median_s": statistics.median(ref) if ref else None,
            "pair_ratio_median": statistics.median(pairs) if pairs else None,
            "pairs": len(pairs),
        }
        combined["rows"].append(row)
        rm = row["ratio_median"]
        if case == "none":
            goal = "n/a (noise)"
        elif rm is None:
            goal = "no data"
        else:
            goal = ("met" if rm <= a.goal else "NOT met") + f" (<= {a.goal:.2f}x)"
        rng = f"{min(ratios):.3f}-{max(ratios):.3f}x" if ratios else "-"
        pm = row["pair_ratio_median"]
        ptxt = "-" if pm is None else f"{pm:.3f}x"
        rtxt = "-" if rm is None else f"{rm:.3f}x"
        lines.append(
            f"| {sender} | {CASE_NAMES.get(case, case)} | {len(rs)} | {ms(row['bump_median_s'])} | "
            f"{ms(row['reference_median_s'])} | {rtxt} | {rng} | {ptxt} ({len(pairs)} pairs) | "
            f"{goal} |"
        )
        if delivered != attempted:
            lines.append(f"|  |  |  | {attempted - delivered} of {attempted} messages failed |  |  |  |  |  |")

    lines += ["", "Per-run ratios (bump lane median / reference lane median, in round order):", ""]
    for row in combined["rows"]:
        lines.append(f"- {row['sender']}, {row['case']}: "
                     + ", ".join(f"{x:.3f}" for x in row["ratios"]))

    delays = []
    for path in sorted(glob.glob(os.path.join(a.raw, "delay-*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        sender = os.path.basename(path)[len("delay-"):-len(".json")]
        for dr in d.get("directions", []):
            delays.append(
                f"- {sender}, {dr['from']} -> {dr['to']}: {dr['sent']} frames held "
                f"{d['delay_us'] / 1000:g} ms; late by at most {dr['late_p50_us']:.0f} us at the "
                f"median, {dr['late_p99_us']:.0f} us at p99, {dr['late_max_us']:.0f} us at worst; "
                f"dropped {dr['dropped_full'] + dr['dropped_large'] + dr['tx_errors']}")
        combined.setdefault("delay_lines", {})[sender] = d
    if delays:
        lines += ["", "The delay lines (sluice-delayline, each way; \"late\" = after the frame's due "
                  "time, both lanes alike):", ""] + delays
    lines += [
        "",
        "Delivery time: from connect() to the server's 250 after the final \".\" of one message, "
        "one SMTP session per message (bench/smtp/smtp_measure.py). Bump lane: through the data "
        "plane; reference lane: a Linux bridge beside the bump, to the server's second address; "
        "the two alternate message by message.",
    ]
    with open(a.out_md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    if a.out_json:
        with open(a.out_json, "w", encoding="utf-8") as f:
            json.dump(combined, f, indent=1)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
