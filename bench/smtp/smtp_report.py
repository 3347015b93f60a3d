#!/usr/bin/env python3
"""Tables (and a plot) from smtp_measure.py results, for the demo and the SMTP effect benchmark.

  smtp_report.py demo DIR [--scores FILE] [--stats DIR] [--dump DIR] [--noisy-below N]
      DIR holds ROLE.json (smtp_measure send results); prints one row per sender: address,
      score, level, messages delivered, median delivery time (and, for --reference runs, the
      median of the same messages through the reference lane, without sluice); medians over
      fewer than N messages (default 20) are marked noisy. --stats DIR holds ROLE.before.json and
      ROLE.after.json (`sluicectl dataplane stats --json` around that sender's run): a second
      table shows what sluice did to each sender (the counters of its level while it sent).
      --dump DIR (smtp-sink's dumps): how many messages of each lane the MTA received intact.
  smtp_report.py effect DIR --out-md FILE [--out-json FILE] [--out-png FILE] [--scores FILE]
                        [--title TEXT] [--note TEXT]
      DIR holds without-ROLE.json and with-ROLE.json; writes a markdown table comparing the
      median delivery time of each sender without and with the shaper, the ratio, and the
      issue's goals (clean <= 1.05x, throttled >= 1000x), plus a PNG bar chart (matplotlib).
  smtp_report.py scores --sluicectl BIN --table FILE --policy FILE ROLE=ADDR... > scores.json
      Looks every address up in a compiled table and names its level under the policy.
"""

import argparse
import configparser
import json
import os
import re
import statistics
import subprocess
import sys
import textwrap

sys.dont_write_bytecode = True  # no __pycache__ in the source tree (smtp_verify is imported)

ROLE_ORDER = ["clean", "allowed", "throttled", "tarpitted", "blocked"]


def merge(parts):
    """One result from several rounds of smtp_measure send: messages pooled, stats recomputed."""
    if len(parts) == 1:
        return parts[0]
    out = dict(parts[0])
    msgs = [m for p in parts for m in p["messages"]]
    times = sorted(m["time_s"] for m in msgs if m["ok"])
    failures = {}
    for m in msgs:
        if not m["ok"]:
            failures[m["error"]] = failures.get(m["error"], 0) + 1
    elapsed = sum(p["elapsed_s"] for p in parts)
    out.update(
        {
            "messages": msgs,
            "rounds": len(parts),
            "requested": sum(p["requested"] for p in parts),
            "attempted": len(msgs),
            "delivered": len(times),
            "failed": len(msgs) - len(times),
            "failures": failures,
            "elapsed_s": elapsed,
            "timeout_s": max(p["timeout_s"] for p in parts),
            "median_s": statistics.median(times) if times else None,
            "p90_s": times[int(round(0.9 * (len(times) - 1)))] if times else None,
            "min_s": times[0] if times else None,
            "max_s": times[-1] if times else None,
        }
    )
    return out


def load_results(directory, prefix=""):
    """ROLE -> result from PREFIX+ROLE.json or PREFIX+ROLE.rN.json files (rounds merged)."""
    parts = {}
    for name in sorted(os.listdir(directory)):
        m = re.fullmatch(re.escape(prefix) + r"([a-z0-9]+)(\.r\d+)?\.json", name)
        if m:
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                parts.setdefault(m.group(1), []).append(json.load(f))
    return {role: merge(p) for role, p in parts.items()}


def ordered(roles):
    return sorted(roles, key=lambda r: (ROLE_ORDER.index(r) if r in ROLE_ORDER else 99, r))


def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds:.2f} s"


def outcome(res):
    """Median delivery time, or why there is none."""
    if res is None:
        return "not run"
    if res.get("median_s") is not None:
        return fmt_time(res["median_s"])
    fails = res.get("failures") or {}
    if not fails:
        return "-"
    kind = max(fails, key=fails.get)
    if kind in ("timeout", "connect-timeout"):
        return f"> {res.get('timeout_s', 0):.0f} s ({kind})"
    return f"- ({kind})"


def delivered(res):
    return "-" if res is None else f"{res['delivered']}/{res['attempted']}"


def load_scores(path):
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def score_cells(scores, role, address):
    s = scores.get(role, {})
    score = s.get("score")
    score_txt = "?" if score is None else str(score)
    if s.get("allow"):
        score_txt += " (allow)"
    return s.get("address", address), score_txt, s.get("level", "?")


def print_table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def noisy_outcome(res, noisy_below):
    """outcome(), with a '*' when the median comes from fewer than noisy_below messages."""
    text = outcome(res)
    if res is not None and res.get("median_s") is not None and res["delivered"] < noisy_below:
        text += " *"
    return text


LEVEL_COUNTERS = ("syns", "flows", "rewritten", "delayed", "dropped", "rst_sent")


def level_delta(before, after, level_name, level_num):
    """The counters of one level between two `dataplane stats --json` documents. Level 0 (pass)
    counts no SYNs of its own: its SYNs are the table lookups (one per inbound SYN), which holds
    while one sender at a time runs through the data plane, as the demo's unshaped ones do."""
    def find(doc):
        for entry in (doc or {}).get("levels", []):
            if entry.get("name") == level_name or (level_num is not None and
                                                     entry.get("level") == level_num):
                return entry
        return None
    a, b = find(before), find(after)
    if b is None and level_num != 0:
        return None
    d = {k: (b or {}).get(k, 0) - (a or {}).get(k, 0) for k in LEVEL_COUNTERS}
    if level_num == 0 and after is not None:
        d["syns"] = after.get("lookups", 0) - (before or {}).get("lookups", 0)
    return d


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def stats_rows(results, scores, stats_dir):
    rows = [("sender", "level", "SYNs", "flows", "rewritten", "delayed", "dropped", "RSTs")]
    for role in ordered(results):
        s = scores.get(role, {})
        before = load_json(os.path.join(stats_dir, f"{role}.before.json"))
        after = load_json(os.path.join(stats_dir, f"{role}.after.json"))
        level = s.get("level", "?")
        d = level_delta(before, after, level, s.get("level_num"))
        if d is None:
            rows.append((role, level, *["?"] * len(LEVEL_COUNTERS)))
        else:
            rows.append((role, f"{s.get('level_num', '?')} {level}",
                         *[d[k] for k in LEVEL_COUNTERS]))
    return rows


def lane_counts(results, dump_dir):
    """Per lane: attempted, delivered, failures by kind, and what the MTA received intact."""
    from smtp_verify import check_file  # noqa: PLC0415 -- only the demo needs it
    lanes = {"sluice": {"attempted": 0, "delivered": 0, "failures": {}},
             "reference": {"attempted": 0, "delivered": 0, "failures": {}}}
    for res in results.values():
        for lane, r in (("sluice", res), ("reference", res.get("reference"))):
            if not r:
                continue
            lanes[lane]["attempted"] += r["attempted"]
            lanes[lane]["delivered"] += r["delivered"]
            for kind, n in (r.get("failures") or {}).items():
                lanes[lane]["failures"][kind] = lanes[lane]["failures"].get(kind, 0) + n
    for lane in lanes.values():
        lane["received"] = {"ok": 0, "corrupt": 0, "truncated": 0}
    if dump_dir and os.path.isdir(dump_dir):
        for root, _, files in os.walk(dump_dir):
            for name in files:
                _, tag, status = check_file(os.path.join(root, name))
                if status == "foreign":
                    continue
                lane = "reference" if tag.endswith("-ref") else "sluice"
                lanes[lane]["received"][status] += 1
    return lanes


def lane_line(name, lane):
    fails = ", ".join(f"{n} {k}" for k, n in sorted(lane["failures"].items())) or "none"
    rec = lane["received"]
    line = (f"{name}: {lane['attempted']} sent = {lane['delivered']} delivered + "
            f"{lane['attempted'] - lane['delivered']} not ({fails}); the MTA received "
            f"{rec['ok']} intact")
    if rec["corrupt"] or rec["truncated"]:
        line += f", {rec['corrupt']} corrupt, {rec['truncated']} truncated"
    late = rec["ok"] - lane["delivered"]
    if late > 0:
        line += f" ({late} accepted after the sender had given up waiting for the reply)"
    return line


def wrap(text, indent="", hang=""):
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent + hang)


def cmd_demo(args):
    results = load_results(args.dir)
    scores = load_scores(args.scores)
    rows = [("sender", "address", "score", "level", "delivered", "median delivery",
             "without sluice")]
    noisy = False
    for role in ordered(results):
        res = results[role]
        cells = (noisy_outcome(res, args.noisy_below),
                 noisy_outcome(res.get("reference"), args.noisy_below))
        noisy = noisy or any(c.endswith(" *") for c in cells)
        rows.append((role, *score_cells(scores, role, res.get("address") or "?"),
                     delivered(res), *cells))
    print_table(rows)
    if noisy:
        print(wrap(f"* median of fewer than {args.noisy_below} messages: on a shared machine one "
                   "slow message moves it; read the two columns as a rough guide only "
                   "(--messages 20 or more for steadier figures)"))
    if args.stats:
        print("\n" + wrap("What sluice did to each sender (`sluicectl dataplane stats --json`: "
                          "the counters of the sender's level while it sent; rewritten = window, "
                          "MSS or options changed, delayed = held by the pacer, RSTs = SYNs "
                          "refused; at level 0, pass, SYNs are the table lookups while it sent):"))
        print_table(stats_rows(results, scores, args.stats))
    if args.dump is not None:
        lanes = lane_counts(results, args.dump)
        print("\n" + wrap(f"Messages (each one sent {args.lane} was paired with one through the "
                          "reference lane, a Linux bridge beside it):"))
        print(wrap(lane_line(args.lane, lanes["sluice"]), "  ", "  "))
        if lanes["reference"]["attempted"]:
            print(wrap(lane_line("reference lane", lanes["reference"]), "  ", "  "))
    if args.out_png:
        # Each message's pair through the reference lane is the "without" bar.
        without = {role: dict(res["reference"], address=res.get("address"))
                   for role, res in results.items() if res.get("reference")}
        if plot(ordered(results), without, results, args.out_png,
                "Median delivery time per sender", labels=("reference lane", args.lane)):
            print(f"\nPlot of the delivery times: {args.out_png}")
    return 0


def ratio(without, with_):
    a = without.get("median_s") if without else None
    b = with_.get("median_s") if with_ else None
    if a and b:
        return b / a
    if a and with_ and with_.get("attempted") and not with_.get("delivered"):
        return float("inf")  # nothing delivered with the shaper: slower than any bound
    return None


def goal(role, r):
    if r is None:
        return "n/a"
    if role in ("clean", "allowed"):
        return ("met" if r <= 1.05 else "NOT met") + " (goal <= 1.05x)"
    if role == "throttled":
        return ("met" if r >= 1000 else "NOT met") + " (goal >= 1000x)"
    if role in ("tarpitted", "blocked"):
        return "no delivery" if r == float("inf") else "delivered"
    return ""


def cmd_effect(args):
    without = load_results(args.dir, "without-")
    with_ = load_results(args.dir, "with-")
    # Paired runs (smtp_measure --reference): the reference lane is the "without" column.
    for role, res in with_.items():
        if role not in without and res.get("reference"):
            without[role] = dict(res["reference"], address=res.get("address"))
    scores = load_scores(args.scores)
    roles = ordered(set(without) | set(with_))
    lines = [f"# {args.title}", ""]
    if args.note:
        lines += [args.note, ""]
    lines += [
        "| sender | address | score | level | without shaper: delivered | median | "
        "with shaper: delivered | median | ratio | goal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    combined = {"roles": {}}
    for role in roles:
        a, b = without.get(role), with_.get(role)
        r = ratio(a, b)
        addr, score, level = score_cells(scores, role, (a or b or {}).get("address") or "?")
        rtxt = "-" if r is None else ("inf" if r == float("inf") else f"{r:.2f}x")
        goal_txt = "n/a (no data plane)" if args.no_goals else goal(role, r)
        lines.append(
            f"| {role} | {addr} | {score} | {level} | {delivered(a)} | {outcome(a)} | "
            f"{delivered(b)} | {outcome(b)} | {rtxt} | {goal_txt} |"
        )
        combined["roles"][role] = {"without": a, "with": b, "ratio": rtxt, "score": scores.get(role)}
    lines += [
        "",
        "Delivery time: from connect() to the server's 250 after the final \".\" of one message "
        f"(body {next(iter(without.values()), {}).get('size', '?')} bytes), one SMTP session per "
        "message, medians over the delivered messages. \"> N s\" = no message completed within "
        "the per-message timeout.",
    ]
    with open(args.out_md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as f:
            json.dump(combined, f, indent=1)
    if args.out_png:
        plot(roles, without, with_, args.out_png, args.title)
    print("\n".join(lines))
    return 0


def plot(roles, without, with_, path, title, labels=("without shaper", "with shaper")):
    """Bars of the median delivery time per role, without and with; True when written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("smtp_report: matplotlib missing (python3-matplotlib); no plot", file=sys.stderr)
        return False

    def bar_value(res):
        if res is None:
            return 0, ""
        if res.get("median_s") is not None:
            return res["median_s"], ""
        return res.get("timeout_s") or 0, "//"  # hatched: nothing delivered within the timeout

    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = range(len(roles))
    for offset, data, label, color in ((-0.2, without, labels[0], "#4c72b0"),
                                       (0.2, with_, labels[1], "#dd8452")):
        for x, role in zip(xs, roles):
            res = data.get(role)
            value, hatch = bar_value(res)
            ax.bar(x + offset, max(value, 1e-5), width=0.4, color=color, hatch=hatch,
                   label=label if x == 0 else None, edgecolor="black", linewidth=0.5)
            if hatch and res.get("failures"):
                kind = max(res["failures"], key=res["failures"].get)
                ax.text(x + offset, value * 1.15, kind, ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-4, top=max(ax.get_ylim()[1], 1) * 3)  # from 0.1 ms; room for labels
    ax.set_xticks(list(xs), roles)
    ax.set_ylabel("median delivery time of one message (s, log)")
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.text(0.01, 0.01, "hatched: nothing delivered (refused or timed out); drawn at the "
             "per-message timeout", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def level_names(policy_path):
    """[(threshold, name)] for levels 1.. from a policy INI (docs/policy.md)."""
    cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    cp.read(policy_path)
    levels = []
    for section in cp.sections():
        m = re.fullmatch(r"level\.(\d+)", section)
        if m:
            n = int(m.group(1))
            levels.append((n, int(cp[section]["threshold"]), cp[section].get("name", f"level{n}")))
    return sorted(levels)


def find_value(obj, keys):
    """The first value under any of `keys` anywhere in a JSON document."""
    if isinstance(obj, dict):
        for k in keys:
            if k in obj:
                return obj[k]
        children = obj.values()
    elif isinstance(obj, list):
        children = obj
    else:
        return None
    for child in children:
        v = find_value(child, keys)
        if v is not None:
            return v
    return None


def cmd_scores(args):
    levels = level_names(args.policy) if args.policy else []
    out = {}
    for pair in args.roles:
        role, addr = pair.split("=", 1)
        entry = {"address": addr}
        p = subprocess.run([args.sluicectl, "table", "lookup", "--table", args.table, "--json", addr],
                           capture_output=True, text=True, timeout=20, check=False)
        try:
            doc = json.loads(p.stdout)
        except ValueError:
            doc = None
        score = find_value(doc, ["score"]) if doc is not None else None
        if p.returncode not in (0, 1) or doc is None:
            entry["error"] = (p.stderr.strip() or "no JSON output")[-200:]
        else:
            allow = find_value(doc, ["allow", "allowed"])
            flags = find_value(doc, ["flags"])
            allow = bool(allow) or (isinstance(flags, int) and flags & 1 == 1)
            entry.update({"score": score if score is not None else 0, "allow": allow})
            level, level_num = "pass", 0
            if not allow:
                for n, threshold, name in levels:
                    if entry["score"] >= threshold:
                        level, level_num = name, n
            entry["level"] = level
            entry["level_num"] = level_num
        out[role] = entry
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo")
    d.add_argument("dir")
    d.add_argument("--scores")
    d.add_argument("--stats", metavar="DIR", help="ROLE.before.json / ROLE.after.json")
    d.add_argument("--dump", metavar="DIR", help="smtp-sink's dump folder")
    d.add_argument("--noisy-below", type=int, default=20, metavar="N")
    d.add_argument("--lane", default="through sluice", help="names the measured lane")
    d.add_argument("--out-png", metavar="PATH", help="a bar plot of the delivery times")
    e = sub.add_parser("effect")
    e.add_argument("dir")
    e.add_argument("--out-md", required=True)
    e.add_argument("--out-json")
    e.add_argument("--out-png")
    e.add_argument("--scores")
    e.add_argument("--title", default="Effect of sluice on SMTP delivery time")
    e.add_argument("--note", default="")
    e.add_argument("--no-goals", action="store_true", help="both columns are the baseline")
    s = sub.add_parser("scores")
    s.add_argument("--sluicectl", required=True)
    s.add_argument("--table", required=True)
    s.add_argument("--policy")
    s.add_argument("roles", nargs="+", metavar="ROLE=ADDR")
    args = ap.parse_args()
    return {"demo": cmd_demo, "effect": cmd_effect, "scores": cmd_scores}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
