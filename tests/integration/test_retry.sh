#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_retry.sh - transient failures: 503 with Retry-After, 429, 500, 502,
# 504, a body cut short, a connection reset or closed without an answer, and
# a store that stays down (503 for ever, never answering, refusing
# connections), which must give EIO within the deadline.  A fault-injecting
# proxy (tests/servers/faultproxy.py) stands in front of the real nginx and
# logs what it was asked.
#
#   test_retry.sh PRELOAD
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
SHIM_PRELOAD=$1
RUN=$(mktemp -d /tmp/cloudshim-retry.XXXXXX)
chmod 755 "$RUN"
proxy_pid=

cleanup() {
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
	"$top/tests/servers/nginx.sh" stop "$RUN" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
}
trap cleanup EXIT

"$top/tests/servers/nginx.sh" start "$RUN" >/dev/null || exit 1
. "$RUN/nginx.env"
/usr/bin/python3 "$top/tests/servers/faultproxy.py" "$NGINX_URL" "$RUN/proxy.port" \
	"$RUN/proxy.log" &
proxy_pid=$!
for _ in $(seq 100); do [ -s "$RUN/proxy.port" ] && break; sleep 0.1; done
[ -s "$RUN/proxy.port" ] || { echo "FAIL fault proxy did not start"; exit 1; }
touch "$RUN/proxy.log"

head -c $((3 << 20)) /dev/urandom >"$NGINX_ROOT/obj.bin"
chmod 644 "$NGINX_ROOT/obj.bin"
export CLOUDSHIM_MOUNTS="/f=http://127.0.0.1:$(cat "$RUN/proxy.port")"
export CLOUDSHIM_REQUEST_TIMEOUT_MS=10000

# log_of FAULT: the proxy's lines for that fault's object
log_of() { grep -P "\t/$1/obj.bin\t" "$RUN/proxy.log"; }
# retried FAULT STATUS N: N GETs were answered STATUS, and each of their
# ranges was asked for again later and answered 2xx
retried() {
	log_of "$1" | awk -F'\t' -v st="$2" -v want="$3" '
		$2 == "GET" && $5 == st { failed[$4] = 1; n++; next }
		$2 == "GET" && $5 ~ /^2/ && ($4 in failed) { again[$4] = 1 }
		END { for (r in failed) if (!(r in again)) { print "not asked again: " r; exit 1 }
			if (n != want) { print n " GETs answered " st ", wanted " want; exit 1 } }'
}
# Milliseconds since $1, an $EPOCHREALTIME value.
ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${1/./}) / 1000))
}

check "503 twice, then the bytes" sh -c "LD_PRELOAD='$SHIM_PRELOAD' cat /f/busy/obj.bin | cmp - '$NGINX_ROOT/obj.bin'"
check "503 was answered twice" test "$(log_of busy | awk -F'\t' '$5 == 503' | wc -l)" = 2
# Retry-After: 1 means the retry after the second 503 waits a second
check "Retry-After honoured" awk -F'\t' '
	$5 == 503 { last503 = $1; n++ }
	$5 != 503 && n == 2 && !done { gap = $1 - last503; done = 1 }
	END { exit !(done && gap >= 0.9) }' <(log_of busy)

check "429, then the bytes" sh -c "LD_PRELOAD='$SHIM_PRELOAD' cat /f/slow/obj.bin | cmp - '$NGINX_ROOT/obj.bin'"
check "429 was answered, then retried" test "$(log_of slow | awk -F'\t' '$5 == 429' | wc -l)" = 1

check "body cut short, then the bytes" sh -c "LD_PRELOAD='$SHIM_PRELOAD' cat /f/cut/obj.bin | cmp - '$NGINX_ROOT/obj.bin'"
# the resumed request ends where the cut one did, but starts further on
# (parts go out in parallel, so the log's order proves nothing)
check "cut body resumed mid-range" awk -F'\t' '
	$2 == "GET" { split($4, r, "[=-]")
		if (r[3] in start && start[r[3]] != r[2] + 0) resumed = 1
		start[r[3]] = r[2] + 0 }
	END { exit !resumed }' <(log_of cut)
check "no byte delivered twice after a cut" sh -c "LD_PRELOAD='$SHIM_PRELOAD' md5sum /f/cut/obj.bin | grep -q $(md5sum <"$NGINX_ROOT/obj.bin" | cut -d' ' -f1)"

# 500, 502, 504: the first two GETs fail, their ranges are asked again
for code in 500 502 504; do
	check "$code twice, then the bytes" sh -c "LD_PRELOAD='$SHIM_PRELOAD' cat /f/http$code/obj.bin | cmp - '$NGINX_ROOT/obj.bin'"
	check "$code was answered twice, each range retried" retried "http$code" "$code" 2
done
# No answer at all: the first two GETs' connections are reset (RST), or
# closed (two: libcurl retries once by itself on a reused connection)
for how in reset hangup; do
	check "connection $how without an answer, then the bytes" sh -c "LD_PRELOAD='$SHIM_PRELOAD' cat /f/$how/obj.bin | cmp - '$NGINX_ROOT/obj.bin'"
	check "connection $how twice: the range retried" retried "$how" "$how" 2
done

# A store that stays down: EIO, and no later than the deadline (1500 ms)
# plus a generous margin (5 s): a bound on hanging, not on speed.
# down_check WHAT PATH [MOUNTS]: cat PATH fails with EIO in time
down_check() {
	local what=$1 path=$2 mounts=${3:-$CLOUDSHIM_MOUNTS} t0 ms
	t0=$EPOCHREALTIME
	CLOUDSHIM_MOUNTS=$mounts CLOUDSHIM_REQUEST_TIMEOUT_MS=1500 LD_PRELOAD="$SHIM_PRELOAD" \
		timeout 60 cat "$path" >/dev/null 2>"$RUN/down.err"
	ms=$(ms_since "$t0")
	check "store down ($what): EIO" grep -q 'Input/output error' "$RUN/down.err"
	check "store down ($what): EIO after ${ms} ms, within 1500 ms + 5 s" test "$ms" -le 6500
}
down_check "503 every time" /f/down/obj.bin
check "store down: retried before giving up" test "$(log_of down | wc -l)" -ge 2
down_check "never answers" /f/stall/obj.bin
closed=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
down_check "connection refused" /c/obj.bin "/c=http://127.0.0.1:$closed"

summary
