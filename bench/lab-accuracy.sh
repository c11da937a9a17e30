#!/usr/bin/env bash
# Lab accuracy: saf-net vs iperf3, interleaved, in `saf-net lab up 1gbe` and `saf-net lab up 10gbe-jumbo`.
# Prints every run's receiver goodput, the medians and their share of the TCP goodput ceiling.
#
# Usage (root):  bench/lab-accuracy.sh            RUNS=7 SECS=10 by default (the issue asks for a median of >= 5)
#                RUNS=7 SECS=5 PROFILES="1gbe" bench/lab-accuracy.sh
# Needs: iperf3, python3 (to read the JSON), a release build (built here if missing).
# Traffic stays inside the lab's own namespaces (10.77.K.1 -> 10.77.K.2).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-7}
SECS=${SECS:-10}
PROFILES=${PROFILES:-"1gbe 10gbe-jumbo"}
LAB=${LAB:-bench}
SAF=${SAF_NET:-target/release/saf-net}

[ "$(id -u)" = 0 ] || { echo "bench/lab-accuracy.sh needs root (it builds a lab)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 is not installed" >&2; exit 1; }
[ -x "$SAF" ] || cargo build --release --quiet
SAF=$(realpath "$SAF")

cleanup() { "$SAF" lab down --name "$LAB" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

# receiver goodput in Mbit/s from an iperf3-layout JSON document on stdin
rx() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
pct() { awk -v x="$1" -v c="$2" 'BEGIN {printf "%.2f", 100*x/c}'; }

echo "saf-net lab accuracy: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Linux $(uname -r), $("$SAF" --version), $(iperf3 --version | head -1 | cut -d' ' -f1-2)"
echo "$RUNS runs per tool, interleaved (saf-net, iperf3, saf-net, ...), ${SECS} s each, 1 stream, IPv4; receiver goodput in Mbit/s"

for profile in $PROFILES; do
    "$SAF" lab up "$profile" --name "$LAB" > /tmp/saf-net-bench-up.txt
    far=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["far_addr"])' "/run/saf-net/labs/$LAB/state.json")
    ceiling=$(python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["ceiling_mbps"])' "/run/saf-net/labs/$LAB/state.json")
    "$SAF" lab exec --name "$LAB" --host far -- iperf3 -s -D -p 5201
    sleep 0.5
    echo
    echo "== saf-net lab up $profile: far $far, TCP goodput ceiling $ceiling Mbit/s =="
    grep -E '^  (shaping|switch|tcp)' /tmp/saf-net-bench-up.txt
    printf '%-6s %12s %12s\n' run saf-net iperf3
    s=(); i=()
    for n in $(seq "$RUNS"); do
        a=$("$SAF" lab exec --name "$LAB" -- "$SAF" client "$far" -t "$SECS" -J --no-history | rx)
        b=$("$SAF" lab exec --name "$LAB" -- iperf3 -c "$far" -p 5201 -t "$SECS" -J | rx)
        s+=("$a"); i+=("$b")
        printf '%-6s %12s %12s\n' "$n" "$a" "$b"
    done
    ms=$(median "${s[@]}"); mi=$(median "${i[@]}")
    xs=$(printf '%s\n' "${s[@]}" | sort -g | tail -1); xi=$(printf '%s\n' "${i[@]}" | sort -g | tail -1)
    printf '%-6s %12s %12s\n' median "$ms" "$mi"
    printf '%-6s %11s%% %11s%%\n' "% ceil" "$(pct "$ms" "$ceiling")" "$(pct "$mi" "$ceiling")"
    printf '%-6s %12s %12s\n' max "$xs" "$xi"
    above=$(awk -v a="$xs" -v b="$xi" -v c="$ceiling" 'BEGIN {print ((a>c||b>c) ? "YES" : "no")}')
    echo "any run above the ceiling: $above"
    case "$profile" in
        1gbe) awk -v m="$ms" -v n="$mi" -v c="$ceiling" 'BEGIN {
                printf "saf-net median within 0.5 %% of the ceiling: %s; iperf3 median within 0.5 %%: %s\n",
                  (m >= 0.995*c && m <= c) ? "yes" : "NO", (n >= 0.995*c && n <= c) ? "yes" : "NO" }' ;;
        10gbe-jumbo) awk -v m="$ms" -v n="$mi" -v c="$ceiling" 'BEGIN {
                printf "saf-net median >= 97 %% of the ceiling: %s; saf-net median >= iperf3 median: %s\n",
                  (m >= 0.97*c) ? "yes" : "NO", (m >= n) ? "yes" : "NO" }' ;;
    esac
    "$SAF" lab down --name "$LAB" >/dev/null
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
