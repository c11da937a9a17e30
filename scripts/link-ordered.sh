#!/bin/sh
# The linker of x86_64 Linux builds in this repository (.cargo/config.toml). It links exactly as `cc` would; then, for
# a saf-net binary linked by LLD (rustc's default linker there since 1.90), it links once more with the functions a
# server runs laid out together (link/saf-net.order), so a running server maps ~2.4 MiB of its code rather than
# ~5.5 MiB: the kernel maps code in 64 KiB fault-around windows, and the code that runs is spread over the whole
# binary otherwise (bench/README.md, issue #21). Anything else (GNU ld, another output, a missing list or `nm`, an
# ordered link that fails) keeps the plain link. SAF_NET_LINK_ORDER names another list (tests).
#
# The list holds symbol names without what changes from build to build (scripts/symbol-names.sed);
# scripts/link-order.sh writes it.
set -u

cc "$@" || exit $?

out=""
lld=no
prev=""
for arg in "$@"; do
    [ "$prev" = "-o" ] && out=$arg
    [ "$arg" = "-fuse-ld=lld" ] && lld=yes
    prev=$arg
done
case ${out##*/} in saf_net-*) ;; *) exit 0 ;; esac
[ "$lld" = yes ] || exit 0
list=${SAF_NET_LINK_ORDER:-$(dirname "$0")/../link/saf-net.order}
[ -r "$list" ] && command -v nm >/dev/null 2>&1 || exit 0

order="$out.order"
nm --defined-only "$out" 2>/dev/null | awk 'NF == 3 { print $3 }' >"$order.syms" || exit 0
sed -E -f "$(dirname "$0")/symbol-names.sed" "$order.syms" \
    | paste - "$order.syms" \
    | awk 'NR == FNR { if (!($0 in rank)) rank[$0] = NR; next } ($1 in rank) { print rank[$1], $2 }' "$list" - \
    | sort -n -k1,1 | cut -d' ' -f2 >"$order"
rm -f "$order.syms"
[ -s "$order" ] || { rm -f "$order"; exit 0; }
cc "$@" -Wl,--symbol-ordering-file="$order" -Wl,--no-warn-symbol-ordering || cc "$@"
status=$?
rm -f "$order"
exit $status
