#!/usr/bin/env python3
"""The results page of bench/smtp/run_contention.sh: clean mail's delivery time under a flood.

  contention_report.py DIR --out-md FILE [--out-json FILE] [--out-png FILE]

DIR holds, per round R and case C: rR-C-clean.json (smtp_measure.py send), rR-C-flood.json
(smtp_flood.py), rR-C-held.txt (the bots' connections established at the MTA, one sample a
second) and setup.json. A message that was not delivered counts as taking the per-message
timeout: a lower bound of its delivery time, so a ratio against a case with failures is a lower
bound too. Ratios are per round (the same round's "none" over the case), then their median and
range: the rounds ran the cases interleaved, so a round's ratio compares like with like.
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True

CASES = ["idle", "none", "dp", "dp-caps", "dp-tarpit", "xdp", "xdp-caps", "xdp-tarpit"]
LABELS = {
    "idle": "no flood, no shaper",
    "none": "flood, no shaper",
    "dp": "flood, sluice-dp throttle",
    "dp-caps": "flood, sluice-dp throttle + caps",
    "dp-tarpit": "flood, sluice-dp stateless tarpit",
    "xdp": "flood, XDP throttle",
    "xdp-caps": "flood, XDP throttle + caps",
    "xdp-tarpit": "flood, XDP stateless tarpit",
}

PLOT_LABELS = {
    "idle": "no flood\nno shaper",
    "none": "flood\nno shaper",
    "dp": "flood\nsluice-dp\nthrottle",
    "dp-caps": "flood\nsluice-dp\nthrottle + caps",
    "dp-tarpit": "flood\nsluice-dp\nstateless tarpit",
    "xdp": "flood\nXDP\nthrottle",
    "xdp-caps": "flood\nXDP\nthrottle + caps",
    "xdp-tarpit": "flood\nXDP\nstateless tarpit",
}


def times_of(clean):
    """Delivery times, undelivered messages counted as the timeout (a lower bound)."""
    out = []
    for m in clean["messages"]:
        out.append(m["time_s"] if m["ok"] else clean["timeout_s"])
    return out


def load(directory):
    runs = {}
    for path in glob.glob(os.path.join(directory, "r*-*-clean.json")):
        m = re.fullmatch(r"r(\d+)-(.+)-clean\.json", os.path.basename(path))
        if not m:
            continue
        rnd, case = int(m.group(1)), m.group(2)
        with open(path) as f:
            clean = json.load(f)
        flood = None
        fpath = path.replace("-clean.json", "-flood.json")
        if os.path.exists(fpath):
            with open(fpath) as f:
                flood = json.load(f)
        held = []
        hpath = path.replace("-clean.json", "-held.txt")
        if os.path.exists(hpath):
            with open(hpath) as f:
                held = [int(x) for x in f.read().split() if x.isdigit()]
        runs.setdefault(case, {})[rnd] = {"clean": clean, "flood": flood, "held": held}
    return runs


def median_or_none(values):
    return statistics.median(values) if values else None


def fmt_s(v):
    if v is None:
        return "-"
    return "%.0f ms" % (v * 1000) if v < 1 else "%.2f s" % v


def summarize(runs):
    out = {}
    for case, by_round in runs.items():
        pooled, per_run, delivered, attempted, held, sessions = [], [], 0, 0, [], 0
        flood_seconds = 0.0
        for rnd in sorted(by_round):
            r = by_round[rnd]
            t = times_of(r["clean"])
            pooled += t
            if t:
                per_run.append(statistics.median(t))
            delivered += r["clean"]["delivered"]
            attempted += r["clean"]["attempted"]
            held += r["held"]
            if r["flood"]:
                sessions += r["flood"]["outcomes"]["completed"]
                flood_seconds += r["flood"]["seconds"]
        out[case] = {
            "rounds": len(by_round),
            "delivered": delivered,
            "attempted": attempted,
            "median_s": median_or_none(pooled),
            "p90_s": sorted(pooled)[int(round(0.9 * (len(pooled) - 1)))] if pooled else None,
            "run_medians_s": per_run,
            "held_median": median_or_none(held),
            "held_max": max(held) if held else None,
            "bot_messages_per_s": sessions / flood_seconds if flood_seconds else None,
        }
    # Per-round ratios against the same round's "none".
    base = runs.get("none", {})
    for case, by_round in runs.items():
        ratios = []
        for rnd, r in by_round.items():
            if rnd not in base:
                continue
            mine, theirs = times_of(r["clean"]), times_of(base[rnd]["clean"])
            if mine and theirs:
                ratios.append(statistics.median(theirs) / statistics.median(mine))
        out[case]["speedup_vs_none"] = sorted(ratios)
    return out


def ratio(r):
    """1.0 and up with one decimal; below 1 (slower than no shaper) with two significant digits."""
    return "%.1f" % r if r >= 1 else "%.2g" % r


def table(summary, setup):
    rows = [
        "| case | rounds | delivered | median | run medians (min - max) | p90 | faster than "
        "no shaper (median of rounds, min - max) | bots' connections at the MTA (median, max) "
        "| bots' messages/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        s = summary.get(case)
        if not s:
            continue
        rm = s["run_medians_s"]
        sp = s["speedup_vs_none"]
        speed = "-"
        if sp and case != "none":
            speed = "%sx (%s - %s)" % (ratio(statistics.median(sp)), ratio(sp[0]), ratio(sp[-1]))
        held = "-" if s["held_max"] is None else "%g, %d" % (s["held_median"], s["held_max"])
        rate = "-" if s["bot_messages_per_s"] is None else "%.1f" % s["bot_messages_per_s"]
        rows.append(
            "| %s | %d | %d/%d | %s | %s - %s | %s | %s | %s | %s |"
            % (
                LABELS.get(case, case),
                s["rounds"],
                s["delivered"],
                s["attempted"],
                fmt_s(s["median_s"]),
                fmt_s(min(rm) if rm else None),
                fmt_s(max(rm) if rm else None),
                fmt_s(s["p90_s"]),
                speed,
                held,
                rate,
            )
        )
    return "\n".join(rows)


def goals(summary):
    lines = []
    for plane in ("dp", "xdp"):
        s = summary.get(plane + "-caps")
        if s and s["speedup_vs_none"]:
            m = statistics.median(s["speedup_vs_none"])
            lines.append(
                "- %s with caps: clean mail %.1fx faster than with no shaper (goal >= 2x): %s"
                % (plane, m, "met" if m >= 2 else "NOT met")
            )
        t = summary.get(plane + "-tarpit")
        if t and t["held_max"] is not None:
            lines.append(
                "- %s stateless tarpit: at most %d bot connections at the MTA (goal 0): %s"
                % (plane, t["held_max"], "met" if t["held_max"] == 0 else "NOT met")
            )
    return "\n".join(lines)


def plot(runs, setup, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("contention_report: matplotlib missing (python3-matplotlib); no plot", file=sys.stderr)
        return
    cases = [c for c in CASES if c in runs]
    fig, ax = plt.subplots(figsize=(10, 5))
    for i, case in enumerate(cases):
        ok, failed = [], []
        for r in runs[case].values():
            for m in r["clean"]["messages"]:
                (ok if m["ok"] else failed).append(m["time_s"] if m["ok"] else r["clean"]["timeout_s"])
        if ok:
            ax.boxplot([ok], positions=[i], widths=0.5, showfliers=True)
        if failed:
            ax.scatter([i] * len(failed), failed, marker="x", color="red", zorder=3)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([PLOT_LABELS[c] for c in cases], fontsize=8)
    ax.set_ylabel("clean sender's delivery time (s, log)")
    ax.set_title(
        "Clean 10 KB messages to a Postfix with %s smtpd, %d bot sessions (%s rounds)"
        % (setup.get("process_limit"), setup.get("sessions", 0), setup.get("rounds"))
    )
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.subplots_adjust(bottom=0.2)
    fig.text(0.01, 0.01, "red x: not delivered within the timeout (plotted at the timeout)", fontsize=8)
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--out-md", required=True)
    ap.add_argument("--out-json")
    ap.add_argument("--out-png")
    args = ap.parse_args()
    runs = load(args.dir)
    if not runs:
        print("contention_report: no results in %s" % args.dir, file=sys.stderr)
        return 1
    setup = {}
    if os.path.exists(os.path.join(args.dir, "setup.json")):
        with open(os.path.join(args.dir, "setup.json")) as f:
            setup = json.load(f)
    summary = summarize(runs)
    md = [
        "# Clean mail under a flood: delivery time with and without sluice",
        "",
        "Made by `bench/smtp/run_contention.sh` (commit %s, %s) on %s (%s CPUs), kernel %s."
        % (setup.get("commit"), setup.get("date"), setup.get("cpu"), setup.get("cpus"), setup.get("kernel")),
        "",
        "A real Postfix (private instance, `default_process_limit = %s`) behind the bump, its inbound "
        "traffic through a %s tbf. %s bot sessions from %s addresses of 198.18.3.0/24 (score 5) "
        "send %s-byte messages continuously; the flood starts %s s before the clean sender "
        "(unlisted) sends up to %s messages of %s bytes, %s s apart, each bounded by %s s, "
        "the run by %s s. %s rounds, every case once per round in a shuffled order; Postfix "
        "restarted for every case."
        % (
            setup.get("process_limit"),
            setup.get("rate"),
            setup.get("sessions"),
            setup.get("bots"),
            setup.get("flood_size"),
            setup.get("warmup"),
            setup.get("messages"),
            setup.get("size"),
            setup.get("gap"),
            setup.get("timeout"),
            setup.get("deadline"),
            setup.get("rounds"),
        ),
        "",
        "A message not delivered counts as the timeout (a lower bound of its delivery time), so "
        "ratios against a case with failures are lower bounds. \"Faster than no shaper\" is, per "
        "round, the no-shaper case's median over the case's median; the table gives the median "
        "of the rounds' ratios and their range. Bots' connections at the MTA: established "
        "connections from 198.18.3.0/24 at the server's port 25, sampled every second while the "
        "clean sender ran (accepted by an smtpd or waiting in its listen queue).",
        "",
        table(summary, setup),
        "",
        "Reading it: with no shaper the bots take turns with the clean sender for the ten smtpd "
        "processes, which they empty quickly. A throttle alone slows every bot session, so each "
        "holds its smtpd longer and the clean sender waits for one to free up; aggregate caps "
        "bound how many connections the bots' addresses and /24 may hold (here 2 and 6, below the "
        "MTA's 10), and the stateless tarpit keeps the bots' connections at the bump, away from "
        "the MTA.",
        "",
        "Reproduce (root; a Release build in build/release): `bench/smtp/run_contention.sh "
        "--rounds %s` (options: `--help`)." % setup.get("rounds"),
        "",
        "Goals:",
        "",
        goals(summary),
        "",
    ]
    if args.out_png:
        plot(runs, setup, args.out_png)
        md += ["![delivery time per case](%s)" % os.path.basename(args.out_png), ""]
    with open(args.out_md, "w") as f:
        f.write("\n".join(md))
    if args.out_json:
        with open(args.out_json, "w") as f:
            json.dump({"setup": setup, "cases": summary}, f, indent=1)
            f.write("\n")
    print(table(summary, setup) + "\n\n" + goals(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
