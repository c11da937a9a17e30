#!/usr/bin/env python3
"""Parsing and statistics helper for bench/udp-peers.sh (standard library only).

  parse TOOL FILE     one run's raw output -> "OK<TAB>receiver_bps<TAB>lost_percent<TAB>jitter_ms" or "FAIL<TAB>why"
                      TOOL: saf-net (client -J), iperf3 (client -J), iperf2 (the server's -y C line for this run)
  summary RESULTS     medians per tool: the rate search table and the fixed 1 Gbit/s table, with PASS/FAIL
                      for "saf-net reaches at least the best peer's rate"
"""

import json
import statistics
import sys

RATE_UNITS = {"K": 1e3, "M": 1e6, "G": 1e9}


def out(*fields):
    print("\t".join(str(f) for f in fields))


def parse(tool, path):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        return out("FAIL", "no output: %s" % e)
    if tool in ("saf-net", "iperf3"):
        try:
            doc = json.loads(text)
        except ValueError as e:
            return out("FAIL", "%s: no JSON document (%s)" % (tool, e))
        if doc.get("error"):
            return out("FAIL", "%s: %s" % (tool, str(doc["error"])[:120]))
        end = doc.get("end") or {}
        s = end.get("sum") or {}
        rx = end.get("sum_received") or s
        if "lost_percent" not in s:
            return out("FAIL", "%s: no UDP summary" % tool)
        return out("OK", "%.0f" % rx["bits_per_second"], "%.4f" % s["lost_percent"], "%.5f" % s["jitter_ms"])
    if tool == "iperf2":
        lines = [l for l in text.splitlines() if l.count(",") >= 13]
        if not lines:
            return out("FAIL", "iperf2: no server report")
        f = lines[-1].split(",")
        bps, jitter, lost, total, pct = float(f[8]), float(f[9]), int(f[10]), int(f[11]), float(f[12])
        if total <= 0:
            return out("FAIL", "iperf2: empty server report")
        return out("OK", "%.0f" % bps, "%.4f" % pct, "%.5f" % jitter)
    return out("FAIL", "unknown tool " + tool)


def rate_value(text):
    t = text.strip()
    return float(t[:-1]) * RATE_UNITS[t[-1].upper()] if t[-1].upper() in RATE_UNITS else float(t)


def load(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 5:
            continue
        phase, tool, rate, rnd, status = f[:5]
        row = {"phase": phase, "tool": tool, "rate": rate, "round": rnd, "ok": status == "OK"}
        if row["ok"]:
            row.update(bps=float(f[5]), lost=float(f[6]), jitter=float(f[7]))
        rows.append(row)
    return rows


def med(values):
    return statistics.median(values) if values else float("nan")


def summary(path):
    rows = load(path)
    tools = []
    for r in rows:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    search = [r for r in rows if r["phase"] == "search"]
    rates = sorted({r["rate"] for r in search}, key=rate_value)
    print("## Rate search: highest receiver throughput with median loss < 1 %")
    print()
    print("%-12s %14s %18s %12s %14s   %s" % ("tool", "best target", "median received", "median loss", "median jitter",
                                          "per target: median loss % (runs ok)"))
    best = {}
    for tool in tools:
        cells = []
        top = None
        for rate in rates:
            runs = [r for r in search if r["tool"] == tool and r["rate"] == rate]
            ok = [r for r in runs if r["ok"]]
            if not ok:
                cells.append("%s: fail" % rate)
                continue
            loss = med([r["lost"] for r in ok])
            got = med([r["bps"] for r in ok])
            jit = med([r["jitter"] for r in ok])
            cells.append("%s: %.2f (%d/%d)" % (rate, loss, len(ok), len(runs)))
            # A rate counts only when most runs worked and their median loss is below 1 %.
            if len(ok) * 2 > len(runs) and loss < 1.0 and (top is None or got > top[1]):
                top = (rate, got, loss, jit)
        best[tool] = top
        if top:
            print("%-12s %14s %13.0f Mbit/s %11.3f%% %11.4f ms   %s" % (
                tool, top[0], top[1] / 1e6, top[2], top[3], "; ".join(cells)))
        else:
            print("%-12s %14s %18s %12s %14s   %s" % (tool, "none", "-", "-", "-", "; ".join(cells)))
    print()
    fixed = [r for r in rows if r["phase"] == "fixed"]
    print("## Fixed target 1 Gbit/s: medians")
    print()
    print("%-12s %18s %12s %14s %8s" % ("tool", "received", "loss", "jitter", "runs ok"))
    for tool in tools:
        runs = [r for r in fixed if r["tool"] == tool]
        ok = [r for r in runs if r["ok"]]
        if not ok:
            print("%-12s %18s %12s %14s %5d/%d" % (tool, "-", "-", "-", 0, len(runs)))
            continue
        print("%-12s %13.0f Mbit/s %11.3f%% %11.4f ms %5d/%d" % (
            tool, med([r["bps"] for r in ok]) / 1e6, med([r["lost"] for r in ok]), med([r["jitter"] for r in ok]),
            len(ok), len(runs)))
    print()
    mine = best.get("saf-net")
    peers = [(t, b) for t, b in best.items() if t != "saf-net" and b]
    if not peers:
        print("VERDICT: no peer result to compare with")
        return
    peer_tool, peer = max(peers, key=lambda p: p[1][1])
    if mine and mine[1] >= peer[1]:
        print("VERDICT: PASS: saf-net reaches %.0f Mbit/s with < 1 %% loss; the best peer (%s) %.0f Mbit/s (x%.2f)" % (
            mine[1] / 1e6, peer_tool, peer[1] / 1e6, mine[1] / peer[1]))
    else:
        print("VERDICT: FAIL: saf-net %s; the best peer (%s) reaches %.0f Mbit/s" % (
            "reaches %.0f Mbit/s" % (mine[1] / 1e6) if mine else "reaches no rate", peer_tool, peer[1] / 1e6))


def main(argv):
    if len(argv) == 4 and argv[1] == "parse":
        return parse(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "summary":
        return summary(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
