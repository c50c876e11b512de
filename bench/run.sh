#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/run.sh - cloudshim's benchmarks: the shim beside the tools users know,
# measured side by side in one run against servers this script starts in its
# own run directory. Prints one table; every ratio has its target beside it.
# Nothing is asserted: the exit status says only whether the run could be made.
#
#   bench/run.sh               (make bench runs it after make and deps.sh)
#
# Environment:
#   BENCH_SIZE_MB=1024   the object of rows 1 and 3 (rclone); s3rver gets
#                        at most 256 MiB of it
#   BENCH_QUICK=1        skip rows 3 (FUSE peers) and 5 (cost outside mounts)
#   BENCH_RAND_OPS=2000  reads per random-read run (row 2)
#   BENCH_RAND_REPS=15   runs per row-2 cell, curl and the shim alternating
#                        (4 cells of 4 KiB x 4 threads here: 7 runs gave
#                        ratios of 0.94-1.02, 15 runs 0.914-0.928)
#   BENCH_SEQ_REPS=7     runs per row-1 cell, every side alternating (one
#                        curl stream on loopback ran 1834-2443 MiB/s from
#                        one full run to the next here: 3 runs left the
#                        raw ratio to chance)
#   BENCH_KEEP=1         keep the run directory (access logs, tool logs)
#   BENCH_LOCAL_ITERS=1000000  calls per run in row 5
#   BENCH_TMPDIR         where the run directory goes (default /dev/shm when
#                        it is a tmpfs, else /tmp)
#   CLOUDSHIM_CONNECTIONS, CLOUDSHIM_PART_SIZE_MB, CLOUDSHIM_READAHEAD_MB,
#   CLOUDSHIM_CACHE_MB   passed through to the shim (row 4 sets CACHE_MB=256)
#
# Rows:
#   1  sequential `cat` of one object: shim vs tmpfs, one curl stream, N
#      parallel ranged curls; nginx raw (N=8) and shaped (N=16: 20 ms to
#      first byte, 80 MB/s per connection)
#   2  random preads (4/64/256 KiB, 1 and 4 threads sharing one fd) through
#      the shim vs one ranged libcurl GET per read; bytes fetched / returned
#      from nginx's access log.  A run of the default sizes is the cache's
#      growth: most of its pages are memory never touched before, which the
#      kernel zeroes on the reader's time.  The "cache full" line runs the
#      same reads with a 32 MiB cache that 48 MiB of other reads filled
#      before the clock started, so that every timed read recycles memory:
#      a long-running reader's steady state.  One
#      run is a lottery on 2 cores: a connection whose nginx worker shares
#      the reader's core runs up to 3x faster, for curl and the shim alike;
#      so each cell is the median of BENCH_RAND_REPS runs, its spread shown.
#      The "one core" lines run the 1-thread reads with nginx and the reader
#      pinned to the last CPU (taskset): no wake-up crosses cores, so no
#      lottery; what is left is what a read costs each side, server included.
#   3  rclone mount (http remote, nginx) and s3fs (s3rver) vs the shim on the
#      same server
#   4  peak RSS of 64 files open and read round-robin vs the cache bound
#   5  open/fstat/read/close on a local file with and without the shim, beside
#      four pass-through wrappers and an empty library (all at once on one
#      CPU, 9 rounds; instructions per iteration when valgrind is there)
#
# Notes columns: "GET" counts and sizes come from the servers' access logs,
# "conns" is the number of distinct connections, "in flight" the summed
# request time divided by the wall time, "cpu" the whole machine's busy share
# (100% = every core) during the runs.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS=$ROOT/tests/servers
# shellcheck source=../tests/servers/lib.sh
. "$SERVERS/lib.sh"
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"

SHIM=$ROOT/build/libcloudshim.so
BIN=$ROOT/build/bench
SIZE_MB=${BENCH_SIZE_MB:-1024}
QUICK=${BENCH_QUICK:-0}
RAND_OPS=${BENCH_RAND_OPS:-2000}
RAND_REPS=${BENCH_RAND_REPS:-15}
SEQ_REPS=${BENCH_SEQ_REPS:-7}
REPS=3
MNT=/cloudshim-bench # the shim's mount prefix (no such folder exists)
S3_MB=$((SIZE_MB < 256 ? SIZE_MB : 256))
MANY=64    # row 4: files ...
MANY_MB=16 # ... of this size
LOCAL_ITERS=${BENCH_LOCAL_ITERS:-1000000}

for v in SIZE_MB RAND_OPS RAND_REPS SEQ_REPS; do
	case "${!v}" in '' | *[!0-9]* | 0) echo "run.sh: BENCH_$v must be a positive number" >&2; exit 2 ;; esac
done
[ -f "$SHIM" ] || { echo "run.sh: $SHIM missing: run make" >&2; exit 1; }
# Only the mounts this script sets: not the caller's.
unset CLOUDSHIM_CONFIG CLOUDSHIM_MOUNTS LD_PRELOAD

say() { echo "bench: $*" >&2; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }

nwords() { echo $#; }

fastest() { # NUMBERS -> the least of them
	printf '%s\n' "$@" | sort -g | head -n 1
}

# --- run directory and clean-up --------------------------------------------
RUNDIR=$(bench_rundir bench)
WWW=$RUNDIR/www
FSTYPE=$(stat -f -c %T "$RUNDIR")
declare -A FUSE_PID=() # mount point -> pid of the FUSE daemon

fuse_umount() {
	local mnt=$1 pid=${FUSE_PID[$1]:-} i
	if mountpoint -q "$mnt" 2>/dev/null; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || true
	fi
	if [ -n "$pid" ]; then
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	unset "FUSE_PID[$mnt]"
}

cleanup() {
	set +e
	local m still=0
	for m in "${!FUSE_PID[@]}"; do fuse_umount "$m"; done
	srv_stop "$RUNDIR/listing/nginx.pid" nginx
	"$SERVERS/nginx.sh" stop "$RUNDIR" 2>/dev/null
	"$SERVERS/s3rver.sh" stop "$RUNDIR" 2>/dev/null
	for m in "$RUNDIR"/mnt-*; do
		mountpoint -q "$m" 2>/dev/null && still=1
	done
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$still" = 1 ]; then
		say "run directory kept: $RUNDIR"
	else
		rm -rf "$RUNDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the table ---------------------------------------------------------------
TABLE=()
row() { # ID WHAT VALUE [RATIO [TARGET [NOTE]]]
	TABLE+=("$(printf '%-3s %-38s %-15s %-22s %-13s %s' "$1" "$2" "$3" \
		"${4:-}" "${5:-}" "${6:-}")")
}

# --- measuring ---------------------------------------------------------------
declare -A TIMES=() FAIL=() BUSY=() TOTAL=()
ERRLOG=$RUNDIR/bench-stderr.log
mkdir -p "$RUNDIR/slices"

# run_case KEY LOG CMD...: run CMD once (stdout to /dev/null), add its wall
# time to TIMES[KEY], the CPU counters to BUSY/TOTAL, and the lines LOG got
# meanwhile to slices/KEY.log (LOG "-": no access log).
run_case() {
	local key=$1 log=$2 before=0 t0 rc=0 c0 c1
	shift 2
	[ "$log" = - ] || before=$(wc -l <"$log")
	echo "== $key: $*" >>"$ERRLOG"
	c0=$(cpu_snap)
	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>>"$ERRLOG" || rc=$?
	TIMES[$key]+="$(calc "$EPOCHREALTIME - $t0") "
	c1=$(cpu_snap)
	BUSY[$key]=$((${BUSY[$key]:-0} + ${c1% *} - ${c0% *}))
	TOTAL[$key]=$((${TOTAL[$key]:-0} + ${c1#* } - ${c0#* }))
	if [ "$rc" -ne 0 ]; then
		FAIL[$key]="exit $rc: $(tail -n 1 "$ERRLOG" | cut -c1-80)"
	fi
	if [ "$log" != - ]; then
		srv_log_settle "$log"
		tail -n +"$((before + 1))" "$log" >>"$RUNDIR/slices/$key.log"
	fi
	return 0
}

# mibs KEY MB -> MiB/s from the median time, or why there is none
mibs() {
	local key=$1 mb=$2 t
	if [ -n "${FAIL[$key]:-}" ]; then
		echo "FAILED"
		return
	fi
	# shellcheck disable=SC2086 # a list of numbers
	t=$(median ${TIMES[$key]})
	fmt '%.0f' "$(calc "$mb / $t")"
}

span() { # UNIT, numbers on stdin -> "runs LO-HI UNIT; ", the spread a median hides
	sort -g | awk -v u="$1" 'NF { if (!n++) lo = $1; hi = $1 }
		END { if (n > 1) printf "runs %.0f-%.0f %s; ", lo, hi, u }'
}

mib_spread() { # KEY MB -> the spread of KEY's runs in MiB/s
	# shellcheck disable=SC2086 # a list of numbers
	printf '%s\n' ${TIMES[$1]:-} | awk -v mb="$2" 'NF { print mb / $1 }' | span MiB/s
}

reps_note() { # KEY -> "median of 3" / "1 run"
	local n
	# shellcheck disable=SC2086
	n=$(nwords ${TIMES[$1]:-})
	if [ "$n" -gt 1 ]; then echo "median of $n"; else echo "$n run"; fi
}

# log_note KEY FORMAT -> "1024 GET x 1.00 MiB, 16 conns, 9.8 in flight"
# FORMAT nginx: bytes $5, seconds $7, connection $8; s3rver: bytes $5, ms $7.
log_note() {
	local key=$1 format=$2 f=$RUNDIR/slices/$1.log wall reps
	[ -s "$f" ] || return 0
	# shellcheck disable=SC2086 # lists of numbers
	{
		wall=$(printf '%s\n' ${TIMES[$key]} | awk '{ s += $1 } END { print s }')
		reps=$(nwords ${TIMES[$key]})
	}
	awk -F'\t' -v fmt="$format" -v wall="$wall" -v reps="$reps" '
		$1 == "GET" { n++; b += $5; t += (fmt == "nginx") ? $7 : $7 / 1000
			if (fmt == "nginx") c[$8] = 1 }
		END {
			if (n == 0) { printf "no GET"; exit }
			avg = b / n
			if (avg >= 1048576) printf "%d GET x %.2f MiB", n / reps, avg / 1048576
			else printf "%d GET x %.0f KiB", n / reps, avg / 1024
			if (fmt == "nginx") { k = 0; for (i in c) k++; printf ", %d conns", k / reps }
			# request times have a resolution of 1 ms: too coarse for small GETs
			if (wall > 0 && avg >= 1048576) printf ", %.1f in flight", t / wall
		}' "$f"
}

# fetched KEY -> bytes of GET bodies in the slice
fetched() {
	awk -F'\t' '$1 == "GET" { b += $5 } END { print b + 0 }' "$RUNDIR/slices/$1.log" 2>/dev/null || echo 0
}

# amp KEY BYTES-PER-RUN -> bytes fetched / bytes returned over KEY's runs
amp() {
	local n
	# shellcheck disable=SC2086
	n=$(nwords ${TIMES[$1]:-})
	awk -v f="$(fetched "$1")" -v r="$(($2 * n))" 'BEGIN { if (r > 0) printf "%.2f", f / r; else print "-" }'
}

# --- build the programs --------------------------------------------------------
mkdir -p "$BIN"
CFLAGS_BENCH=(-std=c11 -O2 -Wall -Wextra -Werror -pthread)
for p in randread randread_curl openmany localcalls; do
	extra=()
	# shellcheck disable=SC2207 # pkg-config's words
	[ "$p" = randread_curl ] && extra=($(pkg-config --cflags --libs libcurl 2>/dev/null || echo -lcurl))
	gcc "${CFLAGS_BENCH[@]}" -o "$BIN/$p" "$ROOT/bench/$p.c" "${extra[@]}"
done

# --- servers and data ----------------------------------------------------------
say "run directory $RUNDIR ($FSTYPE)"
"$SERVERS/nginx.sh" start "$RUNDIR"
# shellcheck disable=SC1091
. "$RUNDIR/nginx.env"
LOG=$RUNDIR/nginx_access.log

say "creating a $SIZE_MB MiB object and $MANY files of $MANY_MB MiB"
head -c 64M /dev/urandom >"$RUNDIR/block"
: >"$WWW/obj.bin"
for ((i = 0; i < (SIZE_MB + 63) / 64; i++)); do cat "$RUNDIR/block" >>"$WWW/obj.bin"; done
truncate -s "${SIZE_MB}M" "$WWW/obj.bin"
mkdir -p "$WWW/many"
for ((i = 0; i < MANY; i++)); do
	dd if="$RUNDIR/block" of="$WWW/many/$(printf %02d "$i").bin" bs=1M \
		skip=$((i % (64 - MANY_MB))) count="$MANY_MB" status=none
done
chmod -R a+rX "$WWW"
SIZE=$(stat -c %s "$WWW/obj.bin")

# shim CMD...: run CMD with the shim preloaded and /cloudshim-bench mounted on
# $SHIM_URL (and any CLOUDSHIM_*/AWS_* given before CMD through env).
shim() { env LD_PRELOAD="$SHIM" CLOUDSHIM_MOUNTS="$MNT=$SHIM_URL" "$@"; }

# check_data KEY URL FILE: one untimed read through the shim compared with the
# local file; a mismatch marks KEY failed.
check_data() {
	local key=$1 url=$2 file=$3 obj=${3##*/}
	if ! SHIM_URL=$url shim cmp "$MNT/$obj" "$file" >/dev/null 2>>"$ERRLOG"; then
		FAIL[$key]="wrong bytes: cmp through the shim failed"
	fi
}

# par_curl URL N: N ranged GETs of the object at once; fails if any fails.
par_curl() {
	local url=$1 n=$2 chunk i from to pids=() rc=0 p
	chunk=$(((SIZE + n - 1) / n))
	for ((i = 0; i < n; i++)); do
		from=$((i * chunk))
		to=$((from + chunk - 1 < SIZE - 1 ? from + chunk - 1 : SIZE - 1))
		curl -sf -o /dev/null -r "$from-$to" "$url" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=$?; done
	return "$rc"
}

settings() {
	local v out=
	for v in CLOUDSHIM_CONNECTIONS CLOUDSHIM_PART_SIZE_MB CLOUDSHIM_READAHEAD_MB CLOUDSHIM_CACHE_MB; do
		[ -n "${!v:-}" ] && out+=" $v=${!v}"
	done
	echo "${out:- shim defaults}"
}

# === row 1: sequential read ====================================================
say "row 1: sequential reads of $SIZE_MB MiB (raw: 1 curl, 8 parallel; shaped: 16 parallel)"
check_data r1_raw_shim "$NGINX_URL" "$WWW/obj.bin"
check_data r1_shp_shim "$NGINX_SHAPED_URL" "$WWW/obj.bin"
for ((r = 0; r < SEQ_REPS; r++)); do
	run_case r1_tmpfs - cat "$WWW/obj.bin"
	run_case r1_raw_curl "$LOG" curl -sf -o /dev/null "$NGINX_URL/obj.bin"
	run_case r1_raw_par "$LOG" par_curl "$NGINX_URL/obj.bin" 8
	SHIM_URL=$NGINX_URL run_case r1_raw_shim "$LOG" shim cat "$MNT/obj.bin"
	run_case r1_shp_par "$LOG" par_curl "$NGINX_SHAPED_URL/obj.bin" 16
	SHIM_URL=$NGINX_SHAPED_URL run_case r1_shp_shim "$LOG" shim cat "$MNT/obj.bin"
done
# One stream at 80 MB/s takes 13 s per GiB: one run is enough.
run_case r1_shp_curl "$LOG" curl -sf -o /dev/null "$NGINX_SHAPED_URL/obj.bin"

tmpfs=$(mibs r1_tmpfs "$SIZE_MB")
raw_curl=$(mibs r1_raw_curl "$SIZE_MB")
raw_par=$(mibs r1_raw_par "$SIZE_MB")
raw_shim=$(mibs r1_raw_shim "$SIZE_MB")
shp_curl=$(mibs r1_shp_curl "$SIZE_MB")
shp_par=$(mibs r1_shp_par "$SIZE_MB")
shp_shim=$(mibs r1_shp_shim "$SIZE_MB")
row 1 "cat, $FSTYPE (same file)" "$tmpfs MiB/s" "" "" "$(reps_note r1_tmpfs); $(cpu_note r1_tmpfs)"
row 1 "raw: one curl stream" "$raw_curl MiB/s" "" "" \
	"$(mib_spread r1_raw_curl "$SIZE_MB")$(reps_note r1_raw_curl); $(cpu_note r1_raw_curl)"
row 1 "raw: 8 parallel ranged curl" "$raw_par MiB/s" "" "" "$(reps_note r1_raw_par); $(cpu_note r1_raw_par)"
row 1 "raw: shim cat" "$raw_shim MiB/s" \
	"$(ratio "$raw_shim" "$raw_curl") x one curl" "$(verdict "$(ratio "$raw_shim" "$raw_curl")" '>=' 0.8)" \
	"${FAIL[r1_raw_shim]:-$(mib_spread r1_raw_shim "$SIZE_MB")$(log_note r1_raw_shim nginx); fetched x$(amp r1_raw_shim "$SIZE"); $(cpu_note r1_raw_shim)}"
row "" "" "" "$(ratio "$raw_shim" "$raw_par") x 8 parallel" "-"
row "" "" "" "$(ratio "$raw_shim" "$tmpfs") x $FSTYPE" "-"
row 1 "shaped: one curl stream" "$shp_curl MiB/s" "" "" "$(reps_note r1_shp_curl)"
row 1 "shaped: 16 parallel ranged curl" "$shp_par MiB/s" "" "" "$(reps_note r1_shp_par); $(cpu_note r1_shp_par)"
row 1 "shaped: shim cat" "$shp_shim MiB/s" \
	"$(ratio "$shp_shim" "$shp_par") x 16 parallel" "$(verdict "$(ratio "$shp_shim" "$shp_par")" '>=' 0.85)" \
	"${FAIL[r1_shp_shim]:-$(log_note r1_shp_shim nginx); fetched x$(amp r1_shp_shim "$SIZE"); $(cpu_note r1_shp_shim)}"
row "" "" "" "$(ratio "$shp_shim" "$shp_curl") x one curl" "-"

# === row 2: random preads ======================================================
say "row 2: random preads, $RAND_OPS per run, $RAND_REPS runs per cell"
# randrun KEY CMD...: run a randread program, keep its IOPS and checksum.
declare -A IOPS=() CHECK=()
randrun() {
	local key=$1 out
	shift
	run_case "$key" "$LOG" "$@"
	out=$(tail -n 1 "$RUNDIR/last.out" 2>/dev/null || true)
	IOPS[$key]+="$(sed -n 's/.*iops=\([0-9.]*\).*/\1/p' <<<"$out") "
	CHECK[$key]=$(sed -n 's/.*check=\([0-9a-f]*\).*/\1/p' <<<"$out")
}
iops_of() { # KEY -> median IOPS of its runs, FAILED, or - when none
	local v
	if [ -n "${FAIL[$1]:-}" ]; then echo FAILED; return; fi
	# shellcheck disable=SC2086 # a list of numbers
	v=$(median ${IOPS[$1]:-} 2>/dev/null) || { echo -; return; }
	fmt '%.0f' "$v"
}
spread() { # KEY -> the spread of KEY's runs in IOPS: the lottery each median hides
	# shellcheck disable=SC2086 # a list of numbers
	printf '%s\n' ${IOPS[$1]:-} | span IOPS
}
# same_bytes KEY: KEY's reads returned what curl's did (KEY's cell, _curl), or KEY fails
same_bytes() {
	local ref=${1%_*}_curl
	[ -n "${FAIL[$1]:-}" ] || [ "${CHECK[$1]:-}" = "${CHECK[$ref]:-}" ] ||
		FAIL[$1]="WRONG BYTES: checksum ${CHECK[$1]:-none}"
}
# The programs print one line; run_case discards stdout, so they write here.
to_last() { "$@" >"$RUNDIR/last.out"; }
for bs in 4096 65536 262144; do
	for thr in 1 4; do
		k=r2_${bs}_$thr
		for ((r = 0; r < RAND_REPS; r++)); do
			randrun "${k}_curl" to_last "$BIN/randread_curl" "$NGINX_URL/obj.bin" \
				"$SIZE" "$bs" "$thr" "$RAND_OPS" 42
			SHIM_URL=$NGINX_URL randrun "${k}_shim" to_last shim "$BIN/randread" \
				"$MNT/obj.bin" "$SIZE" "$bs" "$thr" "$RAND_OPS" 42
			SHIM_URL=$NGINX_URL randrun "${k}_warm" to_last shim CLOUDSHIM_CACHE_MB=32 \
				CLOUDSHIM_READAHEAD_MB=8 "$BIN/randread" "$MNT/obj.bin" "$SIZE" "$bs" \
				"$thr" "$RAND_OPS" 42 48
		done
		ci=$(iops_of "${k}_curl")
		si=$(iops_of "${k}_shim")
		wi=$(iops_of "${k}_warm")
		label="$((bs / 1024)) KiB, $thr thr"
		note=
		if [ "$si" != FAILED ] && [ "${CHECK[${k}_shim]:-}" != "${CHECK[${k}_curl]:-}" ]; then
			note="WRONG BYTES: checksum ${CHECK[${k}_shim]:-none} vs ${CHECK[${k}_curl]:-none}; "
		fi
		row 2 "$label: curl GET per read" "$ci IOPS" "" "" "$(spread "${k}_curl")$(log_note "${k}_curl" nginx)"
		row 2 "$label: shim pread" "$si IOPS" \
			"$(ratio "$si" "$ci") x curl" "$(verdict "$(ratio "$si" "$ci")" '>=' 0.9)" \
			"${note}${FAIL[${k}_shim]:-$(spread "${k}_shim")$(log_note "${k}_shim" nginx); $(cpu_note "${k}_shim")}"
		same_bytes "${k}_warm"
		row 2 "$label: shim, cache full" "$wi IOPS" "$(ratio "$wi" "$ci") x curl" "-" \
			"${FAIL[${k}_warm]:-CACHE_MB=32, filled first; $(spread "${k}_warm")$(cpu_note "${k}_warm")}"
		fr=$(amp "${k}_shim" "$((RAND_OPS * bs))")
		target=-
		[ "$bs" = 4096 ] || target=$(verdict "$fr" '<=' 2)
		row 2 "$label: shim fetched/returned" "$fr" "" "$target" \
			"curl: $(amp "${k}_curl" "$((RAND_OPS * bs))")"
	done
done

# The 1-thread reads again with nginx and the reader on one CPU.
same_core() { # CPUS: nginx's master and workers onto them
	local master p
	master=$(cat "$RUNDIR/nginx.pid") || return 1
	for p in "$master" $(pgrep -P "$master"); do
		taskset -a -p -c "$1" "$p" >/dev/null || return 1
	done
}
last_cpu=$(($(nproc) - 1))
if command -v taskset >/dev/null && same_core "$last_cpu"; then
	for bs in 4096 65536 262144; do
		k=r2_${bs}_core
		for ((r = 0; r < RAND_REPS; r++)); do
			randrun "${k}_curl" to_last taskset -c "$last_cpu" "$BIN/randread_curl" \
				"$NGINX_URL/obj.bin" "$SIZE" "$bs" 1 "$RAND_OPS" 42
			SHIM_URL=$NGINX_URL randrun "${k}_shim" to_last shim taskset -c "$last_cpu" \
				"$BIN/randread" "$MNT/obj.bin" "$SIZE" "$bs" 1 "$RAND_OPS" 42
		done
		ci=$(iops_of "${k}_curl")
		si=$(iops_of "${k}_shim")
		same_bytes "${k}_shim"
		row 2 "$((bs / 1024)) KiB, 1 thr, one core: shim" "$si IOPS" "$(ratio "$si" "$ci") x curl" "-" \
			"${FAIL[${k}_shim]:-curl $ci IOPS, $(spread "${k}_curl" | sed 's/; $//'); shim $(spread "${k}_shim" | sed 's/; $//')}"
	done
	same_core "0-$last_cpu" || say "could not give nginx its CPUs back"
else
	row 2 "1 thr, one core" "skipped" "" "" "taskset missing, or nginx would not move"
fi

# === row 3: FUSE tools on the same servers ======================================
# fuse_mount MNT LOGFILE CMD...: start a FUSE daemon that stays in the
# foreground; wait until MNT is a mount point. Prints nothing; returns 1 (and
# leaves the reason in LOGFILE) if it died or took longer than 30 s.
fuse_mount() {
	local mnt=$1 log=$2 pid i
	shift 2
	mkdir -p "$mnt"
	"$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	FUSE_PID[$mnt]=$pid
	for ((i = 0; i < 600; i++)); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	fuse_umount "$mnt"
	return 1
}
why() { # LOGFILE -> its last meaningful line, short
	grep -v '^\s*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-100
}

if [ "$QUICK" = 1 ]; then
	row 3 "FUSE peers" "skipped" "" "" "BENCH_QUICK=1"
else
	say "row 3: rclone mount (nginx) and s3fs (s3rver) beside the shim"
	# rclone's http remote reads HTML directory listings (text/html); the
	# nginx of nginx.sh answers a folder with 403 and serves everything as
	# application/octet-stream. Then this script runs its own nginx on the
	# same folder with autoindex, and the shim is measured on it too.
	RC_URL=$NGINX_URL RC_LOG=$LOG RC_SERVER="nginx.sh raw port"
	ctype=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$NGINX_URL/" || true)
	case "$ctype" in
	"200 text/html"*) ;;
	*)
		mkdir -p "$RUNDIR/listing/tmp"
		lport=$(srv_free_port)
		cat >"$RUNDIR/listing/nginx.conf" <<EOF
$([ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);")
worker_processes 2;
pid $RUNDIR/listing/nginx.pid;
error_log $RUNDIR/listing/error.log warn;
events { worker_connections 1024; }
http {
    types { }
    default_type application/octet-stream;
    log_format tsv "\$request_method\t\$request_uri\t\$status\t\$http_range\t\$body_bytes_sent\t\$server_port\t\$request_time\t\$connection\t\$connection_requests";
    access_log $RUNDIR/listing/access.log tsv;
    sendfile on; tcp_nodelay on;  # no tcp_nopush: see tests/servers/nginx.sh
    keepalive_requests 100000; keepalive_timeout 300s;
    client_body_temp_path $RUNDIR/listing/tmp; proxy_temp_path $RUNDIR/listing/tmp;
    fastcgi_temp_path $RUNDIR/listing/tmp; uwsgi_temp_path $RUNDIR/listing/tmp;
    scgi_temp_path $RUNDIR/listing/tmp;
    server { listen 127.0.0.1:$lport; root $WWW; location / { autoindex on; } }
}
EOF
		if /usr/sbin/nginx -p "$RUNDIR/listing/" -e "$RUNDIR/listing/error.log" \
			-c "$RUNDIR/listing/nginx.conf" </dev/null >"$RUNDIR/listing/out" 2>&1 &&
			srv_wait_http "http://127.0.0.1:$lport/" "$RUNDIR/listing/nginx.pid" \
				"$RUNDIR/listing/error.log" 10 >/dev/null; then
			RC_URL=http://127.0.0.1:$lport RC_LOG=$RUNDIR/listing/access.log
			RC_SERVER="bench's own nginx with autoindex (nginx.sh: ${ctype%% *} for GET /)"
		else
			FAIL[r3_rclone]="no listing server: $(why "$RUNDIR/listing/out")"
		fi
		;;
	esac

	: >"$RUNDIR/rclone.conf"
	check_data r3_rc_shim "$RC_URL" "$WWW/obj.bin"
	for ((r = 0; r < REPS; r++)); do
		if [ -n "${FAIL[r3_rclone]:-}" ]; then
			: # no rclone numbers, but the shim's still
		elif fuse_mount "$RUNDIR/mnt-rclone" "$RUNDIR/rclone.log" \
			rclone mount :http: "$RUNDIR/mnt-rclone" --http-url "$RC_URL/" \
			--read-only --config "$RUNDIR/rclone.conf" \
			--cache-dir "$RUNDIR/rclone-cache"; then
			if [ -f "$RUNDIR/mnt-rclone/obj.bin" ]; then
				run_case r3_rclone "$RC_LOG" cat "$RUNDIR/mnt-rclone/obj.bin"
			else
				FAIL[r3_rclone]="mounted, but no obj.bin in it: $(why "$RUNDIR/rclone.log")"
			fi
			fuse_umount "$RUNDIR/mnt-rclone"
		else
			FAIL[r3_rclone]="mount failed: $(why "$RUNDIR/rclone.log")"
		fi
		SHIM_URL=$RC_URL run_case r3_rc_shim "$RC_LOG" shim cat "$MNT/obj.bin"
	done
	rc_mibs=$(mibs r3_rclone "$SIZE_MB")
	rc_shim=$(mibs r3_rc_shim "$SIZE_MB")
	if [ -n "${FAIL[r3_rclone]:-}" ]; then
		row 3 "rclone mount + cat ($SIZE_MB MiB)" "-" "" "" "${FAIL[r3_rclone]}"
	else
		row 3 "rclone mount + cat ($SIZE_MB MiB)" "$rc_mibs MiB/s" "" "" \
			"$RC_SERVER; $(log_note r3_rclone nginx); $(cpu_note r3_rclone)"
	fi
	row 3 "shim cat, same nginx" "$rc_shim MiB/s" \
		"$(ratio "$rc_shim" "$rc_mibs") x rclone" "-" \
		"${FAIL[r3_rc_shim]:-$(log_note r3_rc_shim nginx); $(cpu_note r3_rc_shim)}"

	# s3rver: slow, so a smaller object.
	if "$SERVERS/s3rver.sh" start "$RUNDIR" 2>>"$ERRLOG"; then
		# shellcheck disable=SC1091
		. "$RUNDIR/s3rver.env"
		S3LOG=$RUNDIR/s3rver_access.log
		s3env=(AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
			AWS_REGION="$AWS_REGION" AWS_EC2_METADATA_DISABLED=true)
		head -c "${S3_MB}M" "$WWW/obj.bin" >"$RUNDIR/s3obj.bin"
		if env "${s3env[@]}" /usr/bin/aws s3 cp --only-show-errors --endpoint-url "$S3_ENDPOINT" \
			"$RUNDIR/s3obj.bin" "s3://$S3_BUCKET/obj.bin" >>"$ERRLOG" 2>&1; then
			:
		else
			FAIL[r3_s3fs]="upload with aws s3 cp failed: $(why "$ERRLOG")"
		fi
		s3shim() {
			env "${s3env[@]}" CLOUDSHIM_ENDPOINT="$S3_ENDPOINT" \
				LD_PRELOAD="$SHIM" CLOUDSHIM_MOUNTS="$MNT=s3://$S3_BUCKET" "$@"
		}
		s3shim cmp "$MNT/obj.bin" "$RUNDIR/s3obj.bin" >/dev/null 2>>"$ERRLOG" ||
			FAIL[r3_s3_shim]="wrong bytes: cmp through the shim failed"
		# s3fs signs GET /bucket/ (trailing slash) in its start-up check;
		# @20minutes/s3rver signs /bucket and answers 403, and s3fs gives
		# up ("invalid credentials"). Then s3fs mounts anonymously
		# (public_bucket=1), which s3rver accepts.
		echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" >"$RUNDIR/s3fs.passwd"
		chmod 600 "$RUNDIR/s3fs.passwd"
		s3fs_mount() { # AUTH-OPTION
			fuse_mount "$RUNDIR/mnt-s3fs" "$RUNDIR/s3fs.log" s3fs "$S3_BUCKET" \
				"$RUNDIR/mnt-s3fs" -f -o "url=$S3_ENDPOINT,use_path_request_style,$1"
		}
		s3fs_auth=passwd_file=$RUNDIR/s3fs.passwd S3FS_NOTE="signed"
		if [ -n "${FAIL[r3_s3fs]:-}" ]; then
			:
		elif s3fs_mount "$s3fs_auth"; then
			fuse_umount "$RUNDIR/mnt-s3fs"
		elif s3fs_mount public_bucket=1; then
			fuse_umount "$RUNDIR/mnt-s3fs"
			S3FS_NOTE="signed mount failed (s3fs: $(grep -o 'invalid credentials' "$RUNDIR/s3fs.log" | head -n 1 || true)"
			if grep -qP "^GET\t/$S3_BUCKET/\t403" "$S3LOG"; then
				S3FS_NOTE+=", s3rver: 403 to its GET /$S3_BUCKET/"
			fi
			S3FS_NOTE+="), so anonymous (public_bucket=1)"
			s3fs_auth=public_bucket=1
		else
			FAIL[r3_s3fs]="mount failed: $(why "$RUNDIR/s3fs.log")"
		fi
		curl -s -o /dev/null "$S3_ENDPOINT/$S3_BUCKET/obj.bin" # wake node up
		for ((r = 0; r < REPS; r++)); do
			if [ -n "${FAIL[r3_s3fs]:-}" ]; then
				: # no s3fs numbers, but the shim's still
			elif ! s3fs_mount "$s3fs_auth"; then
				FAIL[r3_s3fs]="mount failed: $(why "$RUNDIR/s3fs.log")"
			elif [ -f "$RUNDIR/mnt-s3fs/obj.bin" ]; then
				run_case r3_s3fs "$S3LOG" cat "$RUNDIR/mnt-s3fs/obj.bin"
				fuse_umount "$RUNDIR/mnt-s3fs"
			else
				FAIL[r3_s3fs]="mounted, but no obj.bin in it: $(why "$RUNDIR/s3fs.log")"
				fuse_umount "$RUNDIR/mnt-s3fs"
			fi
			run_case r3_s3_curl "$S3LOG" curl -sf -o /dev/null "$S3_ENDPOINT/$S3_BUCKET/obj.bin"
			run_case r3_s3_shim "$S3LOG" s3shim cat "$MNT/obj.bin"
		done
		s3_curl=$(mibs r3_s3_curl "$S3_MB")
		s3fs_mibs=$(mibs r3_s3fs "$S3_MB")
		s3_shim=$(mibs r3_s3_shim "$S3_MB")
		row 3 "s3rver: one curl stream ($S3_MB MiB)" "$s3_curl MiB/s" "" "" \
			"object of $S3_MB MiB: s3rver is slow; $(reps_note r3_s3_curl)"
		if [ -n "${FAIL[r3_s3fs]:-}" ]; then
			row 3 "s3fs + cat ($S3_MB MiB)" "-" "" "" "${FAIL[r3_s3fs]}"
		else
			row 3 "s3fs + cat ($S3_MB MiB)" "$s3fs_mibs MiB/s" "" "" \
				"$S3FS_NOTE; $(log_note r3_s3fs s3rver); $(cpu_note r3_s3fs)"
		fi
		row 3 "shim cat, same s3rver (SigV4)" "$s3_shim MiB/s" \
			"$(ratio "$s3_shim" "$s3fs_mibs") x s3fs" "-" \
			"${FAIL[r3_s3_shim]:-$(log_note r3_s3_shim s3rver); $(cpu_note r3_s3_shim)}"
		row "" "" "" "$(ratio "$s3_shim" "$s3_curl") x one curl" "-"
	else
		row 3 "s3fs on s3rver" "-" "" "" "s3rver.sh start failed: $(why "$ERRLOG")"
	fi
fi

# === row 4: memory with many files open ===========================================
say "row 4: peak RSS, $MANY files of $MANY_MB MiB open at once"
declare -A RSS=()
rssrun() {
	local key=$1 out
	shift
	run_case "$key" "$LOG" to_last "$@"
	out=$(cat "$RUNDIR/last.out" 2>/dev/null || true)
	RSS[$key]+="$(sed -n 's/.*maxrss_kib=\([0-9]*\).*/\1/p' <<<"$out") "
	case "$out" in
	*"bytes=$((MANY * MANY_MB * 1048576)) "*) ;;
	*) FAIL[$key]=${FAIL[$key]:-"read $(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"$out") bytes, not $((MANY * MANY_MB)) MiB"} ;;
	esac
}
for ((r = 0; r < REPS; r++)); do
	rssrun r4_local "$BIN/openmany" "$WWW/many" "$MANY"
	SHIM_URL=$NGINX_URL rssrun r4_shim shim CLOUDSHIM_CACHE_MB=256 \
		"$BIN/openmany" "$MNT/many" "$MANY"
	# the same reads from the shaped server through 1 MiB of cache a file:
	# what is read ahead must still reach its reader
	SHIM_URL=$NGINX_SHAPED_URL rssrun r4_turns shim CLOUDSHIM_CACHE_MB=$MANY \
		"$BIN/openmany" "$MNT/many" "$MANY"
done
rss_mib() { # KEY -> median peak RSS in MiB
	# shellcheck disable=SC2086
	if [ -n "${FAIL[$1]:-}" ]; then echo FAILED; else fmt '%.1f' "$(calc "$(median ${RSS[$1]}) / 1024")"; fi
}
local_rss=$(rss_mib r4_local)
shim_rss=$(rss_mib r4_shim)
row 4 "openmany, local files (no shim)" "$local_rss MiB" "" "" "$(reps_note r4_local); program's own baseline"
row 4 "openmany via shim, CACHE_MB=256" "$shim_rss MiB" \
	"$(ratio "$shim_rss" 256) x cache bound" "$(verdict "$(ratio "$shim_rss" 256)" '<=' 1.10)" \
	"${FAIL[r4_shim]:-bound 256 MiB (+10% = 281.6); $(mibs r4_shim $((MANY * MANY_MB))) MiB/s; $(log_note r4_shim nginx); fetched x$(amp r4_shim $((MANY * MANY_MB * 1048576)))}"
row 4 "same, shaped nginx, CACHE_MB=$MANY" "$(mibs r4_turns $((MANY * MANY_MB))) MiB/s" "" "-" \
	"${FAIL[r4_turns]:-1 MiB of cache a file, read in turn; peak $(rss_mib r4_turns) MiB; $(log_note r4_turns nginx); fetched x$(amp r4_turns $((MANY * MANY_MB * 1048576)))}"

# === row 5: cost outside mounts =====================================================
# Each round runs every side at once, pinned to the same CPU, and takes each
# one's own CPU time per iteration; the ratio is the median over the rounds
# of each round's ratio.  Run one after another, the sides could not be told
# apart here: this VM's speed drifts by a third between runs seconds apart
# (5.7-7.9 us per iteration in consecutive runs of the same side), while
# sides sharing a CPU at once meet the same drift.  Two more sides say what
# the machine itself charges: an empty library preloaded (the noise floor:
# no code of its own runs) and bench/forward.c, which wraps the four calls
# and only passes them on (what interposing costs at all: on a kernel with
# page-table isolation and no PCID, every system call empties the TLB, and
# each page a wrapper touches is a TLB miss again after each call).
# valgrind, where present, adds the instructions per iteration, which no
# other load on the machine changes.
if [ "$QUICK" = 1 ]; then
	row 5 "open/fstat/read/close, local" "skipped" "" "" "BENCH_QUICK=1"
else
	say "row 5: $LOCAL_ITERS local open/fstat/read/close, 9 rounds of 4 sides at once"
	head -c 4096 "$RUNDIR/block" >"$RUNDIR/local.bin"
	mkdir -p "$RUNDIR/elsewhere"
	printf 'int cloudshim_bench_empty;\n' | gcc -shared -fPIC -x c -o "$BIN/empty.so" -
	gcc "${CFLAGS_BENCH[@]}" -shared -fPIC -o "$BIN/forward.so" "$ROOT/bench/forward.c" -ldl
	R5_SIDES=(plain shim forward empty)
	declare -A R5=() INSNS=()
	r5_pre() {	# the command prefix of a side
		case $1 in
		shim) echo env LD_PRELOAD="$SHIM" \
			CLOUDSHIM_MOUNTS="/cloudshim-elsewhere=file://$RUNDIR/elsewhere" ;;
		forward) echo env LD_PRELOAD="$BIN/forward.so" ;;
		empty) echo env LD_PRELOAD="$BIN/empty.so" ;;
		esac
	}
	pin=()
	command -v taskset >/dev/null && pin=(taskset -c "$(($(nproc) - 1))")
	for ((r = 0; r < 9; r++)); do
		pids=()
		for side in "${R5_SIDES[@]}"; do
			echo "== r5_$side round $r" >>"$ERRLOG"
			# shellcheck disable=SC2046 # the prefix's words
			$(r5_pre "$side") "${pin[@]}" "$BIN/localcalls" "$RUNDIR/local.bin" \
				"$LOCAL_ITERS" >"$RUNDIR/r5_$side.out" 2>>"$ERRLOG" &
			pids+=($!)
		done
		i=0
		for side in "${R5_SIDES[@]}"; do
			wait "${pids[$i]}" || FAIL[r5_$side]="exit $?: $(tail -n 1 "$ERRLOG" | cut -c1-80)"
			i=$((i + 1))
		done
		for side in "${R5_SIDES[@]}"; do
			R5[$side]+="$(sed -n 's/.*cpu_ns_per_iter=\([0-9.]*\).*/\1/p' "$RUNDIR/r5_$side.out") "
		done
	done
	if command -v valgrind >/dev/null; then
		for side in plain shim; do
			for n in 1 100001; do
				# shellcheck disable=SC2046
				INSNS[$side]+="$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
					--trace-children=yes $(r5_pre "$side") "$BIN/localcalls" \
					"$RUNDIR/local.bin" $n 2>&1 | sed -n 's/.*refs: *//p' | tail -n 1 | tr -d ,) "
			done
		done
	fi
	# per iteration, without start-up: (I(100001) - I(1)) / 100000
	insns() { awk -v w="${INSNS[$1]:-}" 'BEGIN { split(w, a, " "); if (a[2]) printf "%.0f", (a[2] - a[1]) / 100000; else print "-" }'; }
	# SIDE -> "MEDIAN LO HI" of its per-round ratios to plain
	r5_ratios() {
		awk -v s="${R5[$1]}" -v p="${R5[plain]}" 'BEGIN {
			n = split(s, a, " "); split(p, b, " ")
			for (i = 1; i <= n; i++) r[i] = a[i] / b[i]
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			printf "%.3f %.3f %.3f", (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2, r[1], r[n] }'
	}
	r5_ns() { # shellcheck disable=SC2086 # a list of numbers
		fmt '%.0f' "$(median ${R5[$1]})"; }
	r5_failed=
	for side in "${R5_SIDES[@]}"; do
		[ -z "${FAIL[r5_$side]:-}" ] || r5_failed=${FAIL[r5_$side]}
	done
	if [ -n "$r5_failed" ]; then
		row 5 "open/fstat/read/close, local" "FAILED" "" "" "$r5_failed"
	else
		read -r r5 r5_lo r5_hi <<<"$(r5_ratios shim)"
		read -r r5f r5f_lo r5f_hi <<<"$(r5_ratios forward)"
		read -r r5e r5e_lo r5e_hi <<<"$(r5_ratios empty)"
		row 5 "open/fstat/read/close, no shim" "$(r5_ns plain) ns/iter" "" "" \
			"CPU time, median of 9 rounds; $(insns plain) instructions/iter"
		row 5 "same with the shim, mount elsewhere" "$(r5_ns shim) ns/iter" \
			"$r5 x no shim" "$(verdict "$r5" '<=' 1.02)" \
			"median of 9 rounds' ratios (rounds $r5_lo-$r5_hi); $(insns shim) instructions/iter"
		row 5 "same with four pass-through wrappers" "$(r5_ns forward) ns/iter" \
			"$r5f x no shim" "-" \
			"bench/forward.c: what interposing costs here (rounds $r5f_lo-$r5f_hi)"
		row 5 "same with an empty library preloaded" "$(r5_ns empty) ns/iter" \
			"$r5e x no shim" "-" \
			"the noise floor: no code of its own runs (rounds $r5e_lo-$r5e_hi)"
	fi
	# Starting a program: what the shim loads before main (libcurl and the
	# thirty libraries behind it wait for the first request).
	start_ms() {	# SIDE -> milliseconds per start of /bin/true, through env, 100 starts
		local t0=$EPOCHREALTIME i pre=()
		# shellcheck disable=SC2207 # the prefix's words
		pre=($(r5_pre "$1"))
		[ "${#pre[@]}" -gt 0 ] || pre=(env)
		for ((i = 0; i < 100; i++)); do "${pre[@]}" /bin/true; done
		awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", (b - a) * 10 }'
	}
	declare -A START=()
	for ((r = 0; r < 5; r++)); do
		for side in plain shim; do
			START[$side]+="$(start_ms "$side") "
		done
	done
	# shellcheck disable=SC2086 # a list of numbers
	{
		st_plain=$(fastest ${START[plain]})
		st_shim=$(fastest ${START[shim]})
	}
	row 5 "start of /bin/true, no shim" "$st_plain ms" "" "" "env /bin/true, fastest of 5 rounds of 100"
	row 5 "same with the shim, mount elsewhere" "$st_shim ms" \
		"$(ratio "$st_shim" "$st_plain") x no shim" "-" \
		"libcurl and libcrypto are opened at first use, not at start"
fi

# --- the table -----------------------------------------------------------------
{
	echo
	echo "cloudshim benchmarks  $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+changes')"
	echo "object $SIZE_MB MiB ($FSTYPE), $(nproc) cores, $REPS runs per cell unless noted,$(settings)"
	printf '%-3s %-38s %-15s %-22s %-13s %s\n' "#" "measurement" "result" "ratio" "target" "notes"
	printf '%s\n' "${TABLE[@]}"
	echo "ratio: shim / baseline. GET counts and sizes per run, from the access logs; conns: distinct"
	echo "connections; in flight: summed request time / wall time; cpu: whole machine, 100% = all cores."
} | sed 's/ *$//'

# listing: ls -l and find against one ListObjectsV2 pagination with curl
"$ROOT/bench/lsfind.sh" || echo "bench/lsfind.sh failed"
# writes: 1 GiB until close and until durable, and 1,000 small files
"$ROOT/bench/write.sh" || echo "bench/write.sh failed"
