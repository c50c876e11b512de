#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/write.sh - writing through the shim beside the same bytes written to
# tmpfs and PUT by curl, against s3rver and Ceph's radosgw, in one run.
# Prints one table (the columns of bench/run.sh); nothing is asserted.
#
#   bench/write.sh          (bench/run.sh may call it after its own table)
#
# Rows:
#   7  one 1 GiB file written sequentially (8 MiB writes) by one program
#      (bench/writebench.c): to tmpfs; through the shim until close returns
#      (target >= 0.8 x tmpfs speed, the tmpfs write run again just before
#      each shim run, while the server runs); through the shim until
#      durable, that is until the program has exited (the shim waits for
#      its uploads at exit), beside N parallel curl PUTs of the same bytes
#      as 8 MiB objects
#      (N = the shim's connections; target <= 1.2 x curl's time)
#      (the default checksum, auto: the signed SHA-256 on a CPU with SHA
#      instructions, else Content-MD5), and once more with
#      CLOUDSHIM_CHECKSUM=md5; for reference, the same parts sent
#      by curl as one multipart upload (create, N parts at a time, complete),
#      which is what the shim sends: a server whose completion costs time
#      by the byte (s3rver copies every part into the object) shows here;
#      and the N parallel PUTs again with the checksum the shim sends (each
#      part's SHA-256, by openssl, signed): what the store's check costs both
#      ends, which the UNSIGNED-PAYLOAD baseline does not pay
#   8  1,000 files of 64 KiB written by one program, until durable (exit),
#      beside the same PUTs by curl (xargs -P 16): files per second
#   9  row 7's until-durable pair again, shaped like a store across a network
#      (bench/shapeproxy.c in front of the server: SHAPE_MBPS per connection
#      each way, SHAPE_MS to each answer's first byte), where sending parts
#      while the file is written and in parallel is what counts
#  10  row 7's file written to a file:// mount (no server to share the CPU
#      with) until durable, alone and beside one busy loop per core at the
#      default priority: the uploads the program waits for at exit must
#      not be starved by the machine's other work
#
# Environment:
#   BENCH_WRITE_MB=1024        row 7's file
#   BENCH_WRITE_FILES=1000     row 8's files (64 KiB each)
#   BENCH_WRITE_SERVERS="s3rver radosgw"
#   SHAPE_MBPS=40 SHAPE_MS=20  row 9's shaping
#   BENCH_WARM_MB=SIZE+512     written to tmpfs and deleted before every timed
#                              cell (see warm_memory); 0: never
#   BENCH_QUICK=1              256 MiB, 200 files, one run per cell
#   BENCH_BUILD=DIR            where libcloudshim.so is (default build/)
#   BENCH_KEEP=1               keep the run directory
#   BENCH_TMPDIR               where the run directory goes (default /dev/shm
#                              when it is a tmpfs, else /tmp); the shim's
#                              staging directory is made in it
#   CLOUDSHIM_CONNECTIONS, CLOUDSHIM_PART_SIZE_MB   passed to the shim, and
#                              used for curl's parallelism and part size
#
# curl signs with its own SigV4 (--aws-sigv4) and sends
# x-amz-content-sha256: UNSIGNED-PAYLOAD, which radosgw requires.  Every
# object is checked once (MD5 of a signed GET) before its numbers count.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS=$ROOT/tests/servers
# shellcheck source=../tests/servers/lib.sh
. "$SERVERS/lib.sh"
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"

BUILD=${BENCH_BUILD:-$ROOT/build}
SHIM=$BUILD/libcloudshim.so
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	SIZE_MB=${BENCH_WRITE_MB:-256} FILES=${BENCH_WRITE_FILES:-200} REPS=1
else
	SIZE_MB=${BENCH_WRITE_MB:-1024} FILES=${BENCH_WRITE_FILES:-1000} REPS=3
fi
FILE_KB=64
# what the default checksum picks here (backend/body.c): the flag the kernel lists
SUM_AUTO=md5
grep -qwE 'sha_ni|sha2' /proc/cpuinfo && SUM_AUTO=sha256
SERVER_LIST=${BENCH_WRITE_SERVERS:-s3rver radosgw}
CONNS=${CLOUDSHIM_CONNECTIONS:-16}
PART_MB=${CLOUDSHIM_PART_SIZE_MB:-8}
SMALL_PAR=16
MNT=/cloudshim-wbench
SHAPE_MBPS=${SHAPE_MBPS:-40}
SHAPE_MS=${SHAPE_MS:-20}
WARM_MB=${BENCH_WARM_MB:-$((SIZE_MB + 512))}

for v in SIZE_MB FILES CONNS PART_MB; do
	case "${!v}" in '' | *[!0-9]* | 0) echo "write.sh: $v must be a positive number" >&2; exit 2 ;; esac
done
case $WARM_MB in '' | *[!0-9]*) echo "write.sh: BENCH_WARM_MB must be a number (0: no warming)" >&2; exit 2 ;; esac
[ -f "$SHIM" ] || { echo "write.sh: $SHIM missing: run make" >&2; exit 1; }
unset CLOUDSHIM_CONFIG CLOUDSHIM_MOUNTS LD_PRELOAD

say() { echo "write: $*" >&2; }
RUNDIR=$(bench_rundir wbench)
chmod 755 "$RUNDIR"
FSTYPE=$(stat -f -c %T "$RUNDIR")
ERRLOG=$RUNDIR/stderr.log
shaper_pid=
hog_pids=()
cleanup() {
	set +e
	local s
	[ -n "$shaper_pid" ] && kill "$shaper_pid" 2>/dev/null
	[ "${#hog_pids[@]}" -gt 0 ] && kill "${hog_pids[@]}" 2>/dev/null
	for s in $SERVER_LIST; do "$SERVERS/$s.sh" stop "$RUNDIR/$s" >/dev/null 2>&1; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "run directory kept: $RUNDIR"; else rm -rf "$RUNDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the program and the bytes -------------------------------------------------------
gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$RUNDIR/writebench" "$ROOT/bench/writebench.c"
gcc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$RUNDIR/shapeproxy" "$ROOT/bench/shapeproxy.c"
WB=$RUNDIR/writebench
say "run directory $RUNDIR ($FSTYPE): $SIZE_MB MiB file, $FILES x $FILE_KB KiB files"
SRC=$RUNDIR/src.bin
head -c "${SIZE_MB}M" /dev/urandom >"$SRC"
SRC_MD5=$(md5sum <"$SRC" | cut -d' ' -f1)
mkdir -p "$RUNDIR/parts" "$RUNDIR/small" "$RUNDIR/staging"
chmod 700 "$RUNDIR/staging"
split -b "${PART_MB}M" -d -a 5 "$SRC" "$RUNDIR/parts/p"
NPARTS=$(find "$RUNDIR/parts" -type f | wc -l)
head -c $((FILES * FILE_KB))K /dev/urandom >"$RUNDIR/small.bin"
split -b "${FILE_KB}K" -d -a 5 "$RUNDIR/small.bin" "$RUNDIR/small/f"

# --- measuring ---------------------------------------------------------------------------
declare -A TIMES=() FAIL=() BUSY=() TOTAL=()
# This VM hands free memory back to its host (the balloon's free page
# reporting), and a program touching it again waits for the host: a 1 GiB
# write to tmpfs after 5 idle seconds took 1.1-3.2 s, and 0.33-0.35 s right
# after 1.5 GiB was written and deleted. So every timed cell, baseline and
# shim alike, starts with that: each measures itself, not how long the
# machine was idle before it.
warm_memory() {
	[ "$WARM_MB" -gt 0 ] || return 0
	head -c $((WARM_MB << 20)) /dev/zero >"$RUNDIR/warm.bin"
	rm -f "$RUNDIR/warm.bin"
}
# timed KEY CMD...: the wall time of CMD into TIMES[KEY]; when CMD prints
# writebench's line, also its close time (KEY_close) and the time from its
# first open to its exit (KEY, instead of the wall time: start-up and
# loading the source are not counted)
timed() {
	local key=$1 t0 t1 rc=0 c0 c1 out e0 cl op
	shift
	echo "== $key: $*" >>"$ERRLOG"
	warm_memory
	c0=$(cpu_snap)
	t0=$EPOCHREALTIME
	out=$("$@" 2>>"$ERRLOG") || rc=$?
	t1=$EPOCHREALTIME
	c1=$(cpu_snap)
	BUSY[$key]=$((${BUSY[$key]:-0} + ${c1% *} - ${c0% *}))
	TOTAL[$key]=$((${TOTAL[$key]:-0} + ${c1#* } - ${c0#* }))
	e0=$(sed -n 's/.*t0_epoch=\([0-9.]*\).*/\1/p' <<<"$out")
	cl=$(sed -n 's/.*close_s=\([0-9.]*\).*/\1/p' <<<"$out")
	op=$(sed -n 's/.*open_s=\([0-9.]*\).*/\1/p' <<<"$out")
	if [ -n "$e0" ]; then
		TIMES[$key]+="$(calc "$t1 - $e0") "
		TIMES[${key}_close]+="$cl "
		TIMES[${key}_open]+="$op "
	else
		TIMES[$key]+="$(calc "$t1 - $t0") "
	fi
	[ "$rc" = 0 ] || FAIL[$key]="exit $rc: $(tail -n 1 "$ERRLOG" | cut -c1-70)"
	return 0
}
secs() { # KEY -> median seconds
	# shellcheck disable=SC2086 # a list of numbers
	median ${TIMES[$1]}
}
rate() { # KEY AMOUNT -> AMOUNT / median seconds, or FAILED
	if [ -n "${FAIL[$1]:-}" ]; then echo FAILED; return; fi
	awk -v a="$2" -v t="$(secs "$1")" 'BEGIN { printf "%.0f", a / t }'
}
each_run() { # KEY -> its seconds, run by run
	# shellcheck disable=SC2086 # a list of numbers
	printf '%s\n' ${TIMES[$1]:-} | awk '{ printf "%s%.2f", (NR > 1 ? "/" : ""), $1 } END { if (NR) print " s" }'
}
runs_note() {
	local n
	# shellcheck disable=SC2086
	n=$(printf '%s\n' ${TIMES[$1]:-} | grep -c . || true)
	if [ "$n" -gt 1 ]; then echo "median of $n"; else echo "$n run"; fi
}
TABLE=()
row() { TABLE+=("$(printf '%-3s %-38s %-15s %-22s %-13s %s' "$@")"); }

# s3curl ARGS...: curl, quiet and signed; 300 s at most, so that a request the
# server never answers fails its cell instead of hanging the run.  Exported:
# xargs runs it in child shells.
s3curl() {
	curl -sf -m 300 --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"
}
export -f s3curl
EMPTY_SHA=$(printf '' | sha256sum | cut -d' ' -f1)
obj_delete() { # KEY: a signed DELETE, so the servers' memory does not fill
	s3curl -o /dev/null -H "x-amz-content-sha256: $EMPTY_SHA" -X DELETE "$S3_ENDPOINT/$S3_BUCKET/$1" || true
}
obj_md5() { # KEY -> MD5 of the object, from a signed GET
	s3curl -H "x-amz-content-sha256: $EMPTY_SHA" "$S3_ENDPOINT/$S3_BUCKET/$1" | md5sum | cut -d' ' -f1
}
# put_dir DIR PREFIX N: every file of DIR PUT as PREFIX/NAME, N at a time;
# curl straight from xargs, as s3curl would run it, with no shell a file:
# row 8's baseline is curl's own cost per file
put_dir() {
	find "$1" -type f -printf '%f\n' | xargs -P "$3" -I{} curl -sf -m 300 -o /dev/null \
		--aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$1/{}" "$S3_ENDPOINT/$S3_BUCKET/$2/{}"
}
# put_dir_sha256 DIR PREFIX N: put_dir with each file's SHA-256 (openssl,
# which uses the CPU's SHA instructions; sha256sum is 5 x slower here)
# signed in x-amz-content-sha256, so that the server checks the body, as
# it does the shim's
put_dir_sha256() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	find "$1" -type f -printf '%f\n' | DIR=$1 URL="$S3_ENDPOINT/$S3_BUCKET/$2" xargs -P "$3" -I{} \
		bash -c 'sum=$(openssl dgst -sha256 -r "$DIR/$0") && s3curl -o /dev/null \
			-H "x-amz-content-sha256: ${sum%% *}" -T "$DIR/$0" "$URL/$0"' {}
}
# put_multipart DIR KEY N: DIR's files, in name order, as the parts of one
# multipart upload of KEY, N parts at a time: the shim's requests, sent by
# curl.  Each part's ETag comes from its response headers.
put_multipart() {
	local dir=$1 url="$S3_ENDPOINT/$S3_BUCKET/$2" id n nparts etag
	id=$(s3curl -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X POST "$url?uploads=" |
		sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p') || return 1
	[ -n "$id" ] || return 1
	rm -rf "$dir.etags" && mkdir "$dir.etags" || return 1
	nparts=$(find "$dir" -type f | wc -l)
	# shellcheck disable=SC2016 # expanded by the inner shell
	find "$dir" -type f -printf '%f\n' | sort | awk '{ print NR, $0 }' |
		URL=$url ID=$id DIR=$dir xargs -P "$3" -L 1 bash -c 's3curl -o /dev/null -D "$DIR.etags/$0" \
			-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$DIR/$1" "$URL?partNumber=$0&uploadId=$ID"' ||
		return 1
	{
		echo '<CompleteMultipartUpload>'
		for ((n = 1; n <= nparts; n++)); do
			etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$dir.etags/$n" | tr -d '\r')
			echo "<Part><PartNumber>$n</PartNumber><ETag>$etag</ETag></Part>"
		done
		echo '</CompleteMultipartUpload>'
	} >"$dir.complete.xml"
	s3curl -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X POST --data-binary "@$dir.complete.xml" \
		"$url?uploadId=$id" | grep -q '<CompleteMultipartUploadResult'
}
# complete_note SERVER: how long the server took to complete the last
# multipart upload of wb/seq.bin, from its log
complete_note() {
	local v
	case $1 in
	s3rver) v=$(awk -F'\t' '$1 == "POST" && $2 ~ /wb\/seq.bin\?uploadId=/ { v = $7 / 1000 } END { if (v != "") print v }' \
		"$RUNDIR/s3rver/s3rver_access.log") ;;
	radosgw) v=$(grep ' beast: ' "$RUNDIR/radosgw/radosgw.log" | grep 'POST /[^ ]*wb/seq.bin?uploadId=' |
		sed -n 's/.*latency=\([0-9.]*\)s.*/\1/p' | tail -n 1) ;;
	esac
	[ -n "${v:-}" ] && printf 'CompleteMultipartUpload took %.2f s; ' "$v"
	return 0
}
# sha_row ROW LABEL SHIM_KEY CURL_KEY: curl's PUTs with the signed SHA-256,
# and the shim's time against theirs (no target: the issue's baseline is
# the unsigned one)
sha_row() {
	local r
	r=$(ratio "$(secs "$3")" "$(secs "$4")")
	[ -n "${FAIL[$3]:-}${FAIL[$4]:-}" ] && r=-
	row "$1" "$2: same PUTs, SHA-256 signed" "$(rate "$4" "$SIZE_MB") MiB/s" "shim: $r x its time" \
		"-" "${FAIL[$4]:-each part hashed by openssl, then PUT; $(runs_note "$4"); $(cpu_note "$4")}"
}
# shim_at URL CMD...: CMD through the shim, with $MNT mounted on URL
shim_at() {
	local url=$1
	shift
	env LD_PRELOAD="$SHIM" CLOUDSHIM_STAGING_DIR="$RUNDIR/staging" \
		CLOUDSHIM_RECOVERY_DIR="$RUNDIR/recovery" CLOUDSHIM_MOUNTS="$MNT=$url" "$@"
}
shim() { shim_at "s3://$S3_BUCKET/wb" CLOUDSHIM_ENDPOINT="$S3_ENDPOINT" "$@"; }

# === tmpfs ================================================================================
say "tmpfs: $REPS runs"
for ((r = 0; r < REPS; r++)); do
	timed tmpfs "$WB" seq "$SRC" "$RUNDIR/tmpfs.out" 8192
	rm -f "$RUNDIR/tmpfs.out"
done
# shellcheck disable=SC2086 # a list of numbers
tmpfs_mibs=$(awk -v m="$SIZE_MB" -v t="$(median ${TIMES[tmpfs_close]})" 'BEGIN { printf "%.0f", m / t }')
row 7 "write $SIZE_MB MiB, $FSTYPE (same program)" "$tmpfs_mibs MiB/s" "" "" \
	"$(runs_note tmpfs_close) ($(each_run tmpfs_close)), 8 MiB writes; $(cpu_note tmpfs)"

# === per server ============================================================================
for server in $SERVER_LIST; do
	say "$server: starting"
	if ! "$SERVERS/$server.sh" start "$RUNDIR/$server" >>"$ERRLOG" 2>&1; then
		row 7 "$server" "-" "" "" "$server.sh start failed: $(tail -n 1 "$ERRLOG" | cut -c1-60)"
		continue
	fi
	# shellcheck disable=SC1090
	. "$RUNDIR/$server/$server.env"
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
	s=$server
	say "$server: $REPS runs of each ($SIZE_MB MiB; $FILES files)"
	for ((r = 0; r < REPS; r++)); do
		# the baseline again, just before the shim's run: a server's
		# daemons still working on the last cell (radosgw deleting and
		# collecting objects) take CPU from the writer, baseline or shim
		timed "${s}_tmpfs" "$WB" seq "$SRC" "$RUNDIR/tmpfs.out" 8192
		rm -f "$RUNDIR/tmpfs.out"
		# the same big keys each run: radosgw keeps objects in memory
		timed "${s}_seq" shim "$WB" seq "$SRC" "$MNT/seq.bin" 8192
		CLOUDSHIM_CHECKSUM=md5 timed "${s}_seqmd5" shim "$WB" seq "$SRC" "$MNT/seqmd5.bin" 8192
		timed "${s}_parts" put_dir "$RUNDIR/parts" wb/parts "$CONNS"
		timed "${s}_partsha" put_dir_sha256 "$RUNDIR/parts" wb/parts "$CONNS"
		timed "${s}_mpu" put_multipart "$RUNDIR/parts" wb/mpu.bin "$CONNS"
		# new keys each run: creating a file costs more than replacing one
		timed "${s}_many" shim "$WB" many "$RUNDIR/small.bin" "$MNT/small$r" "$FILES" "$FILE_KB"
		timed "${s}_smallcurl" put_dir "$RUNDIR/small" "wb/curlsmall$r" "$SMALL_PAR"
		if [ "$r" = 0 ]; then	# the bytes must be right before the numbers count
			[ "$(obj_md5 wb/seq.bin)" = "$SRC_MD5" ] || FAIL[${s}_seq]="wrong bytes in the object"
			[ "$(obj_md5 wb/seqmd5.bin)" = "$SRC_MD5" ] || FAIL[${s}_seqmd5]="wrong bytes in the object"
			[ "$(obj_md5 wb/mpu.bin)" = "$SRC_MD5" ] || FAIL[${s}_mpu]="wrong bytes in the object"
			[ "$(obj_md5 wb/parts/p00000)" = "$(md5sum <"$RUNDIR/parts/p00000" | cut -d' ' -f1)" ] ||
				FAIL[${s}_parts]="wrong bytes in the object"
			last=$(printf 'f%05d' $((FILES - 1)))
			[ "$(obj_md5 "wb/small0/$last")" = "$(md5sum <"$RUNDIR/small/$last" | cut -d' ' -f1)" ] ||
				FAIL[${s}_many]="wrong bytes in the object"
		fi
		# radosgw keeps objects in its memory and s3rver in the run directory
		# (tmpfs): a second copy of the file per run would fill the machine
		obj_delete wb/mpu.bin
	done
	[ -n "${FAIL[${s}_seq]:-}" ] && FAIL[${s}_seq_close]=${FAIL[${s}_seq]}
	close_mibs=$(rate "${s}_seq_close" "$SIZE_MB")
	durable_mibs=$(rate "${s}_seq" "$SIZE_MB")
	curl_mibs=$(rate "${s}_parts" "$SIZE_MB")
	beside_mibs=$(rate "${s}_tmpfs_close" "$SIZE_MB")
	r_close=$(ratio "$close_mibs" "$beside_mibs")
	r_durable=$(ratio "$(secs "${s}_seq")" "$(secs "${s}_parts")")
	[ -n "${FAIL[${s}_seq]:-}${FAIL[${s}_parts]:-}" ] && r_durable=-
	row 7 "$s: shim, until close returns" "$close_mibs MiB/s" "$r_close x tmpfs speed" \
		"$(verdict "$r_close" '>=' 0.8)" \
		"${FAIL[${s}_seq]:-$(runs_note "${s}_seq_close") ($(each_run "${s}_seq_close")); tmpfs beside it $beside_mibs MiB/s ($(each_run "${s}_tmpfs_close")), $(ratio "$close_mibs" "$tmpfs_mibs") x the first; open took $(printf '%.3f' "$(secs "${s}_seq_open")") s; staging on $FSTYPE}"
	row 7 "$s: $CONNS parallel curl PUTs, $PART_MB MiB" "$curl_mibs MiB/s" "" "" \
		"${FAIL[${s}_parts]:-$NPARTS objects; $(runs_note "${s}_parts"); $(cpu_note "${s}_parts")}"
	row 7 "$s: shim, until durable (exit)" "$durable_mibs MiB/s" "$r_durable x curl's time" \
		"$(verdict "$r_durable" '<=' 1.2)" \
		"${FAIL[${s}_seq]:-checksum auto ($SUM_AUTO); $(complete_note "$s")$(cpu_note "${s}_seq")}"
	sha_row 7 "$s" "${s}_seq" "${s}_partsha"
	r_mpu=$(ratio "$(secs "${s}_seq")" "$(secs "${s}_mpu")")
	[ -n "${FAIL[${s}_seq]:-}${FAIL[${s}_mpu]:-}" ] && r_mpu=-
	row 7 "$s: curl multipart, $CONNS at a time" "$(rate "${s}_mpu" "$SIZE_MB") MiB/s" \
		"shim: $r_mpu x its time" "" \
		"${FAIL[${s}_mpu]:-the same $NPARTS parts as one object (create, parts, complete), as the shim sends them; $(runs_note "${s}_mpu"); $(cpu_note "${s}_mpu")}"
	r_md5=$(ratio "$(secs "${s}_seqmd5")" "$(secs "${s}_parts")")
	[ -n "${FAIL[${s}_seqmd5]:-}${FAIL[${s}_parts]:-}" ] && r_md5=-
	row 7 "$s: same, checksum md5" "$(rate "${s}_seqmd5" "$SIZE_MB") MiB/s" "$r_md5 x curl's time" \
		"-" "${FAIL[${s}_seqmd5]:-Content-MD5, no signed SHA-256; $(cpu_note "${s}_seqmd5")}"
	many_fps=$(rate "${s}_many" "$FILES")
	curl_fps=$(rate "${s}_smallcurl" "$FILES")
	row 8 "$s: curl PUTs, xargs -P $SMALL_PAR" "$curl_fps files/s" "" "" \
		"${FAIL[${s}_smallcurl]:-$FILES x $FILE_KB KiB, new keys; one curl process a file; $(cpu_note "${s}_smallcurl")}"
	row 8 "$s: shim, one program, until durable" "$many_fps files/s" "$(ratio "$many_fps" "$curl_fps") x curl" "-" \
		"${FAIL[${s}_many]:-$(runs_note "${s}_many"); $(cpu_note "${s}_many")}"

	# row 9: the same through a shaped link
	rm -f "$RUNDIR/shape.port"
	"$RUNDIR/shapeproxy" "${S3_ENDPOINT##*:}" "$RUNDIR/shape.port" "$SHAPE_MBPS" "$SHAPE_MS" &
	shaper_pid=$!
	for _ in $(seq 100); do [ -s "$RUNDIR/shape.port" ] && break; sleep 0.05; done
	direct=$S3_ENDPOINT
	S3_ENDPOINT=http://127.0.0.1:$(cat "$RUNDIR/shape.port")
	say "$server: shaped ($SHAPE_MBPS MB/s a connection, $SHAPE_MS ms), $REPS runs"
	for ((r = 0; r < REPS; r++)); do
		timed "${s}_sseq" shim "$WB" seq "$SRC" "$MNT/sseq.bin" 8192
		timed "${s}_sparts" put_dir "$RUNDIR/parts" wb/sparts "$CONNS"
		timed "${s}_spartsha" put_dir_sha256 "$RUNDIR/parts" wb/sparts "$CONNS"
	done
	[ "$(obj_md5 wb/sseq.bin)" = "$SRC_MD5" ] || FAIL[${s}_sseq]="wrong bytes in the object"
	kill "$shaper_pid" 2>/dev/null
	wait "$shaper_pid" 2>/dev/null || true
	shaper_pid=
	S3_ENDPOINT=$direct
	r_shaped=$(ratio "$(secs "${s}_sseq")" "$(secs "${s}_sparts")")
	[ -n "${FAIL[${s}_sseq]:-}${FAIL[${s}_sparts]:-}" ] && r_shaped=-
	row 9 "$s shaped: $CONNS parallel curl PUTs" "$(rate "${s}_sparts" "$SIZE_MB") MiB/s" "" "" \
		"${FAIL[${s}_sparts]:-$(runs_note "${s}_sparts")}"
	row 9 "$s shaped: shim, until durable" "$(rate "${s}_sseq" "$SIZE_MB") MiB/s" \
		"$r_shaped x curl's time" "$(verdict "$r_shaped" '<=' 1.2)" \
		"${FAIL[${s}_sseq]:-close at $(printf '%.2f' "$(secs "${s}_sseq_close")") s; $(cpu_note "${s}_sseq")}"
	sha_row 9 "$s shaped" "${s}_sseq" "${s}_spartsha"
	"$SERVERS/$server.sh" stop "$RUNDIR/$server" >/dev/null 2>&1 || true
	rm -rf "$RUNDIR/$server/s3rver-data"	# gigabytes of objects, on tmpfs
done

# === row 10: a busy machine =================================================================
NCPU=$(nproc)
say "file:// mount, alone and beside $NCPU busy loops: $REPS runs each"
mkdir -p "$RUNDIR/fstore"
for ((r = 0; r < REPS; r++)); do
	timed file_alone shim_at "file://$RUNDIR/fstore" "$WB" seq "$SRC" "$MNT/busy.bin" 8192
	for ((i = 0; i < NCPU; i++)); do
		(while :; do :; done) &
		hog_pids+=($!)
	done
	timed file_busy shim_at "file://$RUNDIR/fstore" "$WB" seq "$SRC" "$MNT/busy.bin" 8192
	kill "${hog_pids[@]}" 2>/dev/null
	wait "${hog_pids[@]}" 2>/dev/null || true
	hog_pids=()
	if [ "$r" = 0 ] && [ "$(md5sum <"$RUNDIR/fstore/busy.bin" | cut -d' ' -f1)" != "$SRC_MD5" ]; then
		FAIL[file_busy]="wrong bytes in the object"
	fi
done
rm -f "$RUNDIR/fstore/busy.bin"
r_busy=$(ratio "$(secs file_busy)" "$(secs file_alone)")
[ -n "${FAIL[file_alone]:-}${FAIL[file_busy]:-}" ] && r_busy=-
row 10 "file:// mount: shim, until durable" "$(rate file_alone "$SIZE_MB") MiB/s" "" "" \
	"${FAIL[file_alone]:-$(runs_note file_alone) ($(each_run file_alone))}"
row 10 "same beside $NCPU busy loops (nice 0)" "$(rate file_busy "$SIZE_MB") MiB/s" \
	"$r_busy x alone's time" "-" \
	"${FAIL[file_busy]:-$(runs_note file_busy) ($(each_run file_busy)); close at $(printf '%.2f' "$(secs file_busy_close)") s}"

{
	echo
	echo "cloudshim writes  $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+changes')  $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$SIZE_MB MiB file; $FILES files of $FILE_KB KiB; shim connections $CONNS, part size $PART_MB MiB; shaped: $SHAPE_MBPS MB/s a connection, $SHAPE_MS ms to first byte; $WARM_MB MiB written and deleted before each timed cell"
	printf '%-3s %-38s %-15s %-22s %-13s %s\n' "#" "measurement" "result" "ratio" "target" "notes"
	printf '%s\n' "${TABLE[@]}"
	echo "durable: from the program's first open until it has exited (the shim waits for its uploads at exit)."
	echo "cpu: whole machine, 100% = all cores, client and server together."
} | sed 's/ *$//'
