# meta.layers: vstack's layers call only downward (docs/architecture.md,
# "Layers"). Over the source tree, every #include "..." of a file must
# name a layer its own may use, and the control server reads engines
# only through the stack's functions (report.c), never their fields:
#
#   preload -> sockapi -> rt -> ctl -> stack -> verbs -> base
#   api     ->            rt -> ...
#   emu -> base; bench, examples, tests: anything but each other
#
# A layer may include its own headers and those of the layers below it;
# lwIP's headers belong to src/stack alone.
set -eu
src=${VS_SRC:?}
fail=0
bad() { echo "LAYER: $*" >&2; fail=1; }

# allowed DIR: the include prefixes (first path part) files in DIR may use
allowed() {
	case $1 in
	src/base) echo "base" ;;
	src/verbs) echo "base verbs" ;;
	src/stack) echo "base verbs stack lwip netif arch lwip_hooks.h" ;; # lwip/: our lwIP build's hooks
	src/ctl) echo "base verbs stack ctl" ;;
	src/rt) echo "base verbs stack ctl rt" ;;
	src/api) echo "base verbs stack ctl rt api vstack.h" ;;
	src/sockapi) echo "base verbs stack ctl rt sockapi" ;;
	src) echo "base vstack.h" ;;
	preload) echo "base sockapi" ;;
	emu) echo "base emu" ;;
	examples) echo "vstack.h vstack_ev.h common.h" ;;
	bench) echo "base verbs stack raw_common.h vstack.h" ;;
	*) echo "*" ;;
	esac
}

cd "$src"
n=0
while IFS= read -r f; do
	dir=$(dirname "$f")
	ok=$(allowed "$dir")
	[ "$ok" = "*" ] && continue
	while IFS= read -r inc; do
		n=$((n + 1))
		first=${inc%%/*}
		# a bare name is the file's own directory's (emu.h in emu/)
		[ "$first" = "$inc" ] && [ -e "$dir/$inc" ] && continue
		case " $ok " in
		*" $first "* | *" $inc "*) ;;
		*) bad "$f includes \"$inc\": $dir may use only: $ok" ;;
		esac
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find src preload emu examples bench -name '*.[ch]' | sort)

# The socket layer's private header stays inside it.
if grep -rln 'sockapi/sock_impl.h' src preload | grep -v '^src/sockapi/'; then
	bad "sockapi/sock_impl.h included outside src/sockapi (its interface is sock.h)"
fi

# The control server sees engines through functions: no engine, netif
# or lwIP field (e->q, e->nif.st, e->lw.tcp_active_pcbs, pcb lists).
if grep -nE -- '->(nif|lw|st|q|cpu)\b|\.lw\.|\.nif\.|_pcbs|struct tcp_pcb' src/ctl/*.c; then
	bad "src/ctl reads engine, netif or lwIP fields (use stack/report.c)"
fi
[ "$n" -gt 100 ] || bad "only $n includes seen: the check read nothing"
[ $fail = 0 ] || exit 1
echo "meta.layers: $n includes checked, every one downward"
