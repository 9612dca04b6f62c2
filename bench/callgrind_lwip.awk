# callgrind_lwip.awk - exclusive instructions in an lwIP copy loaded from
# a memfd, which valgrind cannot name (ob=???, fn=0xADDRESS), from a
# callgrind output written with --compress-strings=no.
#   gawk -v base=0x... -v map=FILE -v re=REGEX -f callgrind_lwip.awk OUT
# map: "OFFSET NAME" lines, hex offsets in liblwip.so.0, sorted: its
# exported symbols and its PLT entries. lwIP calls its own functions
# through the PLT, and callgrind, seeing a jump and not a call, files
# the callee's instructions under the PLT entry's address, so an entry
# names the function it jumps to. Prints "lwip IR" (all of ob=???) and
# "match IR" (functions whose name matches REGEX). Needs gawk.
BEGIN {
	while ((getline line < map) > 0) {
		split(line, w, " ")
		n++
		at[n] = strtonum("0x" w[1])
		nm[n] = w[2]
	}
}
function name_of(off,   lo, hi, mid) {
	if (n == 0 || off < at[1]) return "?"
	lo = 1; hi = n
	while (lo < hi) {
		mid = int((lo + hi + 1) / 2)
		if (at[mid] <= off) lo = mid; else hi = mid - 1
	}
	return nm[lo]
}
/^ob=/ { anon = ($0 == "ob=???"); next }
/^fn=/ {
	hit = anon && name_of(strtonum(substr($0, 4)) - strtonum(base)) ~ re
	next
}
/^calls=/ { skip = 1; next }
/^[0-9]/ {
	if (skip) { skip = 0; next }
	if (anon) {
		l += $2
		if (hit) m += $2
	}
	next
}
END { printf "lwip %d\nmatch %d\n", l, m }
