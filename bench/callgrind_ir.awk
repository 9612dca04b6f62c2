# callgrind_ir.awk - exclusive instruction counts from a callgrind output
# written with --compress-strings=no --compress-pos=no.
#   awk -v src=/src/ -v obj=raw_ethernet_bw [-v fn=REGEX] -f callgrind_ir.awk OUT
# prints "src IR" (instructions in code from files whose path contains
# src, inlined code included), "obj IR" (instructions in the object
# whose path contains obj) and, with fn, "fn IR" (instructions in the
# functions whose name matches REGEX, in objects matching obj). The cost
# line after a calls= line is the callee's inclusive cost and is
# skipped: these are exclusive counts.
/^ob=/ { ob = substr($0, 4); next }
/^fl=/ { fl = substr($0, 4); file = fl; next }
/^(fi|fe)=/ { file = substr($0, 4); next }
/^fn=/ { file = fl; name = substr($0, 4); next }
/^calls=/ { skip = 1; next }
/^[0-9]/ {
	if (skip) { skip = 0; next }
	if (src != "" && index(file, src)) s += $2
	if (obj != "" && index(ob, obj)) {
		o += $2
		if (fn != "" && name ~ fn) f += $2
	}
	next
}
END { printf "src %d\nobj %d\n", s, o; if (fn != "") printf "fn %d\n", f }
