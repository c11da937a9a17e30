#!/usr/bin/env bash
# bench/latency-peers.sh: saf-net's latency overhead against sockperf, back to back on loopback.
#
# Usage: bench/latency-peers.sh [--rounds N] [--time SECS] [--size BYTES] [--quick] [--busy US] [--idle-wait S]
#                               [--out FILE]
#   --rounds N      interleaved rounds (default 5; the verdict needs >= 3 good rounds per tool and mode)
#   --time SECS     seconds per run, the same for both tools (default 5)
#   --size BYTES    message size, the same for both tools (default 64; saf-net's minimum is 40)
#   --quick         smoke run: --rounds 3 --time 2 (later options still override)
#   --busy US       also run both tools busy polling, interleaved in the same rounds: saf-net-busy
#                   (`saf-net latency --busy-poll US`) against sockperf-nb (`sockperf ping-pong --nonblocked`)
#   --idle-wait S   before each run, wait up to S seconds (default 20; 0 = off) for the host to be quiet
#                   (< 0.3 CPUs busy over 0.5 s), since other work on a small VM skews single runs
#   --out FILE      also write the report to FILE
#
# What it checks (the requirement): with the same message size for both tools, each running back to back
# ("as fast as it goes"), interleaved, medians of >= 3 rounds:
#   * saf-net's UDP p50 RTT <= 1.10 x sockperf's UDP p50 RTT;
#   * saf-net's TCP p50 RTT <= 1.10 x sockperf's --tcp p50 RTT.
#
# Order: each round runs saf-net udp, sockperf udp, saf-net tcp, sockperf tcp; with --busy, each mode's pair
# is followed by saf-net-busy and sockperf-nb. The busy pair is judged like the plain one (saf-net-busy p50 <=
# 1.10 x sockperf-nb p50), and saf-net p50 / saf-net-busy p50 is printed as what busy polling gives.
#
# The runs (only the flags that choose address, port, protocol, size, duration and output format):
#   saf-net   saf-net latency 127.0.0.1 -p 31401 --mode udp|tcp --interval 0 --duration T --size S -J --no-history
#             --interval 0 = each probe is sent as soon as the previous one is answered. UDP: S is the datagram
#             payload; TCP: S bytes are written and S bytes read back per probe, TCP_NODELAY on both ends.
#             Figures: end.rtt.p50_us / p99_us / min_us of the -J document (HDR histogram, 3 significant
#             digits), RTT of every probe of the T seconds.
#   sockperf  sockperf ping-pong [--tcp] --full-rtt -i 127.0.0.1 -p 31411|31412 -m S -t T
#             ping-pong mode sends the next message when the last reply arrived; its default rate for
#             ping-pong is --mps max. -m S is the payload size, as for saf-net. WITHOUT --full-rtt sockperf
#             prints half the round trip ("avg-lat", "Latency is X usec"); WITH it, the full round trip
#             ("avg-rtt", "Round trip is X usec"); the parser refuses any output lacking the latter.
#             Figures: the "---> percentile 50.000 / 99.000" and "<MIN> observation" lines, in usec.
#             sockperf measures over its "valid duration": it sends warm-up messages for the first 400 ms
#             and leaves them (and the last few ms) out, so ~T - 0.45 s of samples; saf-net keeps all T s.
#   Both report microseconds of full round trip; both clients block in recv (sockperf: recvfrom(),
#   saf-net: recv() with a socket timeout) and neither is pinned to a CPU.
#   saf-net-busy  the saf-net run plus --busy-poll US: after each send the client spins on non-blocking
#             recv (MSG_DONTWAIT) for up to US microseconds before it sleeps in recv.
#   sockperf-nb   the sockperf run plus --nonblocked ("Open non-blocked sockets", sockperf ping-pong --help):
#             its client then loops on recvfrom() until the reply comes, never sleeping. (Its --lls, kernel
#             SO_BUSY_POLL, needs a NIC's NAPI queue, which loopback lacks.) Both servers stay as they are.
#
# Servers: started once at the start on fixed ports below Linux's ephemeral range (32768-60999 by
# default, where a fixed port can be taken by any outgoing connection): saf-net 31401 (TCP control +
# probe connection, UDP responder on the same port), sockperf UDP 31411, sockperf --tcp 31412. They are
# killed at exit (trap; SIGTERM, then SIGKILL after 3 s). A server that died is restarted before its next
# run. saf-net binary: target/release/saf-net is copied into the raw-output folder at start and the copy
# runs both ends, so a rebuild of target/ by someone else mid-benchmark cannot mix versions.
#
# Noise gauges per run: client CPU-s (/usr/bin/time), server CPU-s (/proc/<pid>/stat, all threads),
# "other" = how many CPUs the rest of the host kept busy meanwhile, on average over the client's wall
# time (busy CPU-s from /proc/stat minus client and server, divided by the wall time; sockperf's client
# takes ~T + 2.3 s of wall time for a T-second test, so CPU-s totals would not compare). On a shared 2-vCPU VM, a busy
# host inflates both tools' RTTs (a woken thread waits for a CPU); interleaving spreads that over both.
#
# Robustness: each client is bounded by `timeout`; a run that exits non-zero, times out or whose output
# cannot be parsed is printed as FAILED and left out of the medians; the script goes on.
# Exit status: 0 when the benchmark ran (PASS/FAIL verdicts are in the report), 1 on a setup error.

set -u -o pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
HELPER="$SCRIPT_DIR/latency_peers.py"

ROUNDS=5
TIME=5
SIZE=64
OUT=""
IDLE_WAIT=20
IDLE_MAX_CPUS=0.3
THRESHOLD=1.10
MIN_ROUNDS=3
BUSY=""

SAF_PORT=31401
SP_UDP_PORT=31411
SP_TCP_PORT=31412
HOST=127.0.0.1
SERVERS=(saf-net sockperf-udp sockperf-tcp)

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=${2:?--rounds needs N}; shift 2 ;;
        --rounds=*) ROUNDS=${1#*=}; shift ;;
        --time) TIME=${2:?--time needs SECS}; shift 2 ;;
        --time=*) TIME=${1#*=}; shift ;;
        --size) SIZE=${2:?--size needs BYTES}; shift 2 ;;
        --size=*) SIZE=${1#*=}; shift ;;
        --idle-wait) IDLE_WAIT=${2:?--idle-wait needs SECS}; shift 2 ;;
        --idle-wait=*) IDLE_WAIT=${1#*=}; shift ;;
        --quick) ROUNDS=3; TIME=2; shift ;;
        --busy) BUSY=${2:?--busy needs microseconds}; shift 2 ;;
        --busy=*) BUSY=${1#*=}; shift ;;
        --out) OUT=${2:?--out needs FILE}; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "latency-peers: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "latency-peers: --rounds must be a positive integer" >&2; exit 2; }
[[ "$TIME" =~ ^[1-9][0-9]*$ ]] || { echo "latency-peers: --time must be whole seconds >= 1" >&2; exit 2; }
[[ "$SIZE" =~ ^[0-9]+$ ]] && [ "$SIZE" -ge 40 ] && [ "$SIZE" -le 1472 ] ||
    { echo "latency-peers: --size must be 40..1472 bytes" >&2; exit 2; }
[[ "$IDLE_WAIT" =~ ^[0-9]+$ ]] || { echo "latency-peers: --idle-wait must be whole seconds" >&2; exit 2; }
[ -z "$BUSY" ] || { [[ "$BUSY" =~ ^[1-9][0-9]*$ ]] && [ "$BUSY" -le 1000000 ]; } ||
    { echo "latency-peers: --busy must be 1..1000000 microseconds" >&2; exit 2; }
TOOLS=(saf-net sockperf)
[ -z "$BUSY" ] || TOOLS+=(saf-net-busy sockperf-nb)

SAF_BUILT="$REPO/target/release/saf-net"
CLK_TCK=$(getconf CLK_TCK)
RUN_TIMEOUT=$((TIME + 30))
RAW=$(mktemp -d /tmp/latency-peers.XXXXXX)
RESULTS="$RAW/results.tsv"
declare -A SRV_PID=()
declare -A SRV_LOG=()

# ---------------------------------------------------------------------------------------------- setup

install_missing() {
    local need=() cmd pkg
    for pair in sockperf:sockperf /usr/bin/time:time python3:python3 ss:iproute2 timeout:coreutils; do
        cmd=${pair%%:*}; pkg=${pair#*:}
        if [ "${cmd:0:1}" = / ]; then [ -x "$cmd" ] || need+=("$pkg")
        else command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg"); fi
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "Installing missing packages: ${need[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq || true
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${need[@]}" || return 1
    fi
}

build_saf() {
    if [ ! -x "$SAF_BUILT" ]; then
        echo "Building saf-net (release)..."
        (cd "$REPO" && cargo build --release) || return 1
    fi
    SAF="$RAW/saf-net"
    cp "$SAF_BUILT" "$SAF" || return 1
}

# ------------------------------------------------------------------------------------------- helpers

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# utime+stime+cutime+cstime of a process (all threads), in clock ticks.
proc_cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    local -a f
    read -ra f <<< "$s"
    echo $(( f[11] + f[12] + f[13] + f[14] ))
}

# Busy ticks of the whole host (all CPUs): user nice system irq softirq steal.
host_busy_ticks() {
    local _cpu u n s idle iow irq sirq steal _rest
    read -r _cpu u n s idle iow irq sirq steal _rest < /proc/stat
    echo $(( u + n + s + irq + sirq + steal ))
}

# wait_quiet: wait (up to IDLE_WAIT s) until the host is nearly idle; sets QUIET_NOTE.
# (The same gate as bench/compare-peers.sh.)
wait_quiet() {
    QUIET_NOTE=""
    [ "$IDLE_WAIT" -gt 0 ] || return 0
    local waited=0 b0 b1 busy
    while :; do
        b0=$(host_busy_ticks); sleep 0.5; b1=$(host_busy_ticks)
        busy=$(awk -v a="$b0" -v b="$b1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz / 0.5 }')
        if awk -v x="$busy" -v m="$IDLE_MAX_CPUS" 'BEGIN { exit !(x < m) }'; then
            [ "$waited" = 0 ] || QUIET_NOTE="waited ${waited} s for a quiet host"
            return 0
        fi
        waited=$(awk -v w="$waited" 'BEGIN { print w + 0.5 }')
        if awk -v w="$waited" -v m="$IDLE_WAIT" 'BEGIN { exit !(w >= m) }'; then
            QUIET_NOTE="host still busy (${busy} CPUs) after ${waited} s"
            return 0
        fi
    done
}

server_port() {
    case "$1" in
        saf-net) echo $SAF_PORT ;; sockperf-udp) echo $SP_UDP_PORT ;; sockperf-tcp) echo $SP_TCP_PORT ;;
    esac
}

wait_listen() { # wait_listen SERVER PID
    local i port proto=t
    port=$(server_port "$1")
    [ "$1" = sockperf-udp ] && proto=u
    for i in $(seq 1 50); do
        kill -0 "$2" 2>/dev/null || return 1
        if [ "$1" = saf-net ]; then   # saf-net listens on TCP and binds UDP on the same port
            ss -Hltn "sport = :$port" 2>/dev/null | grep -q . &&
                ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
        else
            ss -Hl${proto}n "sport = :$port" 2>/dev/null | grep -q . && return 0
        fi
        sleep 0.1
    done
    return 1
}

start_server() { # start_server SERVER LOGFILE -> sets SRV_PID[SERVER]
    local srv=$1 log=$2
    case "$srv" in
        saf-net)      "$SAF" server -p $SAF_PORT >"$log" 2>&1 & ;;
        sockperf-udp) sockperf server -i $HOST -p $SP_UDP_PORT >"$log" 2>&1 & ;;
        sockperf-tcp) sockperf server --tcp -i $HOST -p $SP_TCP_PORT >"$log" 2>&1 & ;;
    esac
    SRV_PID[$srv]=$!
    SRV_LOG[$srv]=$log
    if ! wait_listen "$srv" "${SRV_PID[$srv]}"; then
        echo "WARNING: $srv server did not start listening on port $(server_port "$srv"):" >&2
        tail -n 5 "$log" >&2
        return 1
    fi
}

stop_server() {
    local srv=$1 pid=${SRV_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    local i
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "SRV_PID[$srv]"
}

cleanup() {
    local s
    for s in "${!SRV_PID[@]}"; do stop_server "$s"; done
}

client_cmd() { # client_cmd TOOL MODE -> sets CMD array and SRV
    local tool=$1 mode=$2
    case "$tool" in
        saf-net*)
            SRV=saf-net
            CMD=("$SAF" latency $HOST -p $SAF_PORT --mode "$mode" --interval 0 --duration "$TIME" --size "$SIZE" -J --no-history) ;;
        sockperf*)
            if [ "$mode" = tcp ]; then
                SRV=sockperf-tcp
                CMD=(sockperf ping-pong --tcp --full-rtt -i $HOST -p $SP_TCP_PORT -m "$SIZE" -t "$TIME")
            else
                SRV=sockperf-udp
                CMD=(sockperf ping-pong --full-rtt -i $HOST -p $SP_UDP_PORT -m "$SIZE" -t "$TIME")
            fi ;;
    esac
    case "$tool" in
        saf-net-busy) CMD+=(--busy-poll "$BUSY") ;;
        sockperf-nb) CMD+=(--nonblocked) ;;
    esac
}

# run_client TOOL MODE PREFIX: runs one client, leaves PREFIX.{out,err,time,parse};
# sets RUN_STATUS (OK/FAILED), RUN_REASON, and for OK: P50 P99 MIN SAMPLES LOST RATE CPU_CLIENT CPU_SERVER OTHER
run_client() {
    local tool=$1 mode=$2 p=$3
    RUN_STATUS=FAILED; RUN_REASON=""
    client_cmd "$tool" "$mode"
    local pid=${SRV_PID[$SRV]:-}
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "  ($SRV server is not running; restarting it)"
        start_server "$SRV" "${SRV_LOG[$SRV]:-$RAW/server-$SRV.log}.restart.$(date +%s)" ||
            { RUN_REASON="server would not start"; return; }
        pid=${SRV_PID[$SRV]}
    fi
    local cpu0 cpu1 busy0 busy1 rc
    wait_quiet
    busy0=$(host_busy_ticks)
    cpu0=$(proc_cpu_ticks "$pid")
    /usr/bin/time -f 'CPUTIME %e %U %S' -o "$p.time" \
        timeout -k 5 "$RUN_TIMEOUT" "${CMD[@]}" >"$p.out" 2>"$p.err"
    rc=$?
    cpu1=$(proc_cpu_ticks "$pid")
    busy1=$(host_busy_ticks)
    local src="$p.out" base=saf-net
    if [ "${tool#sockperf}" != "$tool" ]; then   # sockperf writes its report to stderr and stdout; parse both
        base=sockperf
        cat "$p.out" "$p.err" > "$p.all"; src="$p.all"
    fi
    local parsed
    parsed=$(python3 "$HELPER" parse "$base" "$src" 2>&1) || parsed="FAIL	helper error: $parsed"
    echo "$parsed" > "$p.parse"
    if [ $rc -ne 0 ]; then
        case $rc in 124|137) RUN_REASON="timed out after ${RUN_TIMEOUT} s" ;; *) RUN_REASON="exit code $rc" ;; esac
        local detail
        detail=$(grep -m1 . "$p.err" 2>/dev/null)
        [ -n "$detail" ] || detail=$(echo "$parsed" | cut -f2)
        RUN_REASON="$RUN_REASON: $(echo "$detail" | cut -c1-140)"
        return
    fi
    local st a b c d e f
    IFS=$'\t' read -r st a b c d e f <<< "$parsed"
    if [ "$st" != OK ]; then RUN_REASON="$a"; return; fi
    local wall u s
    read -r _ wall u s < <(grep '^CPUTIME' "$p.time" | tail -n 1)
    if [ -z "${s:-}" ]; then RUN_REASON="no /usr/bin/time figures"; return; fi
    WALL=$wall
    P50=$a; P99=$b; MIN=$c; SAMPLES=$d; LOST=$e; RATE=$f
    CPU_CLIENT=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
    CPU_SERVER=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
    # CPUs' worth of work the rest of the host did meanwhile: (busy CPU-s - client - server) / wall time
    OTHER=$(awk -v a="$busy0" -v b="$busy1" -v hz="$CLK_TCK" -v c="$CPU_CLIENT" -v s="$CPU_SERVER" -v w="$WALL" \
        'BEGIN { x = (b - a) / hz - c - s; if (x < 0) x = 0; printf "%.2f", (w > 0) ? x / w : 0 }')
    RUN_STATUS=OK
}

# ---------------------------------------------------------------------------------------------- main

main() {
    # traps are set here because with --out main runs in a pipeline subshell, which holds the server pids
    trap cleanup EXIT
    trap 'echo "interrupted" >&2; cleanup; exit 130' INT TERM
    install_missing || { echo "latency-peers: could not install sockperf" >&2; return 1; }
    build_saf || { echo "latency-peers: cargo build --release failed" >&2; return 1; }

    local load_start; load_start=$(loadavg)
    echo "=== saf-net latency vs sockperf ping-pong, loopback $HOST, back to back, $SIZE-byte messages ==="
    echo "date:        $(date '+%Y-%m-%d %H:%M:%S %Z') ($(date -u '+%Y-%m-%dT%H:%M:%SZ'))"
    echo "host:        nproc=$(nproc), kernel $(uname -r), CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "load avg:    $load_start (1/5/15 min) at start"
    echo "saf-net:     $("$SAF" --version 2>&1 | head -n 1); binary target/release/saf-net built $(date -r "$SAF_BUILT" '+%Y-%m-%d %H:%M:%S'), sha256 $(sha256sum "$SAF" | cut -c1-12); repo HEAD $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (src has uncommitted changes)')"
    echo "sockperf:    $(sockperf --version 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | head -n 1 | sed 's/^ *//') (Debian package $(dpkg-query -W -f='${Version}' sockperf 2>/dev/null || echo '?'))"
    echo "plan:        $ROUNDS round(s) x {udp, tcp} x {${TOOLS[*]}}, $TIME s each, interleaved"
    echo "commands:    $SAF_BUILT latency $HOST -p $SAF_PORT --mode udp|tcp --interval 0 --duration $TIME --size $SIZE -J --no-history"
    echo "             sockperf ping-pong [--tcp] --full-rtt -i $HOST -p $SP_UDP_PORT|$SP_TCP_PORT -m $SIZE -t $TIME"
    [ -z "$BUSY" ] || echo "busy rows:   saf-net-busy = the saf-net command + --busy-poll $BUSY; sockperf-nb = the sockperf command + --nonblocked"
    echo "quiet gate:  before each run wait up to $IDLE_WAIT s for < $IDLE_MAX_CPUS CPUs busy (--idle-wait)"
    echo "ports:       saf-net $SAF_PORT (tcp+udp), sockperf udp $SP_UDP_PORT, sockperf tcp $SP_TCP_PORT; ephemeral range $(tr -s '\t ' '-' < /proc/sys/net/ipv4/ip_local_port_range)"
    echo "raw output:  $RAW"
    local foreign
    foreign=$(ps -eo pid=,args= | awk '$2 ~ /(^|\/)(sockperf|saf-net|iperf3?|nuttcp|netperf|irtt)$/' | sed 's/^ */             /')
    if [ -n "$foreign" ]; then
        echo "other benchmark processes already running on this host (not ours; they may add load):"
        echo "$foreign"
    fi
    echo

    local port lo hi
    read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
    for port in $SAF_PORT $SP_UDP_PORT $SP_TCP_PORT; do
        # TIME-WAIT leftovers of an earlier run do not stop a listener from binding; anything else does
        if ss -Htuan "sport = :$port" 2>/dev/null | grep -v TIME-WAIT | grep -q .; then
            echo "latency-peers: port $port is already in use on this host:" >&2
            ss -Htuanp "sport = :$port" | grep -v TIME-WAIT >&2
            return 1
        fi
        [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] && echo "WARNING: port $port is inside the ephemeral range $lo-$hi"
    done
    local s
    for s in "${SERVERS[@]}"; do
        start_server "$s" "$RAW/server-$s.log" || echo "  ($s server failed to start; its runs will retry)"
    done

    printf 'tool\tmode\tround\tstatus\tp50_us\tp99_us\tmin_us\tsamples\tlost\trate\tcpu_client\tcpu_server\tother_cpus\tnote\n' > "$RESULTS"
    echo "Per-run figures (full round trips in us; rate = answered probes/s; CPU = client + server CPU-s;"
    echo "other = CPUs kept busy by the rest of the host during the run, on average)"
    local r mode tool
    for r in $(seq 1 "$ROUNDS"); do
        echo "-- round $r/$ROUNDS (load avg $(loadavg))"
        for mode in udp tcp; do
            for tool in "${TOOLS[@]}"; do
                local p="$RAW/r${r}-${mode}-${tool}"
                run_client "$tool" "$mode" "$p"
                if [ "$RUN_STATUS" = OK ]; then
                    printf '%s\t%s\t%d\tOK\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$mode" "$r" \
                        "$P50" "$P99" "$MIN" "$SAMPLES" "$LOST" "$RATE" "$CPU_CLIENT" "$CPU_SERVER" "$OTHER" "$QUIET_NOTE" >> "$RESULTS"
                    printf '  %-12s %-3s round %-2d p50 %8.2f  p99 %9.2f  min %7.2f us  %8d samples %6.0f/s  lost %-3d CPU %5.2f+%5.2f s  other %4.2f CPUs%s\n' \
                        "$tool" "$mode" "$r" "$P50" "$P99" "$MIN" "$SAMPLES" "$RATE" "$LOST" "$CPU_CLIENT" "$CPU_SERVER" "$OTHER" \
                        "${QUIET_NOTE:+  [$QUIET_NOTE]}"
                else
                    printf '%s\t%s\t%d\tFAILED\t\t\t\t\t\t\t\t\t\t%s\n' "$tool" "$mode" "$r" "$RUN_REASON $QUIET_NOTE" >> "$RESULTS"
                    printf '  %-12s %-3s round %-2d FAILED: %s%s\n' "$tool" "$mode" "$r" "$RUN_REASON" "${QUIET_NOTE:+  [$QUIET_NOTE]}"
                fi
            done
        done
    done
    for s in "${SERVERS[@]}"; do stop_server "$s"; done
    echo

    python3 "$HELPER" summary "$RESULTS" --rounds "$ROUNDS" --threshold "$THRESHOLD" --min-rounds "$MIN_ROUNDS"
    echo

    echo "load avg:    $(loadavg) (1/5/15 min) at end; $load_start at start"
    echo "finished:    $(date '+%Y-%m-%d %H:%M:%S %Z'); raw output kept in $RAW"
}

if [ -n "$OUT" ]; then
    mkdir -p "$(dirname "$OUT")"
    main 2>&1 | tee "$OUT"
    exit "${PIPESTATUS[0]}"
else
    main
fi
