#!/usr/bin/env python3
"""saf-net's -J against real iperf3's, through the PyPI iperf3 package's TestResult (tests/iperf3_json.rs).

For each mode, runs iperf3 twice and saf-net once against servers on loopback, both paced to the same -b so
the figures are comparable, and checks that every TestResult attribute is present in saf-net's result with
the same type as in iperf3's, that the measured figures agree within the iperf3 runs' spread (at least 10%),
and that start.timestamp.time parses with iperf3's strptime format. Prints one line per check; exits 1 on
any failure.
"""
import argparse
import json
import subprocess
import sys
import time

import iperf3

TIME_FORMAT = "%a, %d %b %Y %H:%M:%S GMT"
# Modes: (name, flags for both programs). Paced so both programs aim at the same figures.
MODES = [
    ("tcp", ["-b", "300M"]),
    ("tcp -P 4", ["-P", "4", "-b", "100M"]),
    ("tcp -R", ["-R", "-b", "300M"]),
    ("tcp --bidir", ["--bidir", "-b", "200M"]),
    ("udp", ["-u", "-b", "100M", "-l", "1400"]),
]
# Who ran, and when: not compared by value.
IDENTITY = {"text", "json", "time", "timesecs", "system_info", "version", "local_host", "local_port",
            "remote_host", "remote_port"}
# iperf3 keeps these as doubles, which cJSON writes without a fraction when whole (0, 2): int or float.
DOUBLES = {"local_cpu_total", "local_cpu_user", "local_cpu_system", "remote_cpu_total", "remote_cpu_user",
           "remote_cpu_system", "sent_bps", "sent_kbps", "sent_Mbps", "sent_kB_s", "sent_MB_s",
           "received_bps", "received_kbps", "received_Mbps", "received_kB_s", "received_MB_s", "bps", "kbps",
           "Mbps", "kB_s", "MB_s", "jitter_ms", "lost_percent", "seconds"}
# Figures both runs measure, compared within the spread.
FIGURES = ["sent_bytes", "sent_bps", "received_bytes", "received_bps", "bytes", "bps", "packets"]
# Settings both runs must show alike.
SETTINGS = ["protocol", "num_streams", "omit", "duration", "reverse", "type", "error"]
SECONDS = 2


def kind(name, value):
    if name in DOUBLES and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return type(value).__name__


def attributes(result):
    names = [n for n in dir(result) if not n.startswith("_")]
    return {n: getattr(result, n) for n in names}


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 30)
    if out.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {out.returncode}: {out.stderr.strip()}")
    return out.stdout


def spread(values):
    mean = sum(values) / len(values)
    return (max(values) - min(values)) / mean if mean else 0.0


def compare(mode, ours, theirs, failures):
    mine = attributes(ours)
    runs = [attributes(t) for t in theirs]
    for name, value in runs[0].items():
        if name not in mine:
            failures.append(f"{mode}: attribute {name} missing (iperf3: {value!r})")
        elif kind(name, mine[name]) != kind(name, value):
            failures.append(f"{mode}: {name} is {kind(name, mine[name])} ({mine[name]!r}), "
                            f"iperf3's is {kind(name, value)} ({value!r})")
    for name in SETTINGS:
        if name in runs[0] and mine.get(name) != runs[0][name]:
            failures.append(f"{mode}: {name} is {mine.get(name)!r}, iperf3's {runs[0][name]!r}")
    for name in FIGURES:
        if name not in runs[0]:
            continue
        values = [r[name] for r in runs]
        tolerance = max(0.10, 2 * spread(values))
        mean = sum(values) / len(values)
        off = abs(mine[name] - mean) / mean if mean else 0.0
        line = f"{mode}: {name} {mine[name]:.4g} vs iperf3 {mean:.4g} ({off:.1%} off, tolerance {tolerance:.1%})"
        print(("ok    " if off <= tolerance else "FAIL  ") + line)
        if off > tolerance:
            failures.append(line)
    try:
        time.strptime(ours.time, TIME_FORMAT)
    except ValueError as e:
        failures.append(f"{mode}: start.timestamp.time {ours.time!r} does not parse: {e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--saf-net", required=True)
    ap.add_argument("--saf-net-port", required=True)
    ap.add_argument("--iperf3", default="iperf3")
    ap.add_argument("--iperf3-port", required=True)
    a = ap.parse_args()
    failures = []
    for mode, flags in MODES:
        common = ["-t", str(SECONDS), "-J"] + flags
        theirs = [iperf3.TestResult(run([a.iperf3, "-c", "127.0.0.1", "-p", a.iperf3_port] + common))
                  for _ in range(2)]
        ours = iperf3.TestResult(run([a.saf_net, "client", "127.0.0.1", "-p", a.saf_net_port, "--no-history",
                                      "--no-mtu-check"] + common))
        compare(mode, ours, theirs, failures)
    for f in failures:
        print("FAIL  " + f)
    print(f"{len(MODES)} modes, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
