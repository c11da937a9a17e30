#!/usr/bin/env bash
# UDP on loopback, saf-net side by side with iperf3 -u and iperf (2) -u.
#
# 1. Rate search: for every target rate on a ladder, every tool runs one test per round, tools interleaved
#    (the order rotates each round). A tool "reaches" a rate when its median receiver-side loss over the rounds
#    is below 1 %; its score is the highest median receiver throughput among the rates it reaches.
# 2. Fixed 1 Gbit/s: ROUNDS_FIXED interleaved runs per tool; median loss, jitter and receiver throughput.
#
# Every figure is the RECEIVER's: saf-net's end.sum (receiver totals), iperf3's end.sum_received plus the
# server-reported loss/jitter in end.sum, iperf2's server-side CSV line. All tools send 1472-byte datagrams,
# saf-net's default on loopback (what a 1500-byte Ethernet MTU carries); iperf3 would pick 32 KiB on loopback
# and iperf2 1470. Each tool keeps its other defaults (socket buffers, pacing); the "-w4M" rows give the peers
# the 4 MiB receive buffer saf-net asks for by default (the kernel caps it at net.core.rmem_max).
#
# Traffic goes to 127.0.0.1 only; every loop is bounded; the servers are stopped by PID on exit.
#
# Usage: bench/udp-peers.sh [OUTPUT_FILE]
#   env: SECS (3), ROUNDS (3), ROUNDS_FIXED (5), RATES ("500M 1G 1.5G 2G 2.5G 3G 4G 5G"), SAF_NET (binary path)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-3}
ROUNDS=${ROUNDS:-3}
ROUNDS_FIXED=${ROUNDS_FIXED:-5}
RATES=${RATES:-"500M 1G 1.5G 2G 2.5G 3G 4G 5G"}
SIZE=1472
OUT=${1:-}

need=()
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
command -v iperf >/dev/null 2>&1 || need+=(iperf)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${SAF_NET:-}" ]; then
    cargo build --release -q
    SAF_NET=target/release/saf-net
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

P_SAF=$(free_port); P_IP3=$(free_port); P_IP2=$(free_port); P_IP2W=$(free_port)
"$SAF_NET" server -B 127.0.0.1 -p "$P_SAF" 2>"$WORK/saf-server.log" & PIDS+=($!)
TOOLS=(saf-net)
if command -v iperf3 >/dev/null 2>&1; then
    iperf3 -s -B 127.0.0.1 -p "$P_IP3" >"$WORK/iperf3-server.log" 2>&1 & PIDS+=($!)
    TOOLS+=(iperf3 iperf3-w4M)
fi
if command -v iperf >/dev/null 2>&1; then
    iperf -s -u -B 127.0.0.1 -p "$P_IP2" -y C >"$WORK/iperf2-server.csv" 2>"$WORK/iperf2-server.err" & PIDS+=($!)
    iperf -s -u -B 127.0.0.1 -p "$P_IP2W" -w 4M -y C >"$WORK/iperf2w-server.csv" 2>"$WORK/iperf2w-server.err" & PIDS+=($!)
    TOOLS+=(iperf2 iperf2-w4M)
fi
sleep 1

# run TOOL RATE -> prints one TSV line: receiver_bps lost_percent jitter_ms (or FAIL reason)
run() {
    local tool=$1 rate=$2 raw="$WORK/raw"
    case $tool in
        saf-net)
            timeout $((SECS + 30)) "$SAF_NET" client 127.0.0.1 -p "$P_SAF" -u -b "$rate" -t "$SECS" -i 0 -J \
                --no-history >"$raw" 2>/dev/null || true
            python3 bench/udp_peers.py parse saf-net "$raw" ;;
        iperf3|iperf3-w4M)
            local w=(); [ "$tool" = iperf3-w4M ] && w=(-w 4M)
            timeout $((SECS + 30)) iperf3 -c 127.0.0.1 -p "$P_IP3" -u -b "$rate" -l $SIZE -t "$SECS" "${w[@]}" -J \
                >"$raw" 2>/dev/null || true
            python3 bench/udp_peers.py parse iperf3 "$raw" ;;
        iperf2|iperf2-w4M)
            local port=$P_IP2 log="$WORK/iperf2-server.csv"
            [ "$tool" = iperf2-w4M ] && { port=$P_IP2W; log="$WORK/iperf2w-server.csv"; }
            local before; before=$(wc -l <"$log")
            timeout $((SECS + 30)) iperf -c 127.0.0.1 -p "$port" -u -b "$rate" -l $SIZE -t "$SECS" -y C \
                >/dev/null 2>&1 || true
            sleep 0.5
            tail -n +"$((before + 1))" "$log" >"$raw"
            python3 bench/udp_peers.py parse iperf2 "$raw" ;;
    esac
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
n=${#TOOLS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
    for rate in $RATES; do
        for ((k = 0; k < n; k++)); do
            tool=${TOOLS[$(((k + round) % n))]}
            printf 'search\t%s\t%s\t%s\t%s\n' "$tool" "$rate" "$round" "$(run "$tool" "$rate")" >>"$RESULTS"
        done
    done
    echo "rate search: round $round of $ROUNDS done" >&2
done
for ((round = 1; round <= ROUNDS_FIXED; round++)); do
    for ((k = 0; k < n; k++)); do
        tool=${TOOLS[$(((k + round) % n))]}
        printf 'fixed\t%s\t%s\t%s\t%s\n' "$tool" 1G "$round" "$(run "$tool" 1G)" >>"$RESULTS"
    done
done

report() {
    echo "# saf-net UDP vs iperf3 -u and iperf (2) -u on loopback"
    echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "buffers: net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max) rmem_default=$(cat /proc/sys/net/core/rmem_default) wmem_max=$(cat /proc/sys/net/core/wmem_max)"
    echo "tools:   $("$SAF_NET" --version), $(iperf3 --version 2>/dev/null | head -1), $(iperf -v 2>&1 | head -1)"
    echo "load:    $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after (1/5/15-minute load averages; other work shares these CPUs)"
    echo "method:  ${SECS} s per run, datagrams of ${SIZE} bytes, rate ladder: ${RATES}; ${ROUNDS} interleaved rounds (search), ${ROUNDS_FIXED} (fixed 1 Gbit/s)"
    echo
    python3 bench/udp_peers.py summary "$RESULTS"
    echo
    echo "## Raw runs (phase, tool, target, round, status, receiver bit/s, lost %, jitter ms)"
    cat "$RESULTS"
}
if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")"
    report | tee "$OUT"
else
    report
fi
