# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# bench/lib.sh - what the benchmark scripts (run.sh, write.sh, lsfind.sh)
# share: arithmetic on the numbers they collect, the verdict beside a
# target, the machine's CPU use, and where a run keeps its files.

calc() { awk "BEGIN { print $1 }"; }

# median NUMBERS...: the middle one (the mean of the two middle ones); fails
# when there are none
median() {
	[ $# -gt 0 ] || return 1
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
		END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to two places, or - when either is not a number
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "-"
		else printf "%.2f", a / b }'
}

# verdict RATIO OP TARGET: ">= 0.8 met", "<= 1.2 MISSED", or just the target
# when there is no ratio
verdict() {
	awk -v r="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (r !~ /^[0-9.]+$/) { printf "%s %s", op, t; exit }
		ok = (op == ">=") ? (r + 0 >= t + 0) : (r + 0 <= t + 0)
		printf "%s %s %s", op, t, ok ? "met" : "MISSED" }'
}

# cpu_snap: "BUSY TOTAL", the whole machine's CPU time so far, in ticks
cpu_snap() {
	local _cpu u n s i w q sq st _rest
	read -r _cpu u n s i w q sq st _rest </proc/stat
	echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# cpu_note KEY: "cpu 93%", the share of the machine KEY's runs kept busy,
# from the caller's BUSY and TOTAL (tick counts summed from cpu_snap)
cpu_note() {
	awk -v b="${BUSY[$1]:-0}" -v t="${TOTAL[$1]:-0}" \
		'BEGIN { if (t > 0) printf "cpu %.0f%%", 100 * b / t }'
}

# bench_rundir NAME: makes and prints a new run directory, in BENCH_TMPDIR,
# else /dev/shm when it is a tmpfs (the staging directory and the objects
# the servers keep then cost no disk), else /tmp
bench_rundir() {
	local base=${BENCH_TMPDIR:-}
	if [ -z "$base" ]; then
		base=/tmp
		[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && base=/dev/shm
	fi
	mktemp -d "$base/cloudshim-$1.XXXXXX"
}
