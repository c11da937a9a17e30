#!/usr/bin/env python3
"""Parsing and statistics helper for bench/compare-peers.sh (standard library only).

Subcommands
  parse TOOL STREAMS FILE
      Read one run's raw output and print one tab-separated line:
        OK <bits_per_second> <bytes> <per_stream_bps,comma,separated or ->
      or
        FAIL <reason>
      TOOL is saf-net | saf-base | iperf3 | iperf2 | nuttcp. FILE is:
        saf-net, saf-base (another saf-net build), iperf3: the client's -J document (stdout);
        iperf2:          the slice of the server's `-y C` log that this run produced;
        nuttcp:          the client's `-v -fparse` output (which relays the server's nuttcp-r lines).
      Every figure is the RECEIVER's (see the comment block at the top of compare-peers.sh).

  summary RESULTS_TSV --streams "1 4" --rounds N
      Print medians per tool and stream count, the saf-net / best-peer ratio with PASS/FAIL,
      and CPU-seconds per GB with PASS/FAIL.

  memory MEMORY_TSV --limit-mib 32
      Print the server peak-RSS table with PASS/FAIL for saf-net.
"""

import argparse
import json
import statistics
import sys

TOOLS = ["saf-net", "iperf3", "iperf2", "nuttcp"]
PEERS = ["iperf3", "iperf2", "nuttcp"]
# Goodput thresholds from the issue: saf-net / best peer.
THRESHOLDS = {1: 1.10, 4: 1.00}
DEFAULT_THRESHOLD = 1.00


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
    if args.tool in ("saf-net", "saf-base", "iperf3"):
        return parse_json_doc(args.file, args.tool)
    if args.tool == "iperf2":
        return parse_iperf2(args.file, args.streams)
    if args.tool == "nuttcp":
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


def cmd_summary(args):
    rows = load_results(args.results)
    stream_counts = [int(s) for s in args.streams.split()]
    med = {}  # (tool, streams) -> dict
    print("Medians over OK runs (receiver goodput; CPU = client + server CPU-seconds; GB = 10^9 bytes received)")
    print()
    hdr = "%-8s %7s %6s %11s %11s %11s %9s %11s %11s" % (
        "tool", "streams", "ok/n", "med Gbit/s", "min Gbit/s", "max Gbit/s", "spread%", "med CPU s", "med CPU s/GB")
    print(hdr)
    print("-" * len(hdr))
    tools = TOOLS[:1] + ["saf-base"] + TOOLS[1:] if args.baseline else TOOLS
    for n in stream_counts:
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
            print(
                "%-8s %7d %6s %11s %11s %11s %9s %11s %11s"
                % (tool, n, "%d/%d" % (m["ok"], m["n"]), fmt(m["gbps"], ".2f"), fmt(m["min"], ".2f"),
                   fmt(m["max"], ".2f"), fmt(m["spread"], ".0f"), fmt(m["cpu"], ".2f"), fmt(m["cpu_per_gb"], ".3f"))
            )
        print()

    verdicts = []
    print("Goodput ratio: saf-net median / best peer median")
    print()
    hdr = "%7s %13s %-9s %13s %8s %9s %s" % ("streams", "saf-net Gb/s", "best peer", "peer Gbit/s", "ratio", "needed", "verdict")
    print(hdr)
    print("-" * len(hdr))
    for n in stream_counts:
        need = THRESHOLDS.get(n, DEFAULT_THRESHOLD)
        s = med[("saf-net", n)]["gbps"]
        peers = [(med[(p, n)]["gbps"], p) for p in PEERS if med[(p, n)]["gbps"] is not None]
        if s is None or not peers:
            print("%7d %13s %-9s %13s %8s %9s %s" % (n, fmt(s, ".2f"), "-", "-", "-", ">= %.2f" % need, "NO DATA"))
            verdicts.append(False)
            continue
        best, who = max(peers)
        ratio = s / best
        v = ratio >= need
        verdicts.append(v)
        print("%7d %13.2f %-9s %13.2f %8.3f %9s %s" % (n, s, who, best, ratio, ">= %.2f" % need, "PASS" if v else "FAIL"))
    print()

    print("CPU cost: median CPU-seconds (client + server) per GB received; saf-net must be <= lowest peer")
    print()
    hdr = "%7s %13s %-9s %13s %8s %s" % ("streams", "saf-net s/GB", "lowest", "peer s/GB", "ratio", "verdict")
    print(hdr)
    print("-" * len(hdr))
    for n in stream_counts:
        s = med[("saf-net", n)]["cpu_per_gb"]
        peers = [(med[(p, n)]["cpu_per_gb"], p) for p in PEERS if med[(p, n)]["cpu_per_gb"] is not None]
        if s is None or not peers:
            print("%7d %13s %-9s %13s %8s %s" % (n, fmt(s, ".3f"), "-", "-", "-", "NO DATA"))
            verdicts.append(False)
            continue
        low, who = min(peers)
        v = s <= low
        verdicts.append(v)
        print("%7d %13.3f %-9s %13.3f %8.3f %s" % (n, s, who, low, s / low if low else float("inf"), "PASS" if v else "FAIL"))
    print()
    if args.baseline:
        baseline_table(med, stream_counts)
    if args.rounds < 5:
        print("NOTE: %d round(s) < 5: a smoke run; the issue's verdict needs the median of >= 5 rounds." % args.rounds)
    busy = sum(1 for r in rows if r["quiet"].startswith("host still busy"))
    if busy:
        print("NOTE: %d of %d run(s) started while the host was still busy with other work (see [..] on the per-run lines)." % (busy, len(rows)))
    failed = sum(1 for r in rows if r["status"] != "OK")
    if failed:
        print("NOTE: %d run(s) FAILED and were left out of the medians (see the per-run lines)." % failed)
    print("Goodput/CPU verdicts: %d PASS, %d FAIL" % (sum(verdicts), len(verdicts) - sum(verdicts)))
    return 0


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


def cmd_memory(args):
    print("Server memory: fresh server per tool, one %s-stream %s s test, VmHWM read from /proc/<pid>/status" % (args.streams, args.time))
    print("after the client finished and before the server was stopped. Per stream = (peak - idle) / streams.")
    print()
    hdr = "%-8s %10s %10s %10s %14s %11s %s" % ("tool", "idle MiB", "peak MiB", "after MiB", "per stream KiB", "Gbit/s", "verdict")
    print(hdr)
    print("-" * len(hdr))
    with open(args.results, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 6:
                continue
            tool, status, idle_kib, hwm_kib, rss_kib, gbps = p[:6]
            if status != "OK":
                print("%-8s %s" % (tool, "FAILED: " + " ".join(p[6:])))
                continue
            idle, hwm, rss = int(idle_kib), int(hwm_kib), int(rss_kib)
            per = (hwm - idle) / float(args.streams)
            verdict = ""
            if tool in ("saf-net", "saf-base"):
                verdict = "PASS (<= %d MiB)" % args.limit_mib if hwm <= args.limit_mib * 1024 else "FAIL (> %d MiB)" % args.limit_mib
            print("%-8s %10.1f %10.1f %10.1f %14.0f %11s %s" % (tool, idle / 1024.0, hwm / 1024.0, rss / 1024.0, per, gbps, verdict))
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
    s.set_defaults(func=cmd_summary)
    m = sub.add_parser("memory")
    m.add_argument("results")
    m.add_argument("--limit-mib", type=int, default=32)
    m.add_argument("--streams", type=int, default=16)
    m.add_argument("--time", default="5")
    m.set_defaults(func=cmd_memory)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
