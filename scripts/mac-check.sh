#!/usr/bin/env bash
# mac-check: runs every Mac-specific path of saf-net on this machine and prints a report to paste into an
# issue. Read-only: it changes no setting, needs no root, writes no history (only a temp folder it removes),
# and sends traffic only over loopback (127.0.0.1). Written for macOS's /bin/bash 3.2.
#
#   scripts/mac-check.sh [HOST]        HOST: a cluster node's address, for the route check (no packet is sent)
#
# Each line of the report is one fact: PASS (as expected), CHECK (a person should look: paste the report),
# or SKIP (not applicable here, with why). Exit status: 0 when nothing needs a CHECK, 1 when something
# does, 2 when saf-net itself cannot be found or run.
#
# Environment: SAF_NET (the saf-net binary; default: saf-net on PATH, else ./target/{release,debug}/saf-net).
# On a machine that is not a Mac, the Mac-only lines run against fake macOS tools when `networksetup` is on
# PATH (the test suite does this, with --backend macos), and are SKIPped otherwise.
set -u

HOST=${1:-}
case $HOST in
-h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac

PASSES=0
CHECKS=0
SKIPS=0
pass() { PASSES=$((PASSES + 1)); printf 'PASS  %s\n' "$*"; }
check() { CHECKS=$((CHECKS + 1)); printf 'CHECK %s\n' "$*"; }
skip() { SKIPS=$((SKIPS + 1)); printf 'SKIP  %s\n' "$*"; }

find_saf() {
    if [ -n "${SAF_NET:-}" ]; then echo "$SAF_NET"; return; fi
    if command -v saf-net >/dev/null 2>&1; then command -v saf-net; return; fi
    local here
    here=$(cd "$(dirname "$0")/.." && pwd)
    for b in "$here/target/release/saf-net" "$here/target/debug/saf-net"; do
        if [ -x "$b" ]; then echo "$b"; return; fi
    done
}

SAF=$(find_saf)
if [ -z "$SAF" ] || ! "$SAF" --version >/dev/null 2>&1; then
    echo "mac-check: saf-net not found or does not run; build it (cargo build --release) or set SAF_NET=PATH" >&2
    exit 2
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mac-check.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
# Nothing this script runs may touch the user's history or tune state.
export SAF_NET_HISTORY="$TMP/history.csv" XDG_DATA_HOME="$TMP/data" SAF_NET_TUNE_STATE_DIR="$TMP/state"

# The macOS paths: native on a Mac, --backend macos against fakes elsewhere, else skipped.
if [ "$(uname -s)" = Darwin ]; then
    MAC=native
    BACKEND=()
elif command -v networksetup >/dev/null 2>&1; then
    MAC=fake
    BACKEND=(--backend macos)
else
    MAC=none
    BACKEND=()
fi

# first_line TEXT: the first non-empty line, for one-line reasons.
first_line() { printf '%s\n' "$1" | sed -n '/./{p;q;}'; }

report_header() {
    echo "saf-net mac-check report"
    echo "# $(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -srm)"
    if command -v sw_vers >/dev/null 2>&1; then
        echo "# macOS $(sw_vers -productVersion 2>/dev/null) ($(sw_vers -buildVersion 2>/dev/null))"
    fi
    echo "# $("$SAF" --version) at $SAF; macOS paths: $MAC"
}

# One PASS/CHECK line per hardware port from `tune show`: MTU, media and link as networksetup reports them.
check_ports() {
    local out rc
    out=$("$SAF" tune show ${BACKEND[@]+"${BACKEND[@]}"} 2>&1)
    rc=$?
    # Kept for pick_ports: one `tune show` per report.
    printf '%s\n' "$out" >"$TMP/show.txt"
    if [ $rc -ne 0 ]; then
        check "tune show: exit $rc: $(first_line "$out")"
        return
    fi
    pass "tune show: $(printf '%s\n' "$out" | awk '/^Hardware ports/{p=1;next} p&&/^$/{exit} p{n++} END{print n+0}') hardware ports listed"
    printf '%s\n' "$out" | awk '
        function flush() {
            if (port == "") return
            verdict = "PASS "
            if (mtu ~ /active ([0-9]+), configured ([0-9]+)/) {
                split(mtu, w, /[ ,]+/)
                if (w[3] != w[5]) { verdict = "CHECK"; note = note "; MTU set to " w[5] " but " w[3] " is active" }
            }
            if (link ~ /speed unknown/ && media ~ /active [0-9]+[Gg]?[Bb]ase/) {
                verdict = "CHECK"; note = note "; media names a speed that saf-net did not read"
            }
            if (kernel != "") {
                ls = link; ks = kernel
                sub(/ Mbit\/s.*/, "", ls); sub(/^link /, "", ls)
                sub(/ Mbit\/s.*/, "", ks); sub(/^kernel media /, "", ks)
                if (ls ~ /^[0-9]+$/ && ks !~ /^[0-9]+$/) {
                    verdict = "CHECK"; note = note "; networksetup says " ls " Mbit/s but the kernel media (SIOCGIFXMEDIA) gave none"
                } else if (ls ~ /^[0-9]+$/ && ks != ls) {
                    verdict = "CHECK"; note = note "; networksetup says " ls " Mbit/s but the kernel media says " ks
                }
                note = note "; " kernel
            }
            printf "%s port %s: %s; %s; %s%s\n", verdict, port, mtu, media, link, note
            port = ""; mtu = "MTU unknown"; media = "media unknown"; link = "link unknown"; note = ""; kernel = ""
        }
        BEGIN { mtu = "MTU unknown"; media = "media unknown"; link = "link unknown" }
        /^[^ ].* \([a-z]+[0-9]+\)$/ { flush(); port = $0; next }
        /^Sysctls/ { flush(); next }
        port != "" && /^  MTU / { sub(/^  MTU +/, ""); sub(/;.*/, ""); mtu = "MTU " $0 }
        port != "" && /^  media / { sub(/^  media +/, ""); sub(/;.*/, ""); media = "media " $0 }
        port != "" && /^  link / { sub(/^  link +/, ""); sub(/;.*/, ""); link = "link " $0 }
        port != "" && /^  kernel media / { sub(/^  kernel media +/, ""); sub(/ \(SIOCGIFXMEDIA.*/, ""); kernel = "kernel media " $0 }
        port != "" && /^  (media|error|note)/ && /unknown|error|fail/ && !/^  media +current/ { note = note "; " $0 }
        END { flush() }
    ' >"$TMP/ports"
    # Read from a file, not a pipe: a piped loop runs in a subshell and its counts would be lost.
    while IFS= read -r line; do
        case $line in
        "PASS "*) pass "${line#PASS  }" ;;
        *) check "${line#CHECK }" ;;
        esac
    done <"$TMP/ports"
}

# The interface the traffic to HOST takes, and its kind.
check_route() {
    if [ -z "$HOST" ]; then
        skip "route: no HOST given (run: scripts/mac-check.sh 192.168.1.172 with a cluster node's address)"
        return
    fi
    local out rc
    out=$("$SAF" route "$HOST" ${BACKEND[@]+"${BACKEND[@]}"} 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^ *kind: *\(Wi-Fi\|VPN\)'; then
        check "route to $HOST: $(first_line "$out"): a test to it would measure Wi-Fi or a VPN, not the cable (see docs/route.md to pin the route)"
    elif [ $rc -eq 0 ]; then
        pass "route to $HOST: $(first_line "$out")"
        printf '%s\n' "$out" | sed -n '2,$p' | sed 's/^ *//' | while IFS= read -r l; do
            [ -n "$l" ] && echo "      $l"
        done
    else
        check "route to $HOST: exit $rc: $(first_line "$out")"
    fi
}

# A dry run of every built-in profile on the port it is meant for.
check_dry_runs() {
    local iface=$1 bridge=$2 p target out rc
    for p in 1gbe 10gbe 10gbe-jumbo thunderbolt; do
        target=$iface
        [ "$p" = thunderbolt ] && target=$bridge
        if [ -z "$target" ]; then
            skip "tune apply $p --dry-run: no $([ "$p" = thunderbolt ] && echo 'Thunderbolt Bridge' || echo 'Ethernet port') found"
            continue
        fi
        out=$("$SAF" tune apply "$p" ${BACKEND[@]+"${BACKEND[@]}"} --interface "$target" --dry-run --state-dir "$TMP/state" 2>&1)
        rc=$?
        if [ $rc -eq 0 ]; then
            pass "tune apply $p --dry-run on $target: $(printf '%s\n' "$out" | grep -c '      run: ') commands planned, nothing changed"
        else
            check "tune apply $p --dry-run on $target: exit $rc: $(first_line "$out")"
        fi
    done
}

# The first hardware port device that looks like Ethernet, and the Thunderbolt Bridge device, from the `tune show`
# check_ports saved.
pick_ports() {
    awk '
        /^Hardware ports/ { p = 1; next }
        p && /^$/ { exit }
        p { for (i = 1; i <= NF; i++) if ($i ~ /^(en|bridge)[0-9]+$/) dev[++n] = $i; line[n] = $0 }
        END {
            for (i = 1; i <= n; i++) if (dev[i] ~ /^bridge/ && !b) b = dev[i]
            for (i = 1; i <= n; i++) if (dev[i] ~ /^en/ && line[i] !~ /Wi-Fi|AirPort|WLAN/ && !e) e = dev[i]
            print (e ? e : "-") " " (b ? b : "-")
        }' "$TMP/show.txt"
}

# A server on an OS-chosen loopback port; its log names the port.
start_server() {
    PORT=
    "$SAF" server -p 0 --bind 127.0.0.1 >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    local i=0
    while [ $i -lt 50 ]; do
        [ -n "$PORT" ] || PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$TMP/server.log" | head -1)
        if [ -n "$PORT" ] && "$SAF" latency 127.0.0.1 -p "$PORT" --count 1 --no-history >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# Loopback runs: throughput with the kernel's TCP figures, latency, MTU.
check_loopback() {
    if ! start_server; then
        check "loopback server on 127.0.0.1:${PORT:-?} did not answer in 5 s: $(first_line "$(cat "$TMP/server.log")")"
        return
    fi
    local out rc
    out=$("$SAF" client 127.0.0.1 -p "$PORT" -t 2 -J --no-history 2>"$TMP/client.err")
    rc=$?
    if [ $rc -ne 0 ]; then
        check "client -t 2 on loopback: exit $rc: $(first_line "$(cat "$TMP/client.err")")"
    elif printf '%s' "$out" | grep -q '"max_snd_cwnd": *[1-9]' && printf '%s' "$out" | grep -q '"mean_rtt": *[0-9]'; then
        pass "client -t 2 on loopback: $(printf '%s' "$out" | grep -o '"receiver_bits_per_second": *[0-9.e+]*' | head -1 | sed 's/.*: *//' | awk '{printf "%.2f Gbit/s", $1/1e9}') received; TCP_INFO/TCP_CONNECTION_INFO figures present (max_snd_cwnd, mean_rtt)"
    else
        check "client -t 2 on loopback: no kernel TCP figures (max_snd_cwnd, mean_rtt) in the -J output"
    fi
    out=$("$SAF" latency 127.0.0.1 -p "$PORT" --count 200 --no-history 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "latency on loopback: $(printf '%s\n' "$out" | awk '$1 == "actual" {print "RTT p50 " $3 " µs, p99 " $5 " µs"}'), $(printf '%s\n' "$out" | grep -m1 -o 'sent [0-9]*, received [0-9]*')"
    else check "latency on loopback: exit $rc: $(first_line "$out")"; fi
    out=$("$SAF" mtu 127.0.0.1 -p "$PORT" --no-history 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        pass "mtu on loopback: $(printf '%s\n' "$out" | grep -m1 'path MTU' | sed 's/^ *//; s/;.*//')"
    else check "mtu on loopback: exit $rc: $(first_line "$out")"; fi
}

check_service() {
    local fmt=() out rc
    [ "$MAC" = native ] || fmt=(--format launchd)
    out=$("$SAF" service install --print ${fmt[@]+"${fmt[@]}"} 2>/dev/null)
    rc=$?
    if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q '<plist'; then
        pass "service install --print: a launchd property list ($(printf '%s\n' "$out" | wc -l | tr -d ' ') lines), nothing installed"
    else
        check "service install --print: exit $rc, no launchd property list printed"
    fi
}

main() {
    report_header
    if [ "$MAC" = none ]; then
        skip "hardware ports and link facts: not a Mac, and no networksetup on PATH"
        skip "route: not a Mac, and no networksetup on PATH"
        skip "tune apply --dry-run for each profile: not a Mac, and no networksetup on PATH"
    else
        check_ports
        check_route
        local picked
        picked=$(pick_ports)
        check_dry_runs "$(echo "$picked" | awk '$1 != "-" {print $1}')" "$(echo "$picked" | awk '$2 != "-" {print $2}')"
    fi
    check_loopback
    check_service
    echo "summary: $PASSES PASS, $CHECKS CHECK, $SKIPS SKIP"
    [ $CHECKS -eq 0 ]
}

main
