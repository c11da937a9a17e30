#!/usr/bin/env python3
"""Parsing and statistics helper for bench/compare-peers.sh (standard library only).

Subcommands
  parse TOOL STREAMS FILE
      Read one run's raw output and print one tab-separated line:
        OK <bits_per_second> <bytes> <per_stream_bps,comma,separated or ->
      or
        FAIL <reason>
      TOOL is saf-net | saf-base | iperf3 | iperf2 | nuttcp, or a --best variant of one (e.g. iperf3-Z),
      parsed as its base tool. FILE is:
        saf-net, saf-base (another saf-net build), iperf3: the client's -J document (stdout);
        iperf2:          the slice of the server's `-y C` log that this run produced;
        nuttcp:          the client's `-v -fparse` output (which relays the server's nuttcp-r lines).
      Every figure is the RECEIVER's (see the comment block at the top of compare-peers.sh).

  summary RESULTS_TSV --streams "1 4" --rounds N [--tools "saf-net iperf3 ..."] [--best] [--scale 128]
      Print medians per tool and stream count. Without --best: the older targets (saf-net / best peer
      at its defaults, CPU-seconds per GB <= the lowest peer) with PASS/FAIL. With --best: issue #21's
      goals 1, 2, 3 and 6 against the best peer at any setting (defaults and variants). With --scale N:
      goal 5, saf-net's -P N median >= its -P 4 median.

  memory MEMORY_TSV --limit-mib 32 [--goals]
      Print the server peak-RSS table (one row per tool and stream count) with PASS/FAIL for saf-net:
      against --limit-mib, or with --goals against issue #21's goal 4 (8 MiB at 16 streams, 16 MiB at 128).
"""

import argparse
import json
import statistics
import sys

TOOLS = ["saf-net", "iperf3", "iperf2", "nuttcp"]
PEERS = ["iperf3", "iperf2", "nuttcp"]
BASES = ["saf-net", "saf-base", "iperf3", "iperf2", "nuttcp"]
# Goodput thresholds from the older targets: saf-net / best peer at its defaults.
THRESHOLDS = {1: 1.10, 4: 1.00}
DEFAULT_THRESHOLD = 1.00
# Issue #21's goals (--best, --scale, memory --goals).
GOAL_GOODPUT = {1: (1, 1.5), 4: (2, 1.5)}  # streams -> (goal number, saf-net / best peer at any setting)
GOAL_CPU = 0.7  # goal 3: saf-net CPU-s/GB <= 0.7 x the lowest peer at any setting
GOAL_VARIANT = 1.10  # goal 6: no saf-net flag beats the default by more than 10 %
GOAL_STREAMS = (1, 4)  # goals 3 and 6 are judged at these stream counts; others are shown only
GOAL_MEMORY_MIB = {16: 8, 128: 16}  # goal 4: server peak RSS per stream count


def base_tool(name):
    """saf-net-l1M -> saf-net, iperf3-Z -> iperf3; a base tool is its own base; unknown -> None."""
    for b in BASES:
        if name == b or name.startswith(b + "-"):
            return b
    return None


def is_peer(name):
    return base_tool(name) in PEERS


def fail(reason):
    print("FAIL\t" + reason.replace("\t", " ").replace("\n", " ")[:200])
    return 0


def ok(bps, nbytes, per_stream):
    ps = ",".join("%.0f" % x for x in per_stream) if per_stream else "-"
    print("OK\t%.0f\t%d\t%s" % (bps, nbytes, ps))
    return 0


def parse_json_doc(path, tool):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        doc = json.loads(text)
    except (OSError, ValueError) as e:
        return fail("%s: no JSON document (%s)" % (tool, e))
    if doc.get("error"):
        return fail("%s: %s" % (tool, doc["error"]))
    if tool in ("saf-net", "saf-base"):
        sn = doc.get("saf_net") or {}
        if sn.get("complete") is False:
            return fail("%s: test incomplete" % tool)
    end = doc.get("end") or {}
    sr = end.get("sum_received")
    if not sr or "bits_per_second" not in sr:
        return fail("%s: end.sum_received missing" % tool)
    per = []
    for s in end.get("streams") or []:
        r = s.get("receiver") or {}
        if "bits_per_second" in r:
            per.append(float(r["bits_per_second"]))
    return ok(float(sr["bits_per_second"]), int(sr.get("bytes", 0)), per)


def parse_iperf2(path, streams):
    # iperf 2 server, `-y C` (CSV). One line per finished connection:
    # timestamp,src_addr,src_port,dst_addr,dst_port,transfer_id,interval,bytes,bits_per_second
    # On the server these are receiver figures. iperf 2.1.8 prints no CSV [SUM] line on the server,
    # and rounds the interval to 0.1 s, so each stream's exact duration is bytes*8/bps.
    # Aggregate goodput = total bytes * 8 / longest stream duration (what the text-mode [SUM] line
    # computes: the SUM interval ends with the last stream).
    rows = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) < 9:
                    continue
                try:
                    tid = int(parts[5])
                    nbytes = int(parts[7])
                    bps = float(parts[8])
                except ValueError:
                    continue
                if tid < 0:  # a [SUM] line, if a future version prints one
                    continue
                rows.append((nbytes, bps))
    except OSError as e:
        return fail("iperf2: server log unreadable (%s)" % e)
    if len(rows) != streams:
        return fail("iperf2: server reported %d connection(s), expected %d" % (len(rows), streams))
    total = sum(b for b, _ in rows)
    durations = [b * 8.0 / bps for b, bps in rows if bps > 0]
    if not durations or total <= 0:
        return fail("iperf2: zero bytes")
    return ok(total * 8.0 / max(durations), total, [bps for _, bps in rows])


def parse_nuttcp(path):
    # `nuttcp -v -fparse` on the transmitting client prints its own nuttcp-t lines and then the
    # server's nuttcp-r lines (the receiver, relayed over the control connection). We use
    #   nuttcp-r: megabytes=M real_seconds=S rate_KBps=K rate_Mbps=R
    # megabytes are MiB (2^20 bytes); rate_Mbps is 10^6 bit/s, computed by the receiver from its
    # unrounded elapsed time, so it is more precise than megabytes/real_seconds.
    rx = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("nuttcp-r:") or "rate_Mbps=" not in line:
                    continue
                kv = dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok)
                try:
                    rx = (float(kv["rate_Mbps"]) * 1e6, float(kv["megabytes"]) * 1048576.0)
                except (KeyError, ValueError):
                    continue
    except OSError as e:
        return fail("nuttcp: output unreadable (%s)" % e)
    if rx is None:
        return fail("nuttcp: no nuttcp-r (receiver) rate line")
    return ok(rx[0], int(rx[1]), [])


def cmd_parse(args):
    tool = base_tool(args.tool)
    if tool in ("saf-net", "saf-base", "iperf3"):
        return parse_json_doc(args.file, tool)
    if tool == "iperf2":
        return parse_iperf2(args.file, args.streams)
    if tool == "nuttcp":
        return parse_nuttcp(args.file)
    return fail("unknown tool " + args.tool)


def load_results(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 9 or p[0] == "tool":
                continue
            rows.append(
                {
                    "tool": p[0],
                    "streams": int(p[1]),
                    "round": int(p[2]),
                    "status": p[3],
                    "gbps": float(p[4]) if p[3] == "OK" else None,
                    "gb": float(p[5]) if p[3] == "OK" else None,
                    "cpu": float(p[6]) if p[3] == "OK" else None,
                    "cpu_per_gb": float(p[7]) if p[3] == "OK" else None,
                    "spread": p[8],
                    "quiet": p[12] if len(p) > 12 else "",
                }
            )
    return rows


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


def medians(rows, tools, counts):
    """Print the medians table; return {(tool, streams): dict}. (tool, n) pairs that never ran are skipped."""
    med = {}
    print("Medians over OK runs (receiver goodput; CPU = client + server CPU-seconds; GB = 10^9 bytes received)")
    print()
    hdr = "%-13s %7s %6s %11s %11s %11s %9s %11s %11s" % (
        "tool", "streams", "ok/n", "med Gbit/s", "min Gbit/s", "max Gbit/s", "spread%", "med CPU s", "med CPU s/GB")
    print(hdr)
    print("-" * len(hdr))
    for n in counts:
        for tool in tools:
            rs = [r for r in rows if r["tool"] == tool and r["streams"] == n]
            good = [r for r in rs if r["status"] == "OK"]
            g = [r["gbps"] for r in good]
            m = {
                "n": len(rs),
                "ok": len(good),
                "gbps": statistics.median(g) if g else None,
                "min": min(g) if g else None,
                "max": max(g) if g else None,
                "cpu": statistics.median([r["cpu"] for r in good]) if good else None,
                "cpu_per_gb": statistics.median([r["cpu_per_gb"] for r in good]) if good else None,
            }
            m["spread"] = (100.0 * (m["max"] - m["min"]) / m["gbps"]) if g and m["gbps"] else None
            med[(tool, n)] = m
            if not rs:
                continue
            print(
                "%-13s %7d %6s %11s %11s %11s %9s %11s %11s"
                % (tool, n, "%d/%d" % (m["ok"], m["n"]), fmt(m["gbps"], ".2f"), fmt(m["min"], ".2f"),
                   fmt(m["max"], ".2f"), fmt(m["spread"], ".0f"), fmt(m["cpu"], ".2f"), fmt(m["cpu_per_gb"], ".3f"))
            )
        print()
    return med


def peer_extreme(med, tools, n, key, pick):
    """(value, tool) of the best peer row at n over every setting, by pick (max or min); None if no data."""
    vals = [(med[(t, n)][key], t) for t in tools if is_peer(t) and med[(t, n)][key] is not None]
    return pick(vals) if vals else None


def verdict_word(ok):
    return "PASS" if ok else "FAIL"


def legacy_verdicts(med, tools, counts):
    """The older targets: saf-net / best peer at its defaults, CPU per GB <= the lowest peer."""
    verdicts = []
    defaults = [t for t in tools if t in PEERS]
    print("Goodput ratio: saf-net median / best peer median")
    print()
    hdr = "%7s %13s %-9s %13s %8s %9s %s" % ("streams", "saf-net Gb/s", "best peer", "peer Gbit/s", "ratio", "needed", "verdict")
    print(hdr)
    print("-" * len(hdr))
    for n in counts:
        need = THRESHOLDS.get(n, DEFAULT_THRESHOLD)
        s = med[("saf-net", n)]["gbps"]
        best = peer_extreme(med, defaults, n, "gbps", max)
        if s is None or best is None:
            print("%7d %13s %-9s %13s %8s %9s %s" % (n, fmt(s, ".2f"), "-", "-", "-", ">= %.2f" % need, "NO DATA"))
            verdicts.append(False)
            continue
        ratio = s / best[0]
        verdicts.append(ratio >= need)
        print("%7d %13.2f %-9s %13.2f %8.3f %9s %s" % (n, s, best[1], best[0], ratio, ">= %.2f" % need, verdict_word(ratio >= need)))
    print()

    print("CPU cost: median CPU-seconds (client + server) per GB received; saf-net must be <= lowest peer")
    print()
    hdr = "%7s %13s %-9s %13s %8s %s" % ("streams", "saf-net s/GB", "lowest", "peer s/GB", "ratio", "verdict")
    print(hdr)
    print("-" * len(hdr))
    for n in counts:
        s = med[("saf-net", n)]["cpu_per_gb"]
        low = peer_extreme(med, defaults, n, "cpu_per_gb", min)
        if s is None or low is None:
            print("%7d %13s %-9s %13s %8s %s" % (n, fmt(s, ".3f"), "-", "-", "-", "NO DATA"))
            verdicts.append(False)
            continue
        verdicts.append(s <= low[0])
        print("%7d %13.3f %-9s %13.3f %8.3f %s" % (n, s, low[1], low[0], s / low[0] if low[0] else float("inf"), verdict_word(s <= low[0])))
    print()
    return verdicts


def goal_line(verdicts, goal, at, what, num, den, op, limit):
    """Print one ratio line; with a goal (its number), its PASS/FAIL, appended to verdicts (no data = FAIL)."""
    label = "%s, %s: %s" % ("goal %d" % goal if goal else "no goal", at, what)
    if num is None or den is None or not den[0]:
        print("%-58s NO DATA" % label)
        if goal:
            verdicts.append(False)
        return
    ratio = num / den[0]
    if not goal:
        print("%-58s %8.3f %12s  (%s %.3f)" % (label, ratio, "", den[1], den[0]))
        return
    ok = ratio >= limit if op == ">=" else ratio <= limit
    verdicts.append(ok)
    print("%-58s %8.3f %s %.2f  %s  (%s %.3f)" % (label, ratio, op, limit, verdict_word(ok), den[1], den[0]))


def best_verdicts(med, tools, counts):
    """Issue #21's goals 1, 2, 3 and 6; saf-net at its defaults against every peer row at any setting."""
    verdicts = []
    print("Issue #21 goals: saf-net at its defaults / the best peer at any setting (defaults and --best variants)")
    print("(ratio, needed, verdict, then in brackets the peer row and its median)")
    print()
    for n in counts:
        s = med[("saf-net", n)]
        at = "1 stream" if n == 1 else "%d streams" % n
        num, need = GOAL_GOODPUT.get(n, (None, None))
        judged = n in GOAL_STREAMS
        goal_line(verdicts, num, at, "goodput vs best peer", s["gbps"], peer_extreme(med, tools, n, "gbps", max), ">=", need)
        goal_line(verdicts, judged and 3, at, "CPU-s/GB vs lowest peer", s["cpu_per_gb"],
                  peer_extreme(med, tools, n, "cpu_per_gb", min), "<=", GOAL_CPU)
        default = (s["gbps"], "saf-net") if s["gbps"] is not None else None
        for t in tools:
            if base_tool(t) == "saf-net" and t != "saf-net":
                goal_line(verdicts, judged and 6, at, "%s / saf-net" % t, med[(t, n)]["gbps"], default, "<=", GOAL_VARIANT)
        print()
    return verdicts


def scale_verdicts(med, tools, big):
    """Goal 5: saf-net's -P big median >= its -P 4 median; the peers' ratios beside it."""
    print("Scale: median goodput at -P %d against -P 4, tools at their defaults (goal 5 is saf-net's)" % big)
    print()
    hdr = "%-13s %11s %11s %8s %s" % ("tool", "P4 Gbit/s", "P%d Gbit/s" % big, "ratio", "verdict")
    print(hdr)
    print("-" * len(hdr))
    verdict = None
    for t in tools:
        if base_tool(t) != t:
            continue
        a, b = med[(t, 4)]["gbps"], med[(t, big)]["gbps"]
        ratio = b / a if a and b is not None else None
        word = ""
        if t == "saf-net":
            verdict = ratio is not None and ratio >= 1.0
            word = "goal 5 (>= 1.00): " + (verdict_word(verdict) if ratio is not None else "NO DATA")
        print("%-13s %11s %11s %8s %s" % (t, fmt(a, ".2f"), fmt(b, ".2f"), fmt(ratio, ".3f"), word))
    print()
    return [bool(verdict)]


def cmd_summary(args):
    rows = load_results(args.results)
    counts = [int(s) for s in args.streams.split()]
    tools = args.tools.split() if args.tools else (TOOLS[:1] + ["saf-base"] + TOOLS[1:] if args.baseline else TOOLS)
    unknown = [t for t in tools if base_tool(t) is None]
    if unknown:
        print("compare_peers.py: unknown tool(s) in --tools: %s" % " ".join(unknown), file=sys.stderr)
        return 2
    scale = [args.scale] if args.scale and args.scale not in counts else []
    med = medians(rows, tools, counts + scale)
    verdicts = best_verdicts(med, tools, counts) if args.best else legacy_verdicts(med, tools, counts)
    if args.baseline:
        baseline_table(med, counts)
    if args.scale:
        verdicts += scale_verdicts(med, tools, args.scale)
    summary_notes(rows, args.rounds)
    what = "Goal verdicts (issue #21)" if args.best else "Goodput/CPU verdicts"
    print("%s: %d PASS, %d FAIL" % (what, sum(verdicts), len(verdicts) - sum(verdicts)))
    return 0


def summary_notes(rows, rounds):
    if rounds < 5:
        print("NOTE: %d round(s) < 5: a smoke run; the issue's verdict needs the median of >= 5 rounds." % rounds)
    busy = sum(1 for r in rows if r["quiet"].startswith("host still busy"))
    if busy:
        print("NOTE: %d of %d run(s) started while the host was still busy with other work (see [..] on the per-run lines)." % (busy, len(rows)))
    failed = sum(1 for r in rows if r["status"] != "OK")
    if failed:
        print("NOTE: %d run(s) FAILED and were left out of the medians (see the per-run lines)." % failed)


def baseline_table(med, stream_counts):
    """saf-net against another build of itself (--baseline): goodput and CPU ratios, no verdict."""
    print("Regression check: saf-net (this build) / saf-base (--baseline), medians of the same interleaved rounds")
    print()
    hdr = "%7s %13s %13s %8s %13s %13s %8s" % ("streams", "saf-net Gb/s", "base Gb/s", "ratio", "saf-net s/GB", "base s/GB", "ratio")
    print(hdr)
    print("-" * len(hdr))
    for n in stream_counts:
        a, b = med[("saf-net", n)], med[("saf-base", n)]
        gr = a["gbps"] / b["gbps"] if a["gbps"] and b["gbps"] else None
        cr = a["cpu_per_gb"] / b["cpu_per_gb"] if a["cpu_per_gb"] and b["cpu_per_gb"] else None
        print("%7d %13s %13s %8s %13s %13s %8s" % (n, fmt(a["gbps"], ".2f"), fmt(b["gbps"], ".2f"), fmt(gr, ".3f"),
                                                  fmt(a["cpu_per_gb"], ".3f"), fmt(b["cpu_per_gb"], ".3f"), fmt(cr, ".3f")))
    print()


def memory_limit(args, tool, streams):
    """The peak-RSS limit in MiB for a saf-net row, None for the others (shown for reference)."""
    if tool not in ("saf-net", "saf-base"):
        return None
    if args.goals:
        return GOAL_MEMORY_MIB.get(streams)
    return args.limit_mib


def cmd_memory(args):
    print("Server memory: fresh server per row, one %s s test at the row's stream count, VmHWM read from /proc/<pid>/status" % args.time)
    print("after the client finished and before the server was stopped. Per stream = (peak - idle) / streams.")
    if args.goals:
        print("Limits: issue #21's goal 4, saf-net's peak <= %s." % ", ".join("%d MiB at %d streams" % (v, k) for k, v in sorted(GOAL_MEMORY_MIB.items())))
    print()
    hdr = "%-8s %7s %10s %10s %10s %14s %11s %s" % ("tool", "streams", "idle MiB", "peak MiB", "after MiB", "per stream KiB", "Gbit/s", "verdict")
    print(hdr)
    print("-" * len(hdr))
    with open(args.results, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 7:
                continue
            tool, streams, status, idle_kib, hwm_kib, rss_kib, gbps = p[:7]
            if status != "OK":
                print("%-8s %7s %s" % (tool, streams, "FAILED: " + " ".join(p[7:])))
                continue
            n, idle, hwm, rss = int(streams), int(idle_kib), int(hwm_kib), int(rss_kib)
            per = (hwm - idle) / float(n)
            limit = memory_limit(args, tool, n)
            verdict = ""
            if limit is not None:
                goal = "goal 4, " if args.goals else ""
                verdict = "%s%s (%s %d MiB)" % (goal, verdict_word(hwm <= limit * 1024), "<=" if hwm <= limit * 1024 else ">", limit)
            print("%-8s %7d %10.1f %10.1f %10.1f %14.0f %11s %s" % (tool, n, idle / 1024.0, hwm / 1024.0, rss / 1024.0, per, gbps, verdict))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parse")
    p.add_argument("tool")
    p.add_argument("streams", type=int)
    p.add_argument("file")
    p.set_defaults(func=cmd_parse)
    s = sub.add_parser("summary")
    s.add_argument("results")
    s.add_argument("--streams", default="1 4")
    s.add_argument("--rounds", type=int, default=5)
    s.add_argument("--baseline", action="store_true", help="the results hold saf-base runs too")
    s.add_argument("--tools", default="", help="tools in report order, space separated (default: the four at their defaults)")
    s.add_argument("--best", action="store_true", help="judge issue #21's goals 1-3 and 6 (peers at any setting)")
    s.add_argument("--scale", type=int, default=0, help="judge goal 5: saf-net's -P N median >= its -P 4 median")
    s.set_defaults(func=cmd_summary)
    m = sub.add_parser("memory")
    m.add_argument("results")
    m.add_argument("--limit-mib", type=int, default=32)
    m.add_argument("--goals", action="store_true", help="judge saf-net against goal 4 (8 MiB at 16 streams, 16 at 128)")
    m.add_argument("--time", default="5")
    m.set_defaults(func=cmd_memory)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
