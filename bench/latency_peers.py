#!/usr/bin/env python3
"""Parsing and statistics helper for bench/latency-peers.sh (standard library only).

Subcommands
  parse TOOL FILE
      Read one run's client output and print one tab-separated line:
        OK <p50_us> <p99_us> <min_us> <samples> <lost> <probes_per_s>
      or
        FAIL <reason>
      TOOL is saf-net (FILE = the `saf-net latency -J` document) or sockperf (FILE = the client's
      `sockperf ping-pong --full-rtt` output, stdout + stderr). All figures are FULL round trips in
      microseconds: saf-net's end.rtt.* are RTTs in us (README, `latency -J`); sockperf prints RTTs only
      with --full-rtt ("avg-rtt", "Round trip is ... usec"), otherwise half of them ("avg-lat",
      "Latency is ... usec"), so a sockperf output without the round-trip wording is rejected.

  summary RESULTS_TSV --rounds N --threshold 1.10 --min-rounds 3
      Print medians per tool and mode (p50, p99, min, rate, client CPU) and the ratio saf-net p50 /
      sockperf p50 per mode with PASS/FAIL against the threshold; with the --busy rows, the same for
      saf-net-busy / sockperf-nb, and what busy polling gave saf-net (saf-net p50 / saf-net-busy p50).
"""

import argparse
import json
import re
import statistics
import sys

TOOLS = ["saf-net", "sockperf"]
# (saf-net row, sockperf row) judged against each other; the busy pair only when bench --busy ran it.
PAIRS = [("saf-net", "sockperf"), ("saf-net-busy", "sockperf-nb")]
MODES = ["udp", "tcp"]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def fail(reason):
    print("FAIL\t" + str(reason).replace("\t", " ").replace("\n", " ")[:200])
    return 0


def ok(p50, p99, mn, samples, lost, rate):
    print("OK\t%.3f\t%.3f\t%.3f\t%d\t%d\t%.0f" % (p50, p99, mn, samples, lost, rate))
    return 0


def parse_saf(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        return fail("cannot read output: %s" % e)
    try:
        doc = json.loads(text)
    except ValueError:
        return fail("output is not a JSON document: %s" % text.strip()[:120])
    if doc.get("error"):
        return fail("saf-net error: %s" % doc["error"])
    meta = doc.get("saf_net") or {}
    if meta.get("complete") is False:
        return fail("saf-net reports an incomplete run (saf_net.complete = false)")
    end = doc.get("end") or {}
    rtt = end.get("rtt") or {}
    try:
        p50 = float(rtt["p50_us"])
        p99 = float(rtt["p99_us"])
        mn = float(rtt["min_us"])
        samples = int(rtt["samples"])
    except (KeyError, TypeError, ValueError):
        return fail("no end.rtt.p50_us / p99_us / min_us / samples in the document")
    if samples <= 0:
        return fail("no answered probes")
    lost = int(end.get("lost") or 0)
    rate = float(end.get("achieved_rate_per_second") or 0.0)
    return ok(p50, p99, mn, samples, lost, rate)


def parse_sockperf(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = ANSI.sub("", f.read())
    except OSError as e:
        return fail("cannot read output: %s" % e)
    if "Latency is" in text or "avg-lat" in text:
        return fail("sockperf printed one-way latency (half the RTT): run it with --full-rtt")
    m = re.search(r"Summary: Round trip is\s+([0-9.]+)\s+usec", text)
    if not m:
        last = [l for l in text.splitlines() if l.strip()]
        return fail("no 'Round trip is ... usec' summary; last line: %s" % (last[-1] if last else "(empty)"))

    def pct(label):
        mm = re.search(r"--->\s+percentile\s+" + re.escape(label) + r"\s*=\s*([0-9.]+)", text)
        return float(mm.group(1)) if mm else None

    p50 = pct("50.000")
    p99 = pct("99.000")
    mm = re.search(r"--->\s+<MIN> observation\s*=\s*([0-9.]+)", text)
    mn = float(mm.group(1)) if mm else None
    mm = re.search(r"Total\s+(\d+)\s+observations", text)
    samples = int(mm.group(1)) if mm else 0
    if p50 is None or p99 is None or mn is None or samples <= 0:
        return fail("sockperf output lacks percentile 50.000 / 99.000 / <MIN> / observation count")
    mm = re.search(r"# dropped messages = (\d+)", text)
    lost = int(mm.group(1)) if mm else 0
    # Rate over sockperf's valid (measured, post-warm-up) window.
    mm = re.search(r"\[Valid Duration\] RunTime=([0-9.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", text)
    rate = int(mm.group(3)) / float(mm.group(1)) if mm and float(mm.group(1)) > 0 else 0.0
    return ok(p50, p99, mn, samples, lost, rate)


def fmt(x, nd=2):
    return "-" if x is None else ("%.*f" % (nd, x))


def med(xs):
    return statistics.median(xs) if xs else None


def summary(path, rounds, threshold, min_rounds):
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            vals = line.rstrip("\n").split("\t")
            vals += [""] * (len(header) - len(vals))
            rows.append(dict(zip(header, vals)))
    data = {}
    failed = {}
    for r in rows:
        key = (r["tool"], r["mode"])
        if r["status"] != "OK":
            failed[key] = failed.get(key, 0) + 1
            continue
        d = data.setdefault(key, {"p50": [], "p99": [], "min": [], "rate": [], "cpu": []})
        d["p50"].append(float(r["p50_us"]))
        d["p99"].append(float(r["p99_us"]))
        d["min"].append(float(r["min_us"]))
        d["rate"].append(float(r["rate"]))
        d["cpu"].append(float(r["cpu_client"] or 0))

    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    print("Medians over the rounds (full round trips, microseconds; rate = answered probes per second;")
    print("client = the client's CPU-seconds per run)")
    print("  %-5s %-12s %5s %10s %10s %10s %10s %7s %20s" % (
        "mode", "tool", "runs", "p50", "p99", "min", "rate/s", "client", "p50 range (min-max)"))
    meds = {}
    for mode in MODES:
        for tool in tools:
            d = data.get((tool, mode))
            nfail = failed.get((tool, mode), 0)
            if not d:
                print("  %-5s %-12s %5s %10s %10s %10s %10s %7s %20s" % (mode, tool, "0", "-", "-", "-", "-", "-", "-")
                      + ("   (%d FAILED)" % nfail if nfail else ""))
                continue
            m50 = med(d["p50"])
            meds[(tool, mode)] = (m50, len(d["p50"]))
            rng = "%.2f-%.2f" % (min(d["p50"]), max(d["p50"]))
            print("  %-5s %-12s %5d %10s %10s %10s %10.0f %7.2f %20s" % (
                mode, tool, len(d["p50"]), fmt(m50), fmt(med(d["p99"])), fmt(med(d["min"])), med(d["rate"]),
                med(d["cpu"]), rng)
                + ("   (%d FAILED)" % nfail if nfail else ""))
    print()
    for ours, theirs in PAIRS:
        if any(t not in tools for t in (ours, theirs)):
            continue
        print("Verdict: %s p50 / %s p50 (median of each tool's per-run p50), must be <= %.2f" % (ours, theirs, threshold))
        for mode in MODES:
            verdict(rows, data, meds, mode, ours, theirs, threshold, min_rounds)
    if "saf-net-busy" in tools:
        print("What busy polling gave saf-net: saf-net p50 / saf-net-busy p50 (above 1 = busy polling is faster)")
        for mode in MODES:
            a, b = meds.get(("saf-net", mode)), meds.get(("saf-net-busy", mode))
            if a and b:
                cpu = (med(data[("saf-net", mode)]["cpu"]), med(data[("saf-net-busy", mode)]["cpu"]))
                print("  %-5s %7.2f us / %7.2f us = %.2f; client CPU-s per run %.2f -> %.2f" % (
                    mode, a[0], b[0], a[0] / b[0], cpu[0], cpu[1]))
    return 0


def verdict(rows, data, meds, mode, ours, theirs, threshold, min_rounds):
    """One mode's ratio of our p50 to the peer's, with PASS/FAIL and the per-round context."""
    s = meds.get((ours, mode))
    p = meds.get((theirs, mode))
    label = "UDP" if mode == "udp" else "TCP (sockperf --tcp)"
    if not s or not p:
        print("  %-22s n/a: no successful runs for %s" % (label, ours if not s else theirs))
        return
    ratio = s[0] / p[0]
    n = min(s[1], p[1])
    if n < min_rounds:
        v = "n/a (only %d good round(s); the check needs >= %d)" % (n, min_rounds)
    else:
        v = "PASS" if ratio <= threshold else "FAIL"
    extra = ""
    if ratio > threshold:
        extra = "; %.2f us (%.1f%%) above %s, %.2f us over the %.2fx allowance" % (
            s[0] - p[0], (ratio - 1) * 100, theirs, s[0] - threshold * p[0], threshold)
    print("  %-22s %s %7.2f us / %s %7.2f us = %.3f  %s%s" % (label, ours, s[0], theirs, p[0], ratio, v, extra))
    # Context, not part of the verdict: the same ratio within each round, and of the median minimum RTT
    # (the least noise-prone figure: the fixed per-probe cost of each tool's path).
    per_round = []
    for rr in sorted({int(r["round"]) for r in rows}):
        a = [float(r["p50_us"]) for r in rows if r["status"] == "OK" and r["tool"] == ours
             and r["mode"] == mode and int(r["round"]) == rr]
        b = [float(r["p50_us"]) for r in rows if r["status"] == "OK" and r["tool"] == theirs
             and r["mode"] == mode and int(r["round"]) == rr]
        per_round.append("%.2f" % (a[0] / b[0]) if a and b else "-")
    mins = (med(data[(ours, mode)]["min"]), med(data[(theirs, mode)]["min"]))
    print("  %-22s   p50 ratio per round: %s; min-RTT ratio %.3f (%.2f / %.2f us)" % (
        "", " ".join(per_round), mins[0] / mins[1], mins[0], mins[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parse")
    p.add_argument("tool", choices=TOOLS)
    p.add_argument("file")
    s = sub.add_parser("summary")
    s.add_argument("results")
    s.add_argument("--rounds", type=int, default=0)
    s.add_argument("--threshold", type=float, default=1.10)
    s.add_argument("--min-rounds", type=int, default=3)
    a = ap.parse_args()
    if a.cmd == "parse":
        return parse_saf(a.file) if a.tool == "saf-net" else parse_sockperf(a.file)
    return summary(a.results, a.rounds, a.threshold, a.min_rounds)


if __name__ == "__main__":
    sys.exit(main())
