# A symbol name without what changes from build to build (sed -E): the legacy mangling's hash (17h…E), LLVM's
# .llvm.N suffix of internalised functions, v0 crate disambiguators (Cs…_). Shared by link-order.sh and
# link-ordered.sh, so the list and the link always agree.
s/17h[0-9a-f]{16}E/E/g
s/\.llvm\.[0-9]+//g
/^_R/ s/Cs[0-9A-Za-z]*_/Cs_/g
