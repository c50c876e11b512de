#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Checks pass whole commands to eval in single quotes, on purpose:
# shellcheck disable=SC2016
# SPDX-License-Identifier: MIT
#
# Self-test of the test servers: starts each one (nginx, s3rver, radosgw) in
# a temporary RUNDIR, checks it with real requests (curl, and Debian's AWS CLI
# v2 at /usr/bin/aws for S3), stops them all and checks that no process is
# left. Last line: "N passed, M failed"; exit status 1 if M > 0.
#
#   tests/servers/selftest.sh            all servers
#   tests/servers/selftest.sh nginx s3rver   only these
#   KEEP=1 tests/servers/selftest.sh     keep the RUNDIRs (logs) afterwards
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

SERVERS=("$@")
[ "${#SERVERS[@]}" -gt 0 ] || SERVERS=(nginx s3rver radosgw)

BASE=$(mktemp -d "${TMPDIR:-/tmp}/cloudshim-servers.XXXXXX")
PASS=0
FAIL=0
PIDS=() # every server process seen, checked at the end
STARTED=()

ok() {
	PASS=$((PASS + 1))
	echo "ok   $*"
}
bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL $*"
}
# check NAME CMD...: pass if CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

cleanup() {
	local s
	for s in "${STARTED[@]}"; do
		"$HERE/$s.sh" stop "$BASE/$s" >/dev/null 2>&1 || true
	done
	if [ -n "${KEEP:-}" ]; then
		echo "kept $BASE"
	else
		rm -rf "$BASE"
	fi
}
trap cleanup EXIT
# set -e must not end the run silently.
trap 'echo "selftest.sh: line $LINENO: unexpected failure" >&2' ERR

# The AWS CLI must not read the developer's ~/.aws, ask an instance metadata
# service, or page its output. AWS_CA_BUNDLE is set on these machines: keep
# it set (to the system bundle if unset) to show http endpoints ignore it.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
[ -n "${AWS_CA_BUNDLE:-}" ] || export AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
AWS=/usr/bin/aws

# start NAME: start a server, time it, record its pids.
start() {
	local s=$1 t0 t1 f
	mkdir -p "$BASE/$s"
	t0=$(date +%s%N)
	STARTED+=("$s")
	if ! "$HERE/$s.sh" start "$BASE/$s"; then
		bad "$s: start"
		return 1
	fi
	t1=$(date +%s%N)
	ok "$s: started in $(((t1 - t0) / 1000000)) ms"
	for f in "$BASE/$s"/*.pid; do
		[ -f "$f" ] || continue
		PIDS+=("$(cat "$f")")
		# nginx workers (and any other children) must go too.
		mapfile -t -O "${#PIDS[@]}" PIDS < <(pgrep -P "$(cat "$f")" || true)
	done
}

# --- nginx ----------------------------------------------------------------
curl_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }

test_nginx() {
	local rd=$BASE/nginx NGINX_URL NGINX_SHAPED_URL NGINX_HTTPS_URL NGINX_CA NGINX_ROOT out hdr t
	start nginx || return 0
	# shellcheck disable=SC1091
	. "$rd/nginx.env"
	check "nginx: env names its root" [ "$NGINX_ROOT" = "$rd/www" ]
	head -c 1048576 /dev/urandom >"$NGINX_ROOT/f"
	head -c 16777216 /dev/zero >"$NGINX_ROOT/big"
	dd if="$NGINX_ROOT/f" of="$BASE/expect" bs=1000 skip=1 count=1 status=none

	# Range on port A; the log line must be there as soon as curl is done.
	curl -s -r 1000-1999 -o "$BASE/got" "$NGINX_URL/f"
	check "nginx: range bytes" cmp -s "$BASE/got" "$BASE/expect"
	check "nginx: access log line written at once (tab-separated)" \
		grep -qP "^GET\t/f\t206\tbytes=1000-1999\t1000\t${NGINX_URL##*:}\t" "$rd/nginx_access.log"
	hdr=$(curl -sI "$NGINX_URL/f")
	check "nginx: HEAD gives ETag" grep -qi '^etag: "' <<<"$hdr"
	check "nginx: HEAD gives Last-Modified" grep -qi '^last-modified:' <<<"$hdr"

	# /norange/ ignores Range: 200 and the whole body.
	out=$(curl -s -r 0-9 -o /dev/null -w '%{http_code} %{size_download}' "$NGINX_URL/norange/f")
	check "nginx: /norange/ ignores Range ($out)" [ "$out" = "200 1048576" ]
	# /noetag/: no ETag on GET, HEAD refused.
	hdr=$(curl -s -D - -o /dev/null "$NGINX_URL/noetag/f")
	check "nginx: /noetag/ GET 200 without ETag" \
		eval 'grep -q "^HTTP/1.1 200" <<<"$hdr" && ! grep -qi "^etag:" <<<"$hdr"'
	out=$(curl_code -I "$NGINX_URL/noetag/f")
	check "nginx: /noetag/ HEAD gives 405 ($out)" [ "$out" = 405 ]
	out=$(curl -s -r 0-9 -o /dev/null -w '%{http_code} %{size_download}' "$NGINX_URL/noetag/f")
	check "nginx: /noetag/ still honours Range ($out)" [ "$out" = "206 10" ]

	# Shaped port: ~20 ms to first byte, Range and HEAD through echo_exec.
	t=$(curl -s -r 1000-1999 -o "$BASE/got" -w '%{time_starttransfer}' "$NGINX_SHAPED_URL/f")
	check "nginx shaped: range bytes" cmp -s "$BASE/got" "$BASE/expect"
	check "nginx shaped: first byte after ${t}s (want 0.018-0.5)" \
		awk -v t="$t" 'BEGIN { exit !(t >= 0.018 && t < 0.5) }'
	hdr=$(curl -sI "$NGINX_SHAPED_URL/f")
	check "nginx shaped: HEAD 200 with ETag and length" eval \
		'grep -q "^HTTP/1.1 200" <<<"$hdr" && grep -qi "^etag:" <<<"$hdr" && grep -qi "^content-length: 1048576" <<<"$hdr"'
	t=$(curl -s -o /dev/null -w '%{speed_download}' "$NGINX_SHAPED_URL/big")
	check "nginx shaped: rate limited (${t%.*} B/s, want < 100 MB/s)" \
		awk -v s="$t" 'BEGIN { exit !(s > 0 && s < 100e6) }'
	t=$(curl -s -o /dev/null -w '%{speed_download}' "$NGINX_URL/big")
	check "nginx: port A not rate limited (${t%.*} B/s)" \
		awk -v s="$t" 'BEGIN { exit !(s > 100e6) }'
	# 10 requests so far (liveness probes are not logged).
	check "nginx: access log has 10 lines of 9 fields" eval \
		"[ \"\$(awk -F'\t' 'NF == 9' '$rd/nginx_access.log' | wc -l)\" = 10 ]"

	# Port C: TLS with the run's own certificate, trusted only when asked.
	curl -s --cacert "$NGINX_CA" -r 1000-1999 -o "$BASE/got" "$NGINX_HTTPS_URL/f"
	check "nginx https: range bytes with NGINX_CA" cmp -s "$BASE/got" "$BASE/expect"
	out=$(curl -s --cacert "$NGINX_CA" -o /dev/null -w '%{http_code}' \
		"https://localhost:${NGINX_HTTPS_URL##*:}/f")
	check "nginx https: certificate names localhost too ($out)" [ "$out" = 200 ]
	out=$(curl -s --cacert /etc/ssl/certs/ca-certificates.crt -o /dev/null "$NGINX_HTTPS_URL/f"; echo $?)
	check "nginx https: not trusted without NGINX_CA (curl exit $out)" [ "$out" = 60 ]
}

# --- S3 servers -----------------------------------------------------------
# s3_checks NAME: the same checks against s3rver and radosgw.
s3_checks() {
	local s=$1 rd=$BASE/$1 out key='dir/obj +1.bin' aws
	start "$s" || return 0
	# Both env files set the same names: the second server's replace the first's.
	set -a
	# shellcheck disable=SC1090
	. "$rd/$s.env"
	set +a
	aws=("$AWS" --endpoint-url "$S3_ENDPOINT")
	head -c 300000 /dev/urandom >"$rd/obj"
	dd if="$rd/obj" of="$rd/expect" bs=1000 skip=1 count=5 status=none
	check "$s: put-object" eval \
		'"${aws[@]}" s3api put-object --bucket "$S3_BUCKET" --key "$key" --body "$rd/obj" >/dev/null'
	check "$s: get-object byte range" eval \
		'"${aws[@]}" s3api get-object --bucket "$S3_BUCKET" --key "$key" --range bytes=1000-5999 "$rd/got" >/dev/null &&
		cmp -s "$rd/got" "$rd/expect"'
	out=$("${aws[@]}" s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix dir/ \
		--query 'Contents[].Key' --output text 2>&1 || true)
	check "$s: list ($out)" [ "$out" = "$key" ]
	# A wrong secret must be refused with 403. radosgw's error has an empty
	# <Message>, on which the CLI's error helper crashes (exit 255, "argument
	# of type 'NoneType' is not iterable"): read the status from --debug.
	out=$(AWS_SECRET_ACCESS_KEY=wrong-secret "${aws[@]}" --debug s3api list-objects-v2 \
		--bucket "$S3_BUCKET" 2>&1 >/dev/null || true)
	check "$s: wrong secret gets 403" grep -qE '" 403 [0-9]+$' <<<"$out"
	head -c 9437184 /dev/urandom >"$rd/big"
	check "$s: multipart upload and download (9 MiB)" eval \
		'"${aws[@]}" s3 cp --only-show-errors "$rd/big" "s3://$S3_BUCKET/big" &&
		"${aws[@]}" s3 cp --only-show-errors "s3://$S3_BUCKET/big" "$rd/big.back" &&
		cmp -s "$rd/big" "$rd/big.back"'
}

for s in "${SERVERS[@]}"; do
	case "$s" in
	nginx) test_nginx ;;
	s3rver | radosgw) s3_checks "$s" ;;
	*) bad "unknown server $s" ;;
	esac
done

# --- stop everything, nothing may be left ---------------------------------
for s in "${STARTED[@]}"; do
	t0=$(date +%s%N)
	if "$HERE/$s.sh" stop "$BASE/$s"; then
		ok "$s: stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
	else
		bad "$s: stop"
	fi
done
STARTED=()
left=()
for p in "${PIDS[@]}"; do
	if srv_alive "$p"; then left+=("$p($(cat "/proc/$p/comm" 2>/dev/null))"); fi
done
check "no server process left (${#PIDS[@]} checked${left[*]:+: ${left[*]}})" [ "${#left[@]}" -eq 0 ]
for s in "${SERVERS[@]}"; do
	check "$s: no pid file left" eval "! ls '$BASE/$s'/*.pid >/dev/null 2>&1"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
