#!/usr/bin/env bash
# debian_symbols.sh SYMBOLS_FILE LIBSHARR_SO — debian/libsharr0.symbols lists exactly
# what the built libsharr.so.0 exports, each symbol with its version node (and the
# nodes themselves), so a function added to client/libsharr.map is caught here, in
# every build, and not first by dpkg-gensymbols when the packages are built (which
# debian/rules makes fail on any difference: dh_makeshlibs -- -c4).
set -euo pipefail
symbols=$1 lib=$2
command -v nm >/dev/null || { echo "nm (binutils) is missing" >&2; exit 2; }
# "T sharr_close@@SHARR_0.1" and the nodes "A SHARR_0.1", as "sharr_close@SHARR_0.1".
built=$(nm -D --defined-only "$lib" |
  awk 'NF == 3 { s = $3; sub(/@@/, "@", s); if ($2 == "A") s = s "@" s; print s }' | sort -u)
listed=$(sed -n 's/^ \([^ ]*\) .*/\1/p' "$symbols" | sort -u)
only_built=$(comm -23 <(echo "$built") <(echo "$listed"))
only_listed=$(comm -13 <(echo "$built") <(echo "$listed"))
if [ -n "$only_built$only_listed" ]; then
  [ -z "$only_built" ] || echo "exported by $lib, missing from $symbols:" $only_built >&2
  [ -z "$only_listed" ] || echo "listed in $symbols, not exported by $lib:" $only_listed >&2
  exit 1
fi
echo "$symbols lists the $(wc -l <<<"$built") symbols and version nodes $lib exports"
