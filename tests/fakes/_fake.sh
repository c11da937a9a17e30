# Shared by the fake programs in this folder (sourced, not run).
#
# State lives in $SAF_NET_FAKE_DIR. Every call is appended to $SAF_NET_FAKE_DIR/calls.log as one
# shell-quoted line (the same quoting saf-net prints). $SAF_NET_FAKE_DIR/fail holds failure rules,
# one per line: "PROGRAM ARGS-PREFIX|MODE", where MODE is
#   error0  print networksetup's "** Error: The parameters were not valid." and exit 0 (no change)
#   exit1   print "fake failure" on stderr and exit 1 (no change)
#   ignore  exit 0 without doing anything (only verification can notice)
#   admin0  print networksetup's "** Error: Command requires admin privileges." and exit 0 (no change):
#           what networksetup does when a change is run without sudo
set -u
# Bytes, not characters: quoting then matches saf-net's ASCII-only rule for names like "Thunderbolt-Brücke".
export LC_ALL=C
: "${SAF_NET_FAKE_DIR:?set SAF_NET_FAKE_DIR to the fake programs state folder}"

fake_quote() {
    local w=$1
    if [[ -n $w && $w =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
        printf '%s' "$w"
    else
        printf "'%s'" "${w//\'/\'\\\'\'}"
    fi
}

fake_line() {
    local prog=$1 out
    shift
    out=$(fake_quote "$prog")
    for a in "$@"; do out+=" $(fake_quote "$a")"; done
    printf '%s' "$out"
}

# fake_begin PROGRAM ARGS...: logs the call and applies a matching failure rule (may exit).
fake_begin() {
    local line
    line=$(fake_line "$@")
    printf '%s\n' "$line" >>"$SAF_NET_FAKE_DIR/calls.log"
    [[ -f $SAF_NET_FAKE_DIR/fail ]] || return 0
    local rule prefix mode
    while IFS= read -r rule || [[ -n $rule ]]; do
        [[ -z $rule ]] && continue
        prefix=${rule%|*}
        mode=${rule##*|}
        if [[ $line == "$prefix"* ]]; then
            case $mode in
            error0) echo "** Error: The parameters were not valid."; exit 0 ;;
            admin0) echo "** Error: Command requires admin privileges."; exit 0 ;;
            exit1) echo "fake failure: $line" >&2; exit 1 ;;
            ignore) exit 0 ;;
            esac
        fi
    done <"$SAF_NET_FAKE_DIR/fail"
}
