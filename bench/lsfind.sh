#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: MIT
#
# bench/lsfind.sh - directory browsing through the shim beside the listing a
# client would do by hand: `ls -l` of a 10,000-object directory and `find`
# over 10,000 objects (100 directories x 100) through the shim, and the same
# keys listed by one ListObjectsV2 pagination with curl (SigV4, following
# continuation tokens), against s3rver, in one run. Prints one table (the
# columns of bench/run.sh); nothing is asserted.
#
#   bench/lsfind.sh          (bench/run.sh may call it after its own table)
#
# Environment:
#   LSFIND_FLAT=10000     objects in the flat directory
#   LSFIND_DIRS=100       directories of the find tree ...
#   LSFIND_PER_DIR=100    ... and objects in each
#   BENCH_KEEP=1          keep the run directory
#   BENCH_TMPDIR          where the run directory goes (default /dev/shm when
#                         it is a tmpfs, else /tmp)
#
# The objects are written straight into s3rver's store folder (key
# ._S3rver_object, ._S3rver_metadata.json, ._S3rver_object.md5, as its own PUT
# writes them): 20,000 PUTs through the AWS CLI take minutes on s3rver. A
# curl listing checks that s3rver sees every key before anything is timed.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS=$ROOT/tests/servers
# shellcheck source=../tests/servers/lib.sh
. "$SERVERS/lib.sh"
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"

SHIM=$ROOT/build/libcloudshim.so
FLAT=${LSFIND_FLAT:-10000}
DIRS=${LSFIND_DIRS:-100}
PER_DIR=${LSFIND_PER_DIR:-100}
REPS=3
MNT=/cloudshim-lsfind

for v in FLAT DIRS PER_DIR; do
	case "${!v}" in '' | *[!0-9]* | 0) echo "lsfind.sh: LSFIND_$v must be a positive number" >&2; exit 2 ;; esac
done
[ -f "$SHIM" ] || { echo "lsfind.sh: $SHIM missing: run make" >&2; exit 1; }
unset CLOUDSHIM_CONFIG CLOUDSHIM_MOUNTS LD_PRELOAD

say() { echo "lsfind: $*" >&2; }
RUNDIR=$(bench_rundir lsfind)
chmod 755 "$RUNDIR"
cleanup() {
	set +e
	"$SERVERS/s3rver.sh" stop "$RUNDIR" 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "run directory kept: $RUNDIR"; else rm -rf "$RUNDIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- server and objects -----------------------------------------------------------
say "run directory $RUNDIR; s3rver with $FLAT objects in one directory and $DIRS x $PER_DIR in a tree"
"$SERVERS/s3rver.sh" start "$RUNDIR"
# shellcheck disable=SC1091
. "$RUNDIR/s3rver.env"
LOG=$RUNDIR/s3rver_access.log
/usr/bin/python3 - "$RUNDIR/s3rver-data/$S3_BUCKET/lsf" "$RUNDIR/local" "$FLAT" "$DIRS" "$PER_DIR" <<'EOF'
import hashlib, os, sys
store, local, flat, dirs, per_dir = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
def put(key, body):
    path = os.path.join(store, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + "._S3rver_object", "wb") as f:
        f.write(body)
    with open(path + "._S3rver_metadata.json", "w") as f:
        f.write('{\n  "content-type": "binary/octet-stream"\n}')
    with open(path + "._S3rver_object.md5", "w") as f:
        f.write(hashlib.md5(body).hexdigest())
    lp = os.path.join(local, key)  # the same tree on the local disk
    os.makedirs(os.path.dirname(lp), exist_ok=True)
    with open(lp, "wb") as f:
        f.write(body)
for i in range(flat):
    put("flat/f%05d" % i, b"%d\n" % i)
for d in range(dirs):
    for i in range(per_dir):
        put("tree/d%03d/f%03d" % (d, i), b"%d %d\n" % (d, i))
# s3rver leaves out of a delimited listing a prefix with no object directly
# below it: one object at the top keeps tree/ visible
put("tree/README", b"tree\n")
EOF
EMPTY_SHA=$(printf '' | sha256sum | cut -d' ' -f1)

# list_pages PREFIX [DELIMITED]: one ListObjectsV2 pagination with curl,
# signed (curl's SigV4 neither sorts nor encodes the query: both done here);
# prints "PAGES KEYS"
list_pages() {
	local prefix=$1 delim=${2:-} token='' q page pages=0 keys=0 enc
	enc=$(sed 's|/|%2F|g' <<<"$prefix")
	while :; do
		q=
		[ -n "$token" ] && q="continuation-token=$(sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g' <<<"$token")&"
		[ -n "$delim" ] && q+="delimiter=%2F&"
		q+="list-type=2&max-keys=1000&prefix=$enc"
		page=$(curl -sf --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
			--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
			-H "x-amz-content-sha256: $EMPTY_SHA" "$S3_ENDPOINT/$S3_BUCKET?$q") || return 1
		pages=$((pages + 1))
		keys=$((keys + $( { grep -o '<Key>' <<<"$page" || true; } | wc -l)))
		token=$(sed -n 's|.*<NextContinuationToken>\([^<]*\)</NextContinuationToken>.*|\1|p' <<<"$page")
		[ -n "$token" ] || break
	done
	echo "$pages $keys"
}

want_tree=$((DIRS * PER_DIR + 1))
got=$(list_pages lsf/flat/ d) || { say "curl listing failed"; exit 1; }
[ "${got#* }" = "$FLAT" ] || { say "s3rver lists ${got#* } keys in lsf/flat/, not $FLAT"; exit 1; }
got=$(list_pages lsf/tree/) || { say "curl listing failed"; exit 1; }
[ "${got#* }" = "$want_tree" ] || { say "s3rver lists ${got#* } keys in lsf/tree/, not $want_tree"; exit 1; }

shim() {
	env LD_PRELOAD="$SHIM" CLOUDSHIM_ENDPOINT="$S3_ENDPOINT" \
		CLOUDSHIM_MOUNTS="$MNT=s3://$S3_BUCKET/lsf" "$@"
}
# the shim's answers must be the right ones before they are timed
n=$(shim ls -l "$MNT/flat" 2>/dev/null | grep -c '^-' || true)
[ "$n" = "$FLAT" ] || say "WARNING: ls -l through the shim shows $n files, not $FLAT"
n=$(shim find "$MNT/tree" -type f 2>/dev/null | wc -l || true)
[ "$n" = "$want_tree" ] || say "WARNING: find through the shim shows $n files, not $want_tree"

# --- timing ----------------------------------------------------------------------
declare -A TIMES=() REQS=() FAILED=()
# run_case KEY CMD...: wall time of CMD (stdout dropped) into TIMES[KEY], the
# requests s3rver logged meanwhile into REQS[KEY] (of the last run)
run_case() {
	local key=$1 before t0 rc=0
	shift
	srv_log_settle "$LOG"
	before=$(wc -l <"$LOG")
	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>>"$RUNDIR/stderr.log" || rc=$?
	TIMES[$key]+="$(calc "$EPOCHREALTIME - $t0") "
	[ "$rc" = 0 ] || FAILED[$key]="exit $rc"
	srv_log_settle "$LOG"
	REQS[$key]=$(tail -n +"$((before + 1))" "$LOG" | awk -F'\t' '
		$1 == "HEAD" { h++; next }
		$1 == "GET" && $2 ~ /^\/[^\/?]+\/?(\?|$)/ { l++; next }
		$1 == "GET" { g++ }
		END { printf "%d LIST, %d HEAD, %d GET", l, h, g }')
}
say "timing, $REPS runs each"
for ((r = 0; r < REPS; r++)); do
	run_case ls_local ls -l "$RUNDIR/local/flat"
	run_case ls_curl list_pages lsf/flat/ d
	run_case ls_shim shim ls -l "$MNT/flat"
	run_case find_local find "$RUNDIR/local/tree"
	run_case find_curl list_pages lsf/tree/
	run_case find_shim shim find "$MNT/tree"
done

t() { # KEY -> median seconds, 3 decimals
	if [ -n "${FAILED[$1]:-}" ]; then echo FAILED; return; fi
	# shellcheck disable=SC2086
	awk -v v="$(median ${TIMES[$1]})" 'BEGIN { printf "%.3f", v }'
}
row() { printf '%-3s %-38s %-15s %-22s %-13s %s\n' "$@"; }
{
	echo
	echo "cloudshim directory browsing  $(date -u '+%Y-%m-%d %H:%M UTC')  s3rver on 127.0.0.1, $(nproc) cores, median of $REPS"
	row "#" "measurement" "result" "ratio" "target" "notes"
	row 6 "ls -l, $FLAT files, local disk" "$(t ls_local) s" "" "" "$(stat -f -c %T "$RUNDIR") (same names and sizes)"
	row 6 "ListObjectsV2 pages with curl" "$(t ls_curl) s" "" "" "${REQS[ls_curl]}; one curl process a page"
	row 6 "shim: ls -l, $FLAT objects" "$(t ls_shim) s" "$(ratio "$(t ls_shim)" "$(t ls_curl)") x curl" "-" \
		"${FAILED[ls_shim]:-${REQS[ls_shim]}}"
	row 6 "find, $DIRS x $PER_DIR files, local disk" "$(t find_local) s" "" "" ""
	row 6 "ListObjectsV2 pages with curl" "$(t find_curl) s" "" "" "${REQS[find_curl]}; no delimiter: the whole tree"
	row 6 "shim: find, $DIRS x $PER_DIR objects" "$(t find_shim) s" "$(ratio "$(t find_shim)" "$(t find_curl)") x curl" "-" \
		"${FAILED[find_shim]:-${REQS[find_shim]}} (one listing a directory: $((DIRS + 1)) at best)"
} | sed 's/ *$//'
