# meta.format: every C file of vstack is as clang-format (Debian 12's,
# .clang-format: kernel style, the return type of a definition on its own
# line) writes it. To fix a failure: clang-format -i FILE.
set -eu
command -v clang-format >/dev/null || { echo "clang-format missing: run scripts/setup" >&2; exit 1; }
cd "${VS_SRC:?}"
n=0 bad=0
while IFS= read -r f; do
	n=$((n + 1))
	if ! clang-format --style=file --dry-run --Werror "$f" 2>/dev/null; then
		echo "not formatted: $f" >&2
		clang-format --style=file "$f" | diff -u "$f" - | head -20 >&2 || true
		bad=$((bad + 1))
	fi
done < <(find src preload emu examples bench tests include -name '*.[ch]' | sort)
[ "$n" -gt 100 ] || { echo "FAIL: only $n files found" >&2; exit 1; }
[ "$bad" = 0 ] || { echo "FAIL: $bad of $n files are not formatted (clang-format -i FILE)" >&2; exit 1; }
echo "meta.format: $n files formatted"
