#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_write.sh - the write path end to end: unmodified programs (cp, dd,
# tar, sqlite3, bash redirections, python3, numpy) write to an s3rver mount
# through the shim, and every result is read back with another client (curl
# straight from s3rver, or the AWS CLI), never through the shim.  Also: the
# object is complete when the writer has exited (exit, _exit, a forked
# child), read-your-own-writes in one process, unlink/rename/mkdir/rmdir/
# truncate, EROFS on http:// and read-only mounts, O_EXCL, fsync and strict
# close, a store that is down (recovery directory, then `cloudshim sync`
# once it is back), concurrent writers, a listing made while another
# process's upload lands (tests/tools/landcheck.c), and what the staging
# directory looks like.
#
#   test_write.sh PRELOAD     PRELOAD: what LD_PRELOAD gets (the library, or a
#                             sanitizer runtime followed by the library); the
#                             cloudshim command is taken from the library's
#                             directory
#
# Streams: 2 GiB written by dd through a 256 MiB staging tmpfs, a zip archive
# whose headers are patched after their parts went, and a 120 MiB file through
# a 64 MiB staging tmpfs while the store goes down, and again with its writer
# killed (SIGKILL) instead (the tmpfs mounts need root).
#
# Environment:
#   PY_CHECKS=0   skip the checks run by python3 (tests/run.sh's ASan pass)
#   WRITE_BASH=0  skip the bash redirection checks
#   KEEP=1        keep the run directory
#
# Mounts: /data = s3://test/w on s3rver (signed), /web = nginx (http://, so
# read-only by nature), /ro = the same bucket with "read_only": true in a
# CLOUDSHIM_CONFIG file.  Store down: before the open, through
# tests/servers/faultproxy.py (endpoint http://PROXY/down: every request
# answers 503); during the upload, through a TCP relay (writecheck.py gate)
# that stops listening and cuts its connections after the programs wrote,
# then listens again on the same port for `cloudshim sync`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
. "$top/tests/servers/lib.sh"
SHIM_PRELOAD=$1
# the cloudshim command of the same build as the library (the last word of PRELOAD)
CLOUDSHIM=$(dirname "${SHIM_PRELOAD##* }")/cloudshim
PY=/usr/bin/python3
WC=$here/writecheck.py
RUN=$(mktemp -d /tmp/cloudshim-write.XXXXXX)
chmod 755 "$RUN"
proxy_pid=
gate_pid=
shape_pid=
bigmnt=
smallmnt=

cleanup() {
	[ -n "$gate_pid" ] && kill "$gate_pid" 2>/dev/null && wait "$gate_pid" 2>/dev/null
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
	[ -n "$shape_pid" ] && kill "$shape_pid" 2>/dev/null && wait "$shape_pid" 2>/dev/null
	[ -n "$bigmnt" ] && mountpoint -q "$bigmnt" && umount "$bigmnt"
	[ -n "$smallmnt" ] && mountpoint -q "$smallmnt" && umount "$smallmnt"
	"$top/tests/servers/nginx.sh" stop "$RUN" >/dev/null 2>&1
	"$top/tests/servers/s3rver.sh" stop "$RUN" >/dev/null 2>&1
	if [ -n "${KEEP:-}" ]; then echo "run directory kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM	# killed: still stop the servers (s3rver runs in its own session)

info() { echo "info $*"; }	# shown, not counted
skip() { echo "skip $*"; }

# --- servers --------------------------------------------------------------------
"$top/tests/servers/s3rver.sh" start "$RUN" >/dev/null || exit 1
"$top/tests/servers/nginx.sh" start "$RUN" >/dev/null || exit 1
# shellcheck disable=SC1091 # written by the start scripts
. "$RUN/nginx.env"
# shellcheck disable=SC1091
. "$RUN/s3rver.env"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN CLOUDSHIM_CONFIG
[ -x "$CLOUDSHIM" ] || { echo "FAIL no $CLOUDSHIM beside the library"; exit 1; }

$PY "$top/tests/servers/faultproxy.py" "$S3_ENDPOINT" "$RUN/proxy.port" "$RUN/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do [ -s "$RUN/proxy.port" ] && break; sleep 0.1; done
[ -s "$RUN/proxy.port" ] || { echo "FAIL fault proxy did not start"; exit 1; }
PROXY=http://127.0.0.1:$(cat "$RUN/proxy.port")

STAGE=$RUN/staging
RECOVERY=$RUN/recovery
export CLOUDSHIM_MOUNTS="/data=s3://$S3_BUCKET/w;/web=$NGINX_URL"
export CLOUDSHIM_ENDPOINT=$S3_ENDPOINT
export CLOUDSHIM_STAGING_DIR=$STAGE
export CLOUDSHIM_RECOVERY_DIR=$RECOVERY
unset CLOUDSHIM_SYNC_CLOSE CLOUDSHIM_READ_ONLY CLOUDSHIM_REQUEST_TIMEOUT_MS

# staged_in DIR: the staged files and journal entries in staging directory
# DIR (not the change counter the processes there share)
staged_in() {
	ls -A "$1" | grep -v '^changes$'
}

# --- reading back, not through the shim -------------------------------------------
EXP=$RUN/expect
mkdir -p "$EXP"
gen() { $PY "$WC" gen "$@"; }		# gen SEED SIZE: the writers' bytes
obj_url() { echo "$S3_ENDPOINT/$S3_BUCKET/w/$1"; }
obj() { curl -sf "$(obj_url "$1")"; }	# s3rver serves anonymous GETs
# same_obj KEY FILE: the object's bytes equal FILE (cmp says where not)
same_obj() {
	local got=$RUN/got.$$
	curl -sf -o "$got" "$(obj_url "$1")" || { echo "GET $1: $(obj_status "$1")"; return 1; }
	cmp "$got" "$2" || {
		echo "object: $(stat -c %s "$got") bytes$([ -f "$2" ] && echo ", expected $(stat -c %s "$2")")"
		rm -f "$got"
		return 1
	}
	rm -f "$got"
}
same_obj_aws() {	# the same with the AWS CLI (signed)
	AWS_CA_BUNDLE='' /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors \
		"s3://$S3_BUCKET/w/$1" - | cmp - "$2"
}
obj_is() {	# obj_is KEY TEXT: the object is TEXT (and a newline)
	local got=$RUN/got.$$
	curl -sf -o "$got" "$(obj_url "$1")" || { echo "GET $1: $(obj_status "$1")"; return 1; }
	if ! printf '%s\n' "$2" | cmp -s - "$got"; then
		printf 'object (%d bytes): %q\nwanted: %q\n' "$(stat -c %s "$got")" \
			"$(head -c 60 "$got" | tr -c '[:print:]\n' '?')" "$2"
		rm -f "$got"
		return 1
	fi
	rm -f "$got"
}
obj_status() { curl -s -o /dev/null -w '%{http_code}' -I "$(obj_url "$1")"; }
gone() { local s; s=$(obj_status "$1"); [ "$s" = 404 ] || { echo "HEAD $1: $s"; return 1; }; }
there() { local s; s=$(obj_status "$1"); [ "$s" = 200 ] || { echo "HEAD $1: $s"; return 1; }; }
# the keys below PREFIX, one a line (ListObjectsV2, signed by the AWS CLI)
keys_below() {
	AWS_CA_BUNDLE='' /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3api list-objects-v2 \
		--bucket "$S3_BUCKET" --prefix "w/$1" --query 'Contents[].Key' --output text |
		tr '\t' '\n' | grep -v '^None$' | sort
}
pycheck_w() { [ "${PY_CHECKS:-1}" = 1 ] || return 0; shim $PY "$WC" "$@" | count_py; }
# runs CMD under the shim; its stderr goes to RUN/last.err
shim_err() { shim "$@" 2>"$RUN/last.err"; }

head -c $((5 << 20)) /dev/urandom >"$RUN/src5.bin"
head -c $((64 << 20)) /dev/urandom >"$RUN/src64.bin"

# === programs writing ===============================================================
check "cp local -> mount" shim cp "$RUN/src5.bin" /data/cp/a.bin
check "cp local -> mount: object equal" same_obj cp/a.bin "$RUN/src5.bin"
check "cp mount -> mount" shim cp /data/cp/a.bin /data/cp/b.bin
check "cp mount -> mount: object equal" same_obj cp/b.bin "$RUN/src5.bin"
check "cp over an existing object" shim cp "$RUN/src64.bin" /data/cp/b.bin
check "cp over an existing object: object equal" same_obj cp/b.bin "$RUN/src64.bin"

# dd conv=notrunc: the object is opened for update, patched in the middle
head -c $((3 << 20)) /dev/urandom >"$RUN/dd.bin"
head -c 10000 /dev/urandom >"$RUN/patch.bin"
check "dd: the object to patch" shim cp "$RUN/dd.bin" /data/dd/obj.bin
# (bs a multiple of 4096: dd's aligned_alloc of bs=1000 is refused by ASan)
dd if="$RUN/patch.bin" of="$RUN/dd.bin" bs=4096 seek=190 conv=notrunc status=none
check "dd conv=notrunc into an existing object" shim \
	dd if="$RUN/patch.bin" of=/data/dd/obj.bin bs=4096 seek=190 conv=notrunc status=none
check "dd conv=notrunc: patched, size kept" same_obj dd/obj.bin "$RUN/dd.bin"
check "dd: 64 MiB (multipart)" shim dd if="$RUN/src64.bin" of=/data/big/64m.bin bs=4M status=none
check "dd: 64 MiB object equal" same_obj big/64m.bin "$RUN/src64.bin"
check "dd: 64 MiB went as a multipart upload" grep -qP "^POST\t/$S3_BUCKET/w/big/64m.bin\?uploads" \
	"$RUN/s3rver_access.log"

# tar -xf into a mounted directory
mkdir -p "$RUN/tree/dir1/sub" "$RUN/tree/empty"
seq 1 5000 >"$RUN/tree/top.txt"
head -c 1234567 /dev/urandom >"$RUN/tree/dir1/sub/blob.bin"
echo "small" >"$RUN/tree/dir1/small.txt"
: >"$RUN/tree/dir1/zero.txt"
tar -C "$RUN/tree" -cf "$RUN/tree.tar" .
check "mkdir -p a mounted directory" shim mkdir -p /data/tar
check "tar -xf into a mounted directory" shim tar -xf "$RUN/tree.tar" -C /data/tar
for f in top.txt dir1/sub/blob.bin dir1/small.txt dir1/zero.txt; do
	check "tar -xf: $f equal" same_obj "tar/$f" "$RUN/tree/$f"
done
check "find through the shim lists every extracted file" sh -c \
	"test \"\$(LD_PRELOAD='$SHIM_PRELOAD' find /data/tar -type f | sort)\" = \"\$(cd '$RUN/tree' && find . -type f | sed 's|^\\.|/data/tar|' | sort)\""

# python3: text and binary, write and append; numpy; a checkpoint
mkdir -p "$EXP/py"
pycheck_w pyfiles /data/py "$EXP/py"
pycheck_w numpy /data/np "$EXP/py"
pycheck_w checkpoint /data/ckpt "$EXP/py"
if [ "${PY_CHECKS:-1}" = 1 ]; then
	for f in text.txt bin.bin rplus.bin; do
		check "python3 $f: object equal" same_obj "py/$f" "$EXP/py/$f"
	done
	check "numpy.save: object equal" same_obj np/arr.npy "$EXP/py/arr.npy"
	check "numpy.load of the object (no shim)" sh -c "curl -sf '$(obj_url np/arr.npy)' -o '$RUN/arr.npy' && $PY -c 'import numpy as np; a = np.load(\"$RUN/arr.npy\"); assert a.shape == (3, 1000, 257) and a[2, 999, 256] == (3 * 1000 * 257 - 1) / 7.0'"
	check "checkpoint: final object equal" same_obj ckpt/model.ckpt "$EXP/py/model.ckpt"
	check "checkpoint: temporary object gone" gone ckpt/model.ckpt.tmp
	check "checkpoint: mkstemp renamed over before close: object equal" \
		same_obj ckpt/atomic.bin "$EXP/py/atomic.bin"
fi

# sqlite3: create and fill, then a second session adds to it
check "sqlite3: create and fill a database" shim sqlite3 /data/db/t.db \
	"create table t(i integer, s text);
	 with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)
	 insert into t select x, 'row ' || x from c;"
check "sqlite3: a second session reads and adds" test "$(shim sqlite3 /data/db/t.db \
	"insert into t values (-1, 'more'); select count(*) from t;" 2>&1)" = 20001
check "sqlite3: object is a sound database with every row" sh -c "
	curl -sf -o '$RUN/t.db' '$(obj_url db/t.db)' &&
	test \"\$(sqlite3 '$RUN/t.db' 'pragma integrity_check; select count(*), sum(i) from t;')\" = \"ok
20001|200009999\""
check "sqlite3: no journal left behind" gone db/t.db-journal

# shell redirections in a bash run under the shim (WRITE_BASH=0: not under
# the ASan runtime, see below and run.sh)
if [ "${WRITE_BASH:-1}" = 1 ]; then
check "bash: echo > (builtin)" shim bash -c 'echo hello > /data/redir/echo.txt'
check "bash: echo >> (builtin)" shim bash -c 'echo again >> /data/redir/echo.txt'
check "bash: echo > and >>: object" obj_is redir/echo.txt "hello
again"
check "bash: seq > (external)" shim bash -c 'seq 1 100000 > /data/redir/seq.txt'
check "bash: seq >> (external)" shim bash -c 'seq 100001 150000 >> /data/redir/seq.txt'
check "bash: seq > and >>: object" same_obj redir/seq.txt <(seq 1 150000)
check "bash: cat > (external)" shim bash -c "cat '$RUN/src5.bin' > /data/redir/cat.bin"
check "bash: cat >> (external)" shim bash -c "cat '$RUN/dd.bin' >> /data/redir/cat.bin"
check "bash: cat > and >>: object" same_obj redir/cat.bin <(cat "$RUN/src5.bin" "$RUN/dd.bin")
check "bash: { echo; seq; } > (builtin and external on one descriptor)" shim bash -c \
	'{ echo first; seq 1 3; echo last; } > /data/redir/mixed.txt'
check "bash: mixed: object" obj_is redir/mixed.txt "first
1
2
3
last"
# the file goes to a shell that runs programs in turn: each adopts it, and the
# last to let go (the shell) sends it with every program's lines
check "bash: sh -c 'seq; seq' > (a shell inherits it and runs two programs)" shim bash -c \
	"sh -c 'seq 1 3; seq 4 6' > /data/redir/inner.txt"
check "bash: sh -c 'seq; seq' >: object has both" obj_is redir/inner.txt "1
2
3
4
5
6"
check "bash: sh -c 'true; exec seq' > (a wrapper script's way)" shim bash -c \
	"sh -c '/bin/true; exec seq 7 9' > /data/redir/wrapper.txt"
check "bash: sh -c 'true; exec seq' >: object" obj_is redir/wrapper.txt "7
8
9"
check "bash: exec 3> and writes through fd 3" shim bash -c \
	'exec 3> /data/redir/fd3.txt; echo a >&3; seq 2 3 >&3; exec 3>&-; echo done'
check "bash: fd 3: object" obj_is redir/fd3.txt "a
2
3"
fi

# a program making many files in one new directory: a listing tells that
# none of their names is a directory, where each create asked its own before
listings_after() {	# listings_after LINE PREFIX: ListObjectsV2 requests below PREFIX
	srv_log_settle "$RUN/s3rver_access.log"
	tail -n +"$(($1 + 1))" "$RUN/s3rver_access.log" | awk -F'\t' -v p="prefix=w/$2" '
		{ u = $2; gsub(/%2[Ff]/, "/", u) }
		$1 == "GET" && u ~ /list-type=2/ && index(u, p) { n++ }
		END { print n + 0 }'
}
if [ "${PY_CHECKS:-1}" = 1 ]; then
	srv_log_settle "$RUN/s3rver_access.log"
	from=$(wc -l <"$RUN/s3rver_access.log")
	check "python3: 40 new files in one new directory" shim $PY -c \
		'for i in range(40): open("/data/many/f%d" % i, "w").write("%d\n" % i)'
	for i in 0 17 39; do check "40 new files: f$i" obj_is "many/f$i" "$i"; done
	# the first create asks about its own name, the second lists many/
	n=$(listings_after "$from" many/)
	check "40 new files: 2 listings below many/, not one a file ($n)" test "$n" = 2
fi

# === the object is complete when the writer has exited =============================
if [ "${PY_CHECKS:-1}" = 1 ]; then
	n=0
	for how in close-exit exit-open _exit-open _Exit-open stdio-exit openssl-exit-open; do
		n=$((n + 1))
		gen $((50 + n)) $((6 << 20)) >"$EXP/exit-$how.bin"
		check "exit at once ($how): program ran" shim $PY "$WC" exitnow \
			"/data/exit/$how.bin" $((50 + n)) $((6 << 20)) "$how"
		check "exit at once ($how): object complete right after" same_obj "exit/$how.bin" "$EXP/exit-$how.bin"
	done
	# through the fault proxy, passing everything, which logs each request
	for how in close noclose parent-opens; do
		n=$((n + 1))
		gen $((50 + n)) $((3 << 20)) >"$EXP/fork-$how.bin"
		CLOUDSHIM_ENDPOINT=$PROXY/pass check "fork, child writes, _exit ($how): program ran" \
			shim $PY "$WC" fork "/data/fork/$how.bin" $((50 + n)) $((3 << 20)) "$how"
		check "fork, child writes, _exit ($how): object complete right after" \
			same_obj "fork/$how.bin" "$EXP/fork-$how.bin"
		check "fork ($how): one PUT, by whoever let go last" test \
			"$(grep -cP "\tPUT\t/pass/$S3_BUCKET/w/fork/$how.bin\t" "$RUN/proxy.log")" = 1
	done
fi
# the same file through two descriptors (dup) and a child process: one upload
if [ "${WRITE_BASH:-1}" = 1 ]; then
	CLOUDSHIM_ENDPOINT=$PROXY/pass check "dup and a child share one file: program ran" shim bash -c \
		'exec 3>/data/fork/dup.txt; echo one >&3; exec 4>&3; echo two >&4; sh -c "echo three" >&3; exec 3>&- 4>&-'
	check "dup and a child share one file: the object" obj_is fork/dup.txt "$(printf 'one\ntwo\nthree')"
	check "dup and a child share one file: one PUT" test \
		"$(grep -cP "\tPUT\t/pass/$S3_BUCKET/w/fork/dup.txt\t" "$RUN/proxy.log")" = 1
fi
# writes the kernel makes on a staged file's behalf
if [ "${PY_CHECKS:-1}" = 1 ]; then
	pycheck_w natives /data/nat "$EXP/nat"
	for f in writev.bin falloc.bin mapped.bin; do
		check "natives: $f" same_obj "nat/$f" "$EXP/nat/$f"
	done
fi
# two opens for writing of one path in one process share one staged file
if [ "${PY_CHECKS:-1}" = 1 ]; then
	pycheck_w twoopens /data/two "$EXP/two"
	for f in big.bin log.txt trunc.bin upd.bin; do
		check "two opens: $f" same_obj "two/$f" "$EXP/two/$f"
	done
fi
# (WRITE_BASH=0: not under the ASan runtime, as above)
if [ "${WRITE_BASH:-1}" = 1 ]; then
	check "bash: >>log 2>>log keeps the lines of both" shim bash -c \
		'{ echo out1; echo err1 >&2; echo out2; echo err2 >&2; } >>/data/two/sh.log 2>>/data/two/sh.log'
	check "bash: >>log 2>>log: object" same_obj two/sh.log <(printf 'out1\nerr1\nout2\nerr2\n')
fi
check "head -c into a redirect, object complete right after" shim sh -c \
	"head -c 7777777 '$RUN/src64.bin' > /data/exit/head.bin"
check "head -c: object" same_obj exit/head.bin <(head -c 7777777 "$RUN/src64.bin")
# one process writes a key twice in a row: the store must end with the second
if [ "${PY_CHECKS:-1}" = 1 ]; then
	pycheck_w versions /data/ver/twice.bin
	check "written twice in a row (40 MiB, then 19 bytes): the store keeps the second" \
		obj_is ver/twice.bin "the second version"
fi

# === read your own writes, namespace changes ========================================
pycheck_w ryow /data/ryow
pycheck_w children /data/kids
# A shell appends, and each new program it starts sees every line so far.
# Not under the ASan runtime (WRITE_BASH=0): a shell's child forked while
# an upload thread held a lock of libasan's allocator waited on it for ever
# (seen with dash, 2 runs in 12; glibc's malloc is locked across fork).
# test_upload covers views there.
if [ "${WRITE_BASH:-1}" = 1 ]; then
	appends=$(shim bash -c 'for i in 1 2 3 4 5 6 7 8; do
		echo "line $i" >> /data/kids/log; wc -l < /data/kids/log; done' 2>&1 | tr '\n' ' ')
	check "appends by bash, read by the programs it starts" \
		sh -c '[ "$1" = "1 2 3 4 5 6 7 8 " ] || { echo "got: $1"; exit 1; }' sh "$appends"
fi
pycheck_w ns /data/ns
if [ "${PY_CHECKS:-1}" = 1 ]; then
	# a directory the store has (not this process): > over it is refused
	shim sh -c 'echo x > /data/ns/full' 2>"$RUN/isdir.err"
	check "> over a directory in the store fails with EISDIR" grep -q "Is a directory" "$RUN/isdir.err"
	check "ryow: object has the second version" same_obj ryow/mine.bin <(gen 32 $(((24 << 20) + 5)))
	check "unlink: object gone" gone ns/gone.txt
	check "rename file: old object gone" gone ns/mv-a.bin
	check "rename file: new object equal" same_obj ns/mv-b.bin <(gen 41 300000)
	check "rename dir: 3 objects below the new name" test "$(keys_below ns/moved/ | grep -v '/$' | tr '\n' ' ')" = \
		"w/ns/moved/one.txt w/ns/moved/sub/three.txt w/ns/moved/two.txt "
	check "rename dir: objects equal" sh -c "test \"\$(curl -sf '$(obj_url ns/moved/sub/three.txt)')\" = three"
	check "rename dir: nothing left below the old name" test -z "$(keys_below ns/tree/)"
	check "mkdir: listed by a new process" sh -c "LD_PRELOAD='$SHIM_PRELOAD' ls /data/ns | grep -qx newdir"
	check "mkdir: stat in a new process says directory" test \
		"$(shim stat -c %F /data/ns/newdir 2>&1)" = directory
	check "rmdir: gone for a new process" sh -c "! LD_PRELOAD='$SHIM_PRELOAD' ls /data/ns | grep -qx emptydir"
	check "rmdir of a non-empty dir: its object stays" there ns/full/x.txt
	check "truncate shorter: object" same_obj ns/trunc-short.bin <(gen 42 200000 | head -c 12345)
	check "truncate longer: object" same_obj ns/trunc-long.bin <(printf abc; head -c 9997 /dev/zero)
	check "ftruncate: object" same_obj ns/ftrunc.bin <(gen 43 50000 | head -c 777)
	check "utime/chmod: object unchanged" obj_is ns/times.txt t
fi
# the same with coreutils
check "rm" shim rm /data/cp/a.bin
check "rm: object gone" gone cp/a.bin
check "mv a file" shim mv /data/dd/obj.bin /data/dd/moved.bin
check "mv a file: new object equal" same_obj dd/moved.bin "$RUN/dd.bin"
check "mv a file: old object gone" gone dd/obj.bin
check "rmdir (coreutils) of a non-empty dir fails: Directory not empty" sh -c \
	"LD_PRELOAD='$SHIM_PRELOAD' rmdir /data/tar/dir1 2>&1 | grep -q 'Directory not empty'"
check "touch an existing object" shim touch /data/tar/top.txt
check "touch: object unchanged" same_obj tar/top.txt "$RUN/tree/top.txt"
check "touch a new file makes an empty object" shim touch /data/touch/new.txt
check "touch a new file: object" test "$(obj_status touch/new.txt)/$(obj touch/new.txt | wc -c)" = 200/0

# EROFS: plain HTTP, and a mount configured read-only
echo "served" >"$NGINX_ROOT/served.txt"
chmod 644 "$NGINX_ROOT/served.txt"
pycheck_w errno /web/new.txt 30 /web/served.txt
check "http:// mount: bash > fails with Read-only file system" sh -c \
	"LD_PRELOAD='$SHIM_PRELOAD' sh -c 'echo x > /web/new2.txt' 2>&1 | grep -q 'Read-only file system'"
cat >"$RUN/ro.json" <<JSON
{"mounts": [{"path": "/ro", "url": "s3://$S3_BUCKET/w", "endpoint": "$S3_ENDPOINT", "read_only": true}]}
JSON
CLOUDSHIM_CONFIG=$RUN/ro.json pycheck_w errno /ro/new.txt 30 /ro/cp/b.bin
check "read-only mount: cp fails with Read-only file system" sh -c \
	"CLOUDSHIM_CONFIG='$RUN/ro.json' LD_PRELOAD='$SHIM_PRELOAD' cp '$RUN/dd.bin' /ro/rocp.bin 2>&1 | grep -q 'Read-only file system'"
check "read-only mount: nothing was written" gone rocp.bin
check "read-only mount: existing object untouched" same_obj cp/b.bin "$RUN/src64.bin"
check "read-only mount: reading still works" sh -c \
	"CLOUDSHIM_CONFIG='$RUN/ro.json' LD_PRELOAD='$SHIM_PRELOAD' cat /ro/cp/b.bin | cmp - '$RUN/src64.bin'"

# === durability: fsync, strict close ================================================
# hold_start TAG ARGS...: `writecheck.py hold ARGS...` in the background, its stdin a
# FIFO; waits for its first line (HOLD_LINE).  hold_end TAG: a line to its stdin, then
# waits for it to exit; HOLD_LINE is its last line, HOLD_RC its exit status.
declare -A HOLD_PID=() HOLD_FD=()
hold_start() {
	local tag=$1 fd i
	shift
	rm -f "$RUN/hold.$tag".*
	mkfifo "$RUN/hold.$tag.in"
	shim $PY "$WC" "${HOLD_MODE:-hold}" "$@" <"$RUN/hold.$tag.in" >"$RUN/hold.$tag.out" \
		2>"$RUN/hold.$tag.err" &
	HOLD_PID[$tag]=$!
	exec {fd}>"$RUN/hold.$tag.in"
	HOLD_FD[$tag]=$fd
	for ((i = 0; i < 1000; i++)); do
		[ -s "$RUN/hold.$tag.out" ] && break
		kill -0 "${HOLD_PID[$tag]}" 2>/dev/null || break
		sleep 0.1
	done
	HOLD_LINE=$(head -n 1 "$RUN/hold.$tag.out")
}
hold_end() {
	local tag=$1 fd=${HOLD_FD[$1]}
	# it may have died already: a subshell takes the SIGPIPE, not this script
	(echo go >&"$fd") 2>/dev/null
	exec {fd}>&-
	wait "${HOLD_PID[$tag]}"
	HOLD_RC=$?
	HOLD_LINE=$(tail -n 1 "$RUN/hold.$tag.out")
}
if [ "${PY_CHECKS:-1}" = 1 ]; then
	gen 60 $((12 << 20)) >"$EXP/fsync.bin"
	hold_start fsync /data/dur/fsync.bin 60 $((6 << 20)) fsync
	check "fsync returns 0 ($HOLD_LINE)" test "${HOLD_LINE%% *}" = synced
	check "fsync: durable while still open (aws s3 cp)" same_obj_aws dur/fsync.bin <(head -c $((6 << 20)) "$EXP/fsync.bin")
	check "fsync: staged file still in place while open" test "$(staged_in "$STAGE" | wc -l)" -ge 2
	hold_end fsync
	check "fsync: after more writes and close, the whole file" same_obj dur/fsync.bin "$EXP/fsync.bin"

	# Writes within one clock tick of an fsync leave the mtime where it was
	# on Linux before 6.13; sametick makes that happen on any kernel.
	gen 64 $((3 * (1 << 20))) >"$EXP/sametick.all"
	HOLD_MODE=sametick hold_start tick /data/dur/sametick.bin 64 $((1 << 20)) "$STAGE"
	check "same tick: fsync after an overwrite returns ($HOLD_LINE)" test "$HOLD_LINE" = synced
	check "same tick: fsync sent the overwrite" same_obj dur/sametick.bin \
		<(tail -c +$(((1 << 20) + 1)) "$EXP/sametick.all" | head -c $((1 << 20)))
	hold_end tick
	check "same tick: close returns 0 ($HOLD_LINE)" test "$HOLD_LINE" = "closed rc=0"
	check "same tick: close sent the overwrite after fsync" same_obj dur/sametick.bin \
		<(tail -c $((1 << 20)) "$EXP/sametick.all")

	# and what fsync made durable is not sent again: not by a second
	# fsync, not by the close (through the fault proxy, which logs each request)
	CLOUDSHIM_ENDPOINT=$PROXY/pass check "fsync twice, close: program ran" shim $PY -c '
import os
fd = os.open("/data/dur/synced.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"synced once\n")
os.fsync(fd)
os.fsync(fd)
os.close(fd)'
	check "fsync twice, close: the object" obj_is dur/synced.txt "synced once"
	check "fsync twice, close: one PUT, by the first fsync" test \
		"$(grep -cP "\tPUT\t/pass/$S3_BUCKET/w/dur/synced.txt\t" "$RUN/proxy.log")" = 1

	gen 62 $((2 * (3 << 20))) >"$EXP/syncclose.bin"
	CLOUDSHIM_SYNC_CLOSE=1 hold_start sc /data/dur/syncclose.bin 62 $((3 << 20)) close
	check "SYNC_CLOSE=1: close returns 0 ($HOLD_LINE)" test "${HOLD_LINE% *}" = "closed rc=0"
	check "SYNC_CLOSE=1: durable when close returns, before exit" same_obj dur/syncclose.bin \
		<(head -c $((3 << 20)) "$EXP/syncclose.bin")
	hold_end sc
fi

# === the store is down ================================================================
# Down before the write: the fault proxy's /down answers 503 to every request.
CLOUDSHIM_ENDPOINT=$PROXY/down CLOUDSHIM_REQUEST_TIMEOUT_MS=2000 shim \
	cp "$RUN/dd.bin" /data/rec/early.bin >"$RUN/early.out" 2>&1
rc=$?
check "store down before open: the proxy was asked (and said 503)" \
	grep -qP "\t/down/$S3_BUCKET/w/rec/early.bin\t.*\t503" "$RUN/proxy.log"
check "store down before open: cp fails with EIO (exit $rc)" grep -q "Input/output error" "$RUN/early.out"
check "store down before open: nothing staged or kept" test -z "$(grep -rl early.bin "$STAGE" "$RECOVERY" 2>/dev/null)"

# Writes refused when the program exits: cp closes its stderr before the shim
# reports the failure, which must still be seen (and cp's exit status is 1).
CLOUDSHIM_ENDPOINT=$PROXY/readonly CLOUDSHIM_REQUEST_TIMEOUT_MS=1500 shim \
	cp "$RUN/src5.bin" /data/rec/cp.bin 2>"$RUN/cp-fail.err"
rc=$?
info "upload refused at exit: cp exit $rc; stderr: $(head -c 400 "$RUN/cp-fail.err" | tr '\n' '|')"
check "upload refused at exit: cp exits 1" test "$rc" = 1
check "upload refused at exit: stderr names the path, though cp closed it" \
	grep -q "/data/rec/cp.bin: upload to s3://$S3_BUCKET/w failed" "$RUN/cp-fail.err"
check "upload refused at exit: stderr names the recovery directory" grep -q "$RECOVERY" "$RUN/cp-fail.err"
check "upload refused at exit: stderr sums it up" grep -q "1 upload failed" "$RUN/cp-fail.err"
# its PUT is refused for the whole deadline (1.5 s, and 1 s a MiB): the wait says so
check "upload refused at exit: the wait at exit says what is left" \
	grep -q "waiting for 1 upload (5.0 MiB still to send) to finish" "$RUN/cp-fail.err"

# Down during the upload: a TCP relay in front of s3rver (writecheck.py gate) stops
# listening and cuts its connections, later listens again on the same port.  The
# programs open and write while it is up, and close after it went down.
$PY "$WC" gate "${S3_ENDPOINT#http://}" "$RUN/gate.port" "$RUN/gate.state" &
gate_pid=$!
for _ in $(seq 100); do [ -s "$RUN/gate.port" ] && break; sleep 0.1; done
GATE=http://127.0.0.1:$(cat "$RUN/gate.port")
gate_set() { echo "$1" >"$RUN/gate.state"; sleep 0.3; }
via_gate() { CLOUDSHIM_ENDPOINT=$GATE CLOUDSHIM_REQUEST_TIMEOUT_MS=2000 "$@"; }
gen 71 $((2 * (1 << 20))) | head -c $((1 << 20)) >"$EXP/rec1.bin"
gen 72 $((2 * (20 << 20))) | head -c $((20 << 20)) >"$EXP/rec20.bin"
gen 73 $((2 * 100000)) | head -c 100000 >"$EXP/rec-sc.bin"
if [ "${PY_CHECKS:-1}" = 1 ]; then
	gate_set up
	via_gate hold_start one /data/rec/one.bin 71 $((1 << 20)) wait
	check "gate up: writer 1 MiB ready ($HOLD_LINE)" test "$HOLD_LINE" = written
	via_gate hold_start twenty /data/rec/twenty.bin 72 $((20 << 20)) wait
	check "gate up: writer 20 MiB ready ($HOLD_LINE)" test "$HOLD_LINE" = written
	CLOUDSHIM_SYNC_CLOSE=1 via_gate hold_start strict /data/rec/strict.bin 73 100000 wait
	check "gate up: strict-close writer ready ($HOLD_LINE)" test "$HOLD_LINE" = written
	HOLD_MODE=hold via_gate hold_start fsyncdown /data/rec/fsync.bin 74 $((1 << 20)) wait-fsync
	check "gate up: writer for fsync ready ($HOLD_LINE)" test "$HOLD_LINE" = written
	gate_set down
	hold_end fsyncdown
	check "store down: fsync fails with EIO" grep -q "^fsync-failed 5 " "$RUN/hold.fsyncdown.out"
	check "store down: after the failed fsync, the writer exits 1" test "$HOLD_RC" = 1
	t0=$EPOCHREALTIME
	hold_end one
	info "store down during upload: 1 MiB writer: close: $HOLD_LINE; exit status $HOLD_RC after $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }") s; stderr: $(head -c 500 "$RUN/hold.one.err" | tr '\n' '|')"
	check "store down: a writer whose upload failed exits 1, not 0" test "$HOLD_RC" = 1
	hold_end twenty
	info "store down during upload: 20 MiB writer: exit status $HOLD_RC"
	check "store down: the 20 MiB writer exits 1, not 0" test "$HOLD_RC" = 1
	hold_end strict
	check "store down, SYNC_CLOSE=1: close reports the failure ($HOLD_LINE)" sh -c \
		"case '$HOLD_LINE' in 'closed rc=0'*|'') exit 1;; esac"
	for tag in one twenty strict; do
		check "store down ($tag): stderr names the path" grep -q "/data/rec/$tag.bin" "$RUN/hold.$tag.err"
		check "store down ($tag): stderr names the recovery directory" grep -q "$RECOVERY" "$RUN/hold.$tag.err"
	done
	check "store down: nothing reached the store" gone rec/one.bin
fi
# recovery_entry PATH: the journal entry in the recovery directory whose path is PATH
recovery_entry() {
	grep -lF "\"$1\"" "$RECOVERY"/*.json 2>/dev/null | head -n 1
}
# json_is FILE FIELD VALUE: FILE's FIELD is VALUE (as text)
json_is() {
	$PY -c 'import json, sys
e = json.load(open(sys.argv[1]))
v = e.get(sys.argv[2])
if str(v) != sys.argv[3]:
    sys.exit("%s is %r, not %r; entry: %r" % (sys.argv[2], v, sys.argv[3], e))' "$@"
}
if [ "${PY_CHECKS:-1}" = 1 ]; then
	entry=$(recovery_entry /data/rec/one.bin)
	check "recovery: an entry for the path" test -n "$entry"
	if [ -n "$entry" ]; then
		info "recovery entry: $(cat "$entry")"
		check "recovery: data file equals what was written" cmp "${entry%.json}" "$EXP/rec1.bin"
		check "recovery: entry path" json_is "$entry" path /data/rec/one.bin
		check "recovery: entry url" json_is "$entry" url "s3://$S3_BUCKET/w"
		check "recovery: entry key" json_is "$entry" key rec/one.bin
		check "recovery: entry size" json_is "$entry" size $((1 << 20))
		check "recovery: entry md5" json_is "$entry" md5 "$(md5sum <"$EXP/rec1.bin" | cut -d' ' -f1)"
		check "recovery: entry error" $PY -c 'import json, sys; assert json.load(open(sys.argv[1])).get("error")' "$entry"
		check "recovery: entry and data are 0600" test "$(stat -c %a "$entry" "${entry%.json}" | sort -u)" = 600
	fi
	entry=$(recovery_entry /data/rec/twenty.bin)
	check "recovery, multipart: data equals what was written" sh -c "test -n '$entry' && cmp '${entry%.json}' '$EXP/rec20.bin'"
	entry=$(recovery_entry /data/rec/strict.bin)
	check "recovery, strict close: data equals what was written" sh -c "test -n '$entry' && cmp '${entry%.json}' '$EXP/rec-sc.bin'"
	check "recovery: directory is 0700" test "$(stat -c %a "$RECOVERY" 2>&1)" = 700
	check "recovery: staging directory keeps nothing of them" test -z "$(staged_in "$STAGE")"
	nrec=$(find "$RECOVERY" -name "*.json" | wc -l)

	# cloudshim sync while the store is still down: nothing lost, nonzero exit
	via_gate "$CLOUDSHIM" sync >"$RUN/sync-down.out" 2>&1
	rc=$?
	info "cloudshim sync while down: exit $rc: $(head -c 300 "$RUN/sync-down.out" | tr '\n' '|')"
	check "sync while still down: exit status nonzero" test "$rc" -ne 0
	check "sync while still down: entries kept" test "$(find "$RECOVERY" -name "*.json" | wc -l)" = "$nrec"
	# the store is back, on the same address
	gate_set up
	via_gate "$CLOUDSHIM" sync >"$RUN/sync.out" 2>&1
	rc=$?
	info "cloudshim sync: exit $rc: $(head -c 600 "$RUN/sync.out" | tr '\n' '|')"
	check "sync: exit status 0" test "$rc" = 0
	check "sync: says what it recovered" grep -q rec/one.bin "$RUN/sync.out"
	check "sync: object byte-identical" same_obj rec/one.bin "$EXP/rec1.bin"
	check "sync: multipart object byte-identical" same_obj rec/twenty.bin "$EXP/rec20.bin"
	check "sync: strict-close object byte-identical" same_obj rec/strict.bin "$EXP/rec-sc.bin"
	check "sync: the object whose fsync failed, byte-identical" same_obj rec/fsync.bin \
		<(gen 74 $((2 << 20)) | head -c $((1 << 20)))
	check "sync: the object cp failed to upload, byte-identical" same_obj rec/cp.bin "$RUN/src5.bin"
	check "sync: recovery entries gone" test -z "$(ls -A "$RECOVERY" 2>/dev/null)"
	via_gate "$CLOUDSHIM" sync >"$RUN/sync2.out" 2>&1
	check "sync with nothing to do: exit 0" test $? = 0
fi
# A file larger than the staging space, written while the store goes down: the
# parts it sent (and dropped from staging) are recorded with the rest of its bytes,
# and `cloudshim sync` completes its multipart upload once the store is back.
SMALL64=$RUN/stage64
mkdir -p "$SMALL64"
# stream_start TAG KEY SEED: `writecheck.py streamed` writes 121 MiB of SEED's bytes
# to /data/KEY through the 64 MiB staging tmpfs and holds the file open (hold_start);
# waits until it says "written", and counts the checks it made on the way
stream_start() {
	CLOUDSHIM_STAGING_DIR=$SMALL64/s HOLD_MODE=streamed via_gate hold_start "$1" \
		"/data/$2" "$3" $((120 << 20))
	for _ in $(seq 600); do
		grep -qx written "$RUN/hold.$1.out" && break
		kill -0 "${HOLD_PID[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	grep -E "^(ok|FAIL) " "$RUN/hold.$1.out" | count_py
}
if [ "${PY_CHECKS:-1}" = 1 ] && mount -t tmpfs -o size=64m,mode=0700 tmpfs "$SMALL64"; then
	smallmnt=$SMALL64
	gen 81 $((121 << 20)) >"$EXP/streamed.bin"
	gate_set up
	stream_start streamed stream/cut.bin 81
	check "stream cut: writer ready" grep -qx written "$RUN/hold.streamed.out"
	gate_set down
	hold_end streamed
	info "stream cut: exit $HOLD_RC; stderr: $(tail -c 600 "$RUN/hold.streamed.err" | tr '\n' '|')"
	check "stream cut: the writer exits 1" test "$HOLD_RC" = 1
	entry=$(recovery_entry /data/stream/cut.bin)
	check "stream cut: a recovery entry" test -n "$entry"
	if [ -n "$entry" ]; then
		check "stream cut: the entry records the parts the store holds" $PY -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e.get("upload_id") and e.get("parts"), e
assert e["size"] == 121 << 20, e["size"]' "$entry"
		check "stream cut: the kept file has holes where parts were dropped" test \
			"$(($(stat -c %b "${entry%.json}") * 512))" -lt $((121 << 20))
	fi
	check "stream cut: nothing left in the staging directory" test -z "$(staged_in "$SMALL64/s")"
	gate_set up
	via_gate "$CLOUDSHIM" sync >"$RUN/sync-stream.out" 2>&1
	rc=$?
	info "stream cut: cloudshim sync: exit $rc: $(head -c 300 "$RUN/sync-stream.out" | tr '\n' '|')"
	check "stream cut: sync exit status 0" test "$rc" = 0
	check "stream cut: sync completes it, byte-identical" same_obj stream/cut.bin "$EXP/streamed.bin"

	# The same writer killed (SIGKILL, as the OOM killer does) with parts
	# dropped: its staging entry recorded them before their bytes went, and
	# `cloudshim sync` completes the file with the bytes still staged.
	gen 82 $((121 << 20)) >"$EXP/killed.bin"
	stream_start killed stream/killed.bin 82
	check "stream killed: writer ready" grep -qx written "$RUN/hold.killed.out"
	entry=$(grep -lF '"/data/stream/killed.bin"' "$SMALL64"/s/*.json 2>/dev/null | head -n 1)
	check "stream killed: its staging entry" test -n "$entry"
	# the writer itself, whose pid the entry's name carries (w-PID-...):
	# HOLD_PID is a subshell running timeout(1) running it
	pid=$(basename "$entry" | sed -n 's/^w-\([0-9]*\)-.*/\1/p')
	check "stream killed: SIGKILL sent to the writer" kill -KILL "${pid:-none}"
	hold_end killed
	check "stream killed: the writer died of SIGKILL" test "$HOLD_RC" = $((128 + 9))
	check "stream killed: its staging entry is left" test -f "$entry"
	if [ -n "$entry" ]; then
		check "stream killed: the entry records the parts dropped" $PY -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e.get("upload_id") and e.get("parts") and e["part_base"] > 0, e' "$entry"
		check "stream killed: the staged file has holes where they were" test \
			"$(($(stat -c %b "${entry%.json}") * 512))" -lt $((121 << 20))
	fi
	CLOUDSHIM_STAGING_DIR=$SMALL64/s via_gate "$CLOUDSHIM" sync >"$RUN/sync-killed.out" 2>&1
	rc=$?
	info "stream killed: cloudshim sync: exit $rc: $(head -c 300 "$RUN/sync-killed.out" | tr '\n' '|')"
	check "stream killed: sync exit status 0" test "$rc" = 0
	check "stream killed: sync says it sent the killed program's file" \
		grep -q "sent /data/stream/killed.bin .*killed" "$RUN/sync-killed.out"
	check "stream killed: sync completes it, byte-identical" same_obj stream/killed.bin "$EXP/killed.bin"
	check "stream killed: nothing left in the staging directory" test -z "$(staged_in "$SMALL64/s")"
	umount "$SMALL64" && smallmnt=
elif [ "${PY_CHECKS:-1}" = 1 ]; then
	check "mount a 64 MiB tmpfs for the stream cut" false
fi
kill "$gate_pid" 2>/dev/null
wait "$gate_pid" 2>/dev/null

# === concurrency ==========================================================================
if [ "${PY_CHECKS:-1}" = 1 ]; then
	pycheck_w threads /data/thr 8 $((2 << 20))
	for i in 0 1 2 3 4 5 6 7; do
		check "8 threads: t$i.bin equal" same_obj "thr/t$i.bin" <(gen $((100 + i)) $((2 << 20)))
	done
	for round in 1 2 3 4 5; do
		key=excl/k$round.txt go=$RUN/go.$round
		shim $PY "$WC" excl "/data/$key" A "$go" >"$RUN/excl.A" 2>&1 &
		pa=$!
		shim $PY "$WC" excl "/data/$key" B "$go" >"$RUN/excl.B" 2>&1 &
		pb=$!
		for _ in $(seq 300); do [ -e "$go.ready.A" ] && [ -e "$go.ready.B" ] && break; sleep 0.05; done
		touch "$go"
		wait "$pa" "$pb"
		res=$(cat "$RUN/excl.A" "$RUN/excl.B" | sort | tr '\n' ' ')
		winner=$(sed -n 's/^won //p' "$RUN/excl.A" "$RUN/excl.B")
		check "O_EXCL race $round: one wins, one EEXIST ($res)" test "${res//[AB] /X }" = "EEXIST X won X "
		check "O_EXCL race $round: object is the winner's" obj_is "$key" "written by $winner"
	done
fi

# === a listing made while another process's upload lands =================================
# landcheck lists through bench/shapeproxy.c, which answers 2 s late; its
# child reaches s3rver straight and closes its file while the answer to the
# listing is on its way (so the upload lands after the store listed).
if gcc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$RUN/shapeproxy" "$top/bench/shapeproxy.c"; then
	"$RUN/shapeproxy" "${S3_ENDPOINT##*:}" "$RUN/shape.port" 1000 2000 &
	shape_pid=$!
	for _ in $(seq 100); do [ -s "$RUN/shape.port" ] && break; sleep 0.05; done
	check "listing race: old.txt written" shim sh -c 'echo old > /data/land/old.txt'
	CLOUDSHIM_ENDPOINT=http://127.0.0.1:$(cat "$RUN/shape.port") \
		shim "$top/build/landcheck" /data/land "$S3_ENDPOINT" 2000 | count_py
	kill "$shape_pid" && wait "$shape_pid" 2>/dev/null
	shape_pid=
else
	check "listing race: build bench/shapeproxy.c" false
fi

# === the staging directory ===================================================================
pycheck_w stagesec /data/sec/topsecret-name.bin "$STAGE"
check "staging dir: empty once every writer is done" test -z "$(staged_in "$STAGE")"
uid=$(id -u)
check "default staging dir /dev/shm/cloudshim-$uid: used and 0700" sh -c \
	"env -u CLOUDSHIM_STAGING_DIR LD_PRELOAD='$SHIM_PRELOAD' sh -c 'echo x > /data/sec/default.txt' &&
	 test \"\$(stat -c %a /dev/shm/cloudshim-$uid)\" = 700"
check "default staging dir: object written" obj_is sec/default.txt x

# === staging bound: 2 GiB through a 256 MiB staging directory =================================
# === streams: files larger than the staging space =======================================
# 2 GiB written by dd in 8 MiB blocks with the staging directory on a 256 MiB tmpfs:
# dd writes faster than the store takes it, so the staging space runs short:
# parts then go out while dd writes, and leave staging once the store has them.
bigmnt=$RUN/stage256
mkdir -p "$bigmnt"
if mount -t tmpfs -o size=256m,mode=0700 tmpfs "$bigmnt"; then
	# reproducible bytes, fast: AES-CTR of zeros
	stream2g() { openssl enc -aes-128-ctr -nosalt -pass pass:cloudshim -pbkdf2 -in /dev/zero 2>/dev/null |
		head -c $((2 << 30)); }
	t0=$EPOCHREALTIME
	stream2g | CLOUDSHIM_STAGING_DIR=$bigmnt/s shim_err dd of=/data/big/2g.bin bs=8M iflag=fullblock status=none
	rc=${PIPESTATUS[1]}	# dd's (openssl ends on a broken pipe)
	info "2 GiB with 256 MiB staging: dd exit $rc after $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }") s; stderr: $(head -c 400 "$RUN/last.err" | tr '\n' '|')"
	check "2 GiB with 256 MiB staging: dd succeeds" test "$rc" = 0
	check "2 GiB with 256 MiB staging: object byte-identical" test \
		"$(curl -sf "$(obj_url big/2g.bin)" | md5sum | cut -d' ' -f1)" = "$(stream2g | md5sum | cut -d' ' -f1)"
	check "2 GiB with 256 MiB staging: staging left empty" test -z "$(staged_in "$bigmnt/s")"
	# a shell opens the file (`>`) and execs the writer, which inherits it:
	# the writer streams it too (its writes are write(2) calls the shim sees)
	stream2g | head -c $((768 << 20)) | CLOUDSHIM_STAGING_DIR=$bigmnt/s \
		shim_err bash -c 'cat > /data/big/cat.bin'
	rc=${PIPESTATUS[2]}
	info "768 MiB by cat > in a shell, 256 MiB staging: exit $rc; stderr: $(head -c 400 "$RUN/last.err" | tr '\n' '|')"
	check "768 MiB by cat > in a shell, 256 MiB staging: succeeds" test "$rc" = 0
	check "768 MiB by cat > in a shell, 256 MiB staging: object byte-identical" test \
		"$(curl -sf "$(obj_url big/cat.bin)" | md5sum | cut -d' ' -f1)" = \
		"$(stream2g | head -c $((768 << 20)) | md5sum | cut -d' ' -f1)"
	check "768 MiB by cat > in a shell: staging left empty" test -z "$(staged_in "$bigmnt/s")"
	umount "$bigmnt" && bigmnt=
else
	check "mount a 256 MiB tmpfs for the staging bound" false
fi
# zipfile goes back to patch each member's header after writing it: the parts
# already sent are sent again, and the archive is whole.
if [ "${PY_CHECKS:-1}" = 1 ]; then
	check "zipfile writes a 48 MiB archive" shim $PY "$WC" zip /data/zip/a.zip $((48 << 20))
	curl -sf -o "$RUN/a.zip" "$(obj_url zip/a.zip)"
	check "zipfile archive: unzip -t passes (read back with curl)" unzip -tq "$RUN/a.zip"
	check "zipfile archive: member bytes" $PY -c '
import sys, zipfile, random
z = zipfile.ZipFile(sys.argv[1])
for i in range(6):
    assert z.read("member%d.bin" % i) == random.Random(300 + i).randbytes(8 << 20), i' "$RUN/a.zip"
fi

# --- a staging directory others could use -------------------------------------
mkdir -m 755 "$RUN/open-staging"
check "staging directory open to others: EROFS, and the message says why and what to do" \
	sh -c "! CLOUDSHIM_STAGING_DIR='$RUN/open-staging' LD_PRELOAD='$SHIM_PRELOAD' sh -c 'echo x > /data/unsafe.txt' 2>'$RUN/unsafe.err' &&
	grep -q 'Read-only file system' '$RUN/unsafe.err' &&
	grep -q 'staging directory $RUN/open-staging is open to others (mode 0755).*chmod 700 it' '$RUN/unsafe.err'"
check "staging directory open to others: nothing was written" gone unsafe.txt

# --- random calls, each compared with the same call on a local directory ---------
# Access modes and O_EXCL first, then tests/integration/fsfuzz.py: these seeds
# found read() of an O_WRONLY descriptor returning bytes, EEXIST from the
# upload of an O_EXCL file renamed over another, O_EXCL refused on a name an
# open file had left, and O_APPEND opens starting at the end.  Then every
# name is read from the store by curl: the local file's bytes, or nothing.
pycheck_w modes /data/modes
fuzz_store_is() {	# fuzz_store_is PREFIX LOCAL
	local name
	for name in f0 f1 f2 d/f3 d/f4; do
		if [ -f "$2/$name" ]; then
			same_obj "$1/$name" "$2/$name" || { echo "$name differs"; return 1; }
		else
			gone "$1/$name" || return 1
		fi
	done
}
if [ "${PY_CHECKS:-1}" = 1 ]; then
	check "modes: the O_EXCL file renamed away is there under its new name" \
		sh -c "test \"\$(curl -sf '$(obj_url modes/excl-rename.moved)')\" = rename"
	check "modes: O_EXCL file made again after the rename is there" there modes/excl-rename
	check "modes: O_EXCL file made again after the unlink is there" there modes/excl-unlink
	for seed in 1 6 11 13 28 104; do
		mkdir -p "$RUN/fuzz$seed"
		shim $PY "$here/fsfuzz.py" "/data/fuzz$seed" "$RUN/fuzz$seed" "$seed" 400 | count_py
		check "fsfuzz seed $seed: the store holds what the local directory does" \
			fuzz_store_is "fuzz$seed" "$RUN/fuzz$seed"
	done
	# a file:// store refuses an exclusive create of a key that exists, as
	# S3 does with If-None-Match (s3rver 5 ignores it): so here an O_EXCL
	# file renamed over another before its close shows whether it lands
	mkdir -p "$RUN/fstore" "$RUN/fexp"
	CLOUDSHIM_MOUNTS="/f=file://$RUN/fstore" pycheck_w checkpoint /f/ck "$RUN/fexp"
	check "file://: mkstemp renamed over before close lands" \
		cmp "$RUN/fstore/ck/atomic.bin" "$RUN/fexp/atomic.bin"
	for seed in 4 11; do
		mkdir -p "$RUN/ffuzz$seed"
		CLOUDSHIM_MOUNTS="/f=file://$RUN/fstore" shim $PY "$here/fsfuzz.py" "/f/fuzz$seed" \
			"$RUN/ffuzz$seed" "$seed" 400 | count_py
		check "file:// fsfuzz seed $seed: the store holds what the local directory does" \
			diff -r "$RUN/fstore/fuzz$seed" "$RUN/ffuzz$seed"
	done
fi

summary
