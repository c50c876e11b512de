#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_read.sh - the read path end to end: unmodified programs read objects
# from nginx (http:// and https://), s3rver and Ceph's radosgw (s3://, SigV4
# verified) and a local directory (file://) through the shim, byte for byte
# against the source; request accounting from nginx's log; errors as errno;
# TLS trust; where S3 keys, endpoint and region come from (profiles, AWS_*
# variables, anonymous, a config file for `cloudshim run`).
#
#   test_read.sh PRELOAD     PRELOAD: what LD_PRELOAD gets (the library, or a
#                            sanitizer runtime followed by the library)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
. "$top/tests/servers/lib.sh"
SHIM_PRELOAD=$1
RUN=$(mktemp -d /tmp/cloudshim-test.XXXXXX)
chmod 755 "$RUN"

cleanup() {
	"$top/tests/servers/nginx.sh" stop "$RUN" >/dev/null 2>&1
	"$top/tests/servers/s3rver.sh" stop "$RUN" >/dev/null 2>&1
	"$top/tests/servers/radosgw.sh" stop "$RUN" >/dev/null 2>&1
	rm -rf "$RUN"
}
trap cleanup EXIT

"$top/tests/servers/nginx.sh" start "$RUN" >/dev/null || exit 1
"$top/tests/servers/s3rver.sh" start "$RUN" >/dev/null || exit 1
"$top/tests/servers/radosgw.sh" start "$RUN" >/dev/null || exit 1
. "$RUN/nginx.env"
. "$RUN/radosgw.env"
RGW_ENDPOINT=$S3_ENDPOINT RGW_BUCKET=$S3_BUCKET
RGW_KEY=$AWS_ACCESS_KEY_ID RGW_SECRET=$AWS_SECRET_ACCESS_KEY
. "$RUN/s3rver.env"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN

# The objects: random bytes, text, and a key with every awkward character.
src=$NGINX_ROOT
weird='dir x/a b+c%d?e#f ü.txt'
head -c $((48 << 20)) /dev/urandom >"$src/big.bin"
head -c $((8 << 20)) /dev/urandom >"$src/stale.bin"
seq 1 200000 | sed 's/$/ hello line/' >"$src/small.txt"
seq 1 5000 >"$src/tiny.txt"	# smaller than what an open fetches with the metadata
: >"$src/empty.bin"
mkdir -p "$src/dir x"
echo "the weird key" >"$src/$weird"
chmod -R a+rX "$src"
aws_s3() {	# aws_s3 ENDPOINT ARGS...
	local ep=$1
	shift
	AWS_CA_BUNDLE= /usr/bin/aws --endpoint-url "$ep" s3 "$@" >/dev/null
}
for f in big.bin small.txt tiny.txt empty.bin "$weird"; do
	aws_s3 "$S3_ENDPOINT" cp "$src/$f" "s3://$S3_BUCKET/pre/$f"
	AWS_ACCESS_KEY_ID=$RGW_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET \
		aws_s3 "$RGW_ENDPOINT" cp "$src/$f" "s3://$RGW_BUCKET/pre/$f"
done

cat >"$RUN/rgw.json" <<JSON
{"mounts": [{"path": "/rgw", "url": "s3://$RGW_BUCKET/pre", "endpoint": "$RGW_ENDPOINT"}]}
JSON
export CLOUDSHIM_CONFIG=$RUN/rgw.json
export CLOUDSHIM_MOUNTS="/web=$NGINX_URL;/tls=$NGINX_HTTPS_URL;/s3=s3://$S3_BUCKET/pre;/local=file://$src;/norange=$NGINX_URL/norange;/noetag=$NGINX_URL/noetag;/shaped=$NGINX_SHAPED_URL"
export CLOUDSHIM_ENDPOINT=$S3_ENDPOINT
export CLOUDSHIM_METADATA_TTL_MS=0
export CLOUDSHIM_READ_ONLY=1	# the read path; writes are test_write.sh's
# TLS trust: the run's self-signed certificate through CURL_CA_BUNDLE only.
# The machine may export AWS_CA_BUNDLE (the shim prefers it to
# CURL_CA_BUNDLE) and SSL_CERT_FILE: each check below says which it uses.
unset AWS_CA_BUNDLE SSL_CERT_FILE
export CURL_CA_BUNDLE=$NGINX_CA

same() {	# same FILE CMD...: CMD's output equals FILE
	local want=$1
	shift
	shim "$@" | cmp - "$want"
}

equal() {	# equal FILE CMD...: CMD's output equals FILE (CMD run as given)
	local want=$1
	shift
	"$@" | cmp - "$want"
}

# shim_env [-u NAME]... [NAME=VALUE]... CMD...: CMD under the shim, its
# environment changed before the library loads. (A process under the shim
# hands the AWS_* and CLOUDSHIM_* variables it started with to the programs
# it starts, so `shim env -u NAME` cannot take one of those away.)
shim_env() {
	local unset=()
	while [ "${1:-}" = -u ]; do
		unset+=(-u "$2")
		shift 2
	done
	timeout 120 env "${unset[@]}" LD_PRELOAD="$SHIM_PRELOAD" "$@"
}

fails_with() {	# fails_with TEXT CMD...: CMD fails and its output says TEXT
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "succeeded: $out"
		return 1
	fi
	grep -qiF -- "$want" <<<"$out" || { echo "$out"; return 1; }
}

# Milliseconds since $1, an $EPOCHREALTIME value.
ms_since() {
	local now=$EPOCHREALTIME
	echo $(((${now/./} - ${1/./}) / 1000))
}

# radosgw and s3rver share the fixed test keys (tests/servers/*.sh)
[ "$RGW_KEY/$RGW_SECRET" = "$AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY" ] || exit 1

for m in web tls s3 rgw local; do
	check "$m: cat" same "$src/big.bin" cat "/$m/big.bin"
	check "$m: md5sum" test "$(shim md5sum <"$src/big.bin" | cut -d' ' -f1)" = \
		"$(shim md5sum "/$m/big.bin" | cut -d' ' -f1)"
	check "$m: cmp" shim cmp "/$m/big.bin" "$src/big.bin"
	check "$m: head -c" same <(head -c 100000 "$src/big.bin") head -c 100000 "/$m/big.bin"
	check "$m: tail -c" same <(tail -c 300000 "$src/big.bin") tail -c 300000 "/$m/big.bin"
	check "$m: dd skip=" same <(dd if="$src/big.bin" bs=64k skip=37 count=50 status=none) \
		dd if="/$m/big.bin" bs=64k skip=37 count=50 status=none
	check "$m: wc -c by name" test "$(shim wc -c "/$m/big.bin" | cut -d' ' -f1)" = "$(wc -c <"$src/big.bin")"
	check "$m: grep" test "$(shim grep -c '99 hello' "/$m/small.txt")" = "$(grep -c '99 hello' "$src/small.txt")"
	check "$m: a file smaller than an open's first GET" same "$src/tiny.txt" cat "/$m/tiny.txt"
	check "$m: an empty file" test "$(shim sh -c "wc -c <'/$m/empty.bin'; cat '/$m/empty.bin' | wc -c" | tr '\n' ' ')" = "0 0 "
	rm -f "$RUN/copy"
	check "$m: cp to local" shim cp "/$m/big.bin" "$RUN/copy"
	check "$m: cp copy is equal" cmp "$RUN/copy" "$src/big.bin"
	check "$m: awkward key" same "$src/$weird" cat "/$m/$weird"
	check "$m: awkward key via relative path" same "$src/$weird" \
		sh -c "cd / && exec cat '$m/dir x/../$weird'"
	pycheck bytes "/$m/big.bin" "$src/big.bin"
	pycheck errors "/$m"
	pycheck dup "/$m/small.txt" "$src/small.txt"
done

# libcurl and the libraries it brings are opened by the first request
# (backend/curl_lib.h): a program that never reads a mount never loads them.
# maps_under_shim WANT CAT_ARGS...: cat printed its own maps, the shim in
# them, and libcurl in them or not (WANT: yes / no).
maps_under_shim() {
	local want=$1 maps
	shift
	maps=$(shim cat "$@" /proc/self/maps) && grep -q libcloudshim <<<"$maps" || return 1
	if grep -q libcurl <<<"$maps"; then [ "$want" = yes ]; else [ "$want" = no ]; fi
}
check "no mount used: libcurl not loaded" maps_under_shim no
check "a mount read: libcurl loaded" maps_under_shim yes /web/small.txt

# ".." out of a mount is a local path, resolved by text: /web is not on this
# disk, so the kernel could not walk through it, but the shim shows it there
check "path climbing out of the mount is local" test \
	"$(shim cat /web/../etc/hostname 2>&1)" = "$(cat /etc/hostname)"
check "ls -la of a mount's root: its .. is there (exit 0)" shim ls -la /local/
check "no Range support: bytes still right" same <(tail -c 1000 "$src/big.bin") tail -c 1000 /norange/big.bin
check "no Range support: said clearly" sh -c "LD_PRELOAD='$SHIM_PRELOAD' tail -c 10 /norange/small.txt 2>&1 >/dev/null | grep -q 'ignores Range'"
check "no ETag, no HEAD: bytes right" same "$src/big.bin" cat /noetag/big.bin

# TLS. The loop above read /tls with the CA in CURL_CA_BUNDLE; the README
# names two more variables, each tried alone here.
for var in AWS_CA_BUNDLE SSL_CERT_FILE; do
	check "https: CA trusted through $var: cat" equal "$src/big.bin" \
		shim_env -u CURL_CA_BUNDLE "$var=$NGINX_CA" cat /tls/big.bin
	check "https: CA trusted through $var: tail -c" equal <(tail -c 300000 "$src/big.bin") \
		shim_env -u CURL_CA_BUNDLE "$var=$NGINX_CA" tail -c 300000 /tls/big.bin
done
# Not trusted (no variable: libcurl's default, the system's CAs): opening
# fails with EIO, stderr names the certificate problem, and it fails at once
# rather than retrying until the (default, 30 s) deadline: a certificate
# does not get better by asking again.  sh's redirection is the open.
t0=$EPOCHREALTIME
shim_env -u CURL_CA_BUNDLE -u AWS_CA_BUNDLE -u SSL_CERT_FILE CLOUDSHIM_REQUEST_TIMEOUT_MS=30000 \
	sh -c 'exec 3<"$1"' sh /tls/small.txt >"$RUN/untrusted.out" 2>&1
t=$(ms_since "$t0")
check "https, CA not trusted: open fails with EIO" grep -q 'Input/output error' "$RUN/untrusted.out"
check "https, CA not trusted: stderr names the certificate problem" \
	grep -qi 'certificate' "$RUN/untrusted.out"
check "https, CA not trusted: fails in ${t} ms, not retried to the deadline" test "$t" -lt 5000
# http(s):// mounts are read-only by nature, not only when told so
check "https: creating a file is EROFS without read_only" fails_with 'Read-only file system' \
	shim_env -u CLOUDSHIM_READ_ONLY sh -c 'exec 3>/tls/new.txt'
check "https: O_RDWR of an object is EROFS without read_only" fails_with 'Read-only file system' \
	shim_env -u CLOUDSHIM_READ_ONLY sh -c 'exec 3<>/tls/small.txt'
# Allocators that replace malloc and map memory while they set up (through
# mmap and syscall, both wrapped), loaded before and after the shim.  Not
# with a sanitizer runtime, which replaces malloc itself.
libdir=/usr/lib/$(gcc -print-multiarch)
case $SHIM_PRELOAD in *libasan*) allocs= ;; *) allocs="libjemalloc.so.2 libtcmalloc_minimal.so.4" ;; esac
# Over nginx and s3rver too: the fetch threads, curl and OpenSSL then
# allocate from the replacement, and read-ahead runs on them.
for alloc in $allocs; do
	for order in "$libdir/$alloc $SHIM_PRELOAD" "$SHIM_PRELOAD $libdir/$alloc"; do
		for mnt in /local /web /s3; do
			check "$alloc, LD_PRELOAD=${order//$libdir\//}: md5sum $mnt/big.bin" test \
				"$(SHIM_PRELOAD=$order shim md5sum $mnt/big.bin | cut -d' ' -f1)" = \
				"$(md5sum <"$src/big.bin" | cut -d' ' -f1)"
		done
	done
done
check "cloudshim run --mount" sh -c "env -u CLOUDSHIM_MOUNTS '$top/build/cloudshim' run --mount '/w=$NGINX_URL' -- cat /w/small.txt | cmp - '$src/small.txt'"
check "cloudshim check names a bad scheme" sh -c "CLOUDSHIM_MOUNTS='/x=s4://b' '$top/build/cloudshim' check 2>&1 | grep -q 's4'"
check "cloudshim --mount: a bad one is named as written, exit 2" sh -c "out=\$(env -u CLOUDSHIM_MOUNTS '$top/build/cloudshim' run --mount '/x=s4://b' -- true 2>&1); [ \$? = 2 ] && echo \"\$out\" | grep -q '^cloudshim: --mount: \"/x=s4://b\": unknown scheme' && ! echo \"\$out\" | grep -q CLOUDSHIM_MOUNTS"

# Where S3 keys, endpoint and region come from, against s3rver (which
# verifies signatures, but also serves unsigned requests: so its access log's
# last column, the Credential a request was signed with, is checked too).
# s3env NAME=VALUE... CMD...: CMD under the shim with one mount, /p, and
# none of this test's S3 settings: only those given. A request that would
# leave for AWS (endpoint resolution gone wrong) meets a proxy on a closed
# loopback port instead, before any name is looked up.
s3env() {
	shim_env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	-u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_PROFILE -u AWS_CONFIG_FILE \
	-u AWS_SHARED_CREDENTIALS_FILE -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 \
	-u AWS_IGNORE_CONFIGURED_ENDPOINT_URLS -u CLOUDSHIM_CONFIG -u CLOUDSHIM_ENDPOINT \
	-u CLOUDSHIM_REGION -u CLOUDSHIM_CREDENTIALS \
	HOME="$RUN/nohome" http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
	no_proxy=127.0.0.1 CLOUDSHIM_REQUEST_TIMEOUT_MS=10000 \
	CLOUDSHIM_MOUNTS="/p=s3://$S3_BUCKET/pre" "$@"
}
S3LOG=$RUN/s3rver_access.log
mark() { srv_log_settle "$S3LOG"; wc -l <"$S3LOG"; }
# signers FROM: the distinct credentials of the requests after line FROM
signers() { srv_log_settle "$S3LOG"; tail -n +"$(($1 + 1))" "$S3LOG" | cut -f8 | sort -u; }
# signed_as FROM PATTERN: there were requests, all signed matching PATTERN
signed_as() {
	local got
	got=$(signers "$1")
	[ -n "$got" ] && ! grep -qvE "$2" <<<"$got" || { echo "signed as: ${got:-no requests}"; return 1; }
}
keys=(AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY")

# (a) a profile from HOME's .aws files: keys, endpoint_url, region
mkdir -p "$RUN/home/.aws"
cat >"$RUN/home/.aws/credentials" <<INI
[cs-good]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
[cs-wrong]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = wrong-secret
INI
cat >"$RUN/home/.aws/config" <<INI
[profile cs-good]
region = eu-central-1
endpoint_url = $S3_ENDPOINT
[profile cs-wrong]
region = eu-central-1
endpoint_url = $S3_ENDPOINT
INI
m0=$(mark)
check "AWS_PROFILE: bytes right" equal "$src/big.bin" \
	s3env HOME="$RUN/home" AWS_PROFILE=cs-good cat /p/big.bin
check "AWS_PROFILE: signed with the profile's key and region" \
	signed_as "$m0" "^$AWS_ACCESS_KEY_ID/[0-9]{8}/eu-central-1/s3/aws4_request\$"
check "AWS_PROFILE with a wrong secret: EACCES" fails_with 'Permission denied' \
	s3env HOME="$RUN/home" AWS_PROFILE=cs-wrong cat /p/small.txt
# (b) the endpoint from AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL
check "AWS_ENDPOINT_URL_S3: bytes right" equal "$src/big.bin" \
	s3env "${keys[@]}" AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" cat /p/big.bin
check "AWS_ENDPOINT_URL: bytes right" equal "$src/big.bin" \
	s3env "${keys[@]}" AWS_ENDPOINT_URL="$S3_ENDPOINT" cat /p/big.bin
check "AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL" equal "$src/small.txt" \
	s3env "${keys[@]}" AWS_ENDPOINT_URL_S3="$S3_ENDPOINT" \
	AWS_ENDPOINT_URL=http://127.0.0.1:9 cat /p/small.txt
# (c) anonymous: nothing signed, though keys (a wrong secret) are at hand
m0=$(mark)
check "credentials anonymous: bytes right" equal "$src/big.bin" \
	s3env CLOUDSHIM_CREDENTIALS=anonymous CLOUDSHIM_ENDPOINT="$S3_ENDPOINT" \
	AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY=wrong-secret cat /p/big.bin
check "credentials anonymous: no request carried a signature" signed_as "$m0" '^-$'
# (d) cloudshim run --config FILE; a bad field stops it before the command
cat >"$RUN/s3.json" <<JSON
{"mounts": [{"path": "/cfg", "url": "s3://$S3_BUCKET/pre", "endpoint": "$S3_ENDPOINT",
  "region": "us-east-1", "credentials": "env"}], "request_timeout_ms": 10000}
JSON
check "cloudshim run --config: cat" sh -c "env -u CLOUDSHIM_MOUNTS -u CLOUDSHIM_CONFIG \
	-u CLOUDSHIM_ENDPOINT '$top/build/cloudshim' run --config '$RUN/s3.json' -- \
	cat /cfg/big.bin | cmp - '$src/big.bin'"
bad_config() {	# bad_config FIELD JSON: run refuses it, naming FIELD
	local out
	printf '%s\n' "$2" >"$RUN/bad.json"
	rm -f "$RUN/ran"
	if out=$(env -u CLOUDSHIM_MOUNTS -u CLOUDSHIM_CONFIG "$top/build/cloudshim" run \
		--config "$RUN/bad.json" -- touch "$RUN/ran" 2>&1); then
		echo "exit 0: $out"
		return 1
	fi
	[ ! -e "$RUN/ran" ] || { echo "the command ran: $out"; return 1; }
	grep -qF -- "$1" <<<"$out" || { echo "$out"; return 1; }
}
check "cloudshim run --config: unknown mount field named" bad_config regoin \
	"{\"mounts\": [{\"path\": \"/cfg\", \"url\": \"s3://$S3_BUCKET/pre\", \"regoin\": \"us-east-1\"}]}"
check "cloudshim run --config: value out of range named" bad_config connections \
	"{\"mounts\": [{\"path\": \"/cfg\", \"url\": \"s3://$S3_BUCKET/pre\"}], \"connections\": 0}"

pycheck requests /web/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck small /web/tiny.txt "$src/tiny.txt" "$RUN/nginx_access.log"
pycheck small /web/empty.bin "$src/empty.bin" "$RUN/nginx_access.log"
pycheck random /web/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck kept /shaped/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck passes /web/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck threads /shaped/big.bin "$src/big.bin" "$RUN/nginx_access.log"
# Read-ahead widens past 32 MiB only for a server slow to answer (20 ms:
# the shaped one), on an object of 240 MiB.
for i in 1 2 3 4 5; do cat "$src/big.bin"; done >"$src/huge.bin"
pycheck window /web/huge.bin "$src/huge.bin" "$RUN/nginx_access.log" near
pycheck window /shaped/huge.bin "$src/huge.bin" "$RUN/nginx_access.log" far
rm -f "$src/huge.bin"
# Eight files read at once from the server 20 ms away, through a cache of
# half their bytes: read-ahead must not make them fetch each other's pages.
for i in 0 1 2 3 4 5 6 7; do head -c $((16 << 20)) /dev/urandom >"$src/s$i.bin"; done
CLOUDSHIM_CACHE_MB=64 CLOUDSHIM_READAHEAD_MB=32 pycheck streams /shaped "$src" "$RUN/nginx_access.log"
rm -f "$src"/s?.bin
# Sixteen files read in turn, 1 MiB from each, from the server 20 ms away
# through a cache of 1 MiB a file (the cache alone is set: read-ahead
# follows it): what is read ahead must reach its reader.
for i in $(seq -w 0 15); do head -c $((16 << 20)) /dev/urandom >"$src/t$i.bin"; done
CLOUDSHIM_CACHE_MB=16 pycheck turns /shaped "$src" "$RUN/nginx_access.log" 16
# The same files, the first 4 MiB of each, one after another: read-ahead
# left unread by a closed file must give way to the next file's.
CLOUDSHIM_CACHE_MB=16 pycheck closed /shaped "$src" "$RUN/nginx_access.log" 16 4
rm -f "$src"/t??.bin
CLOUDSHIM_CACHE_MB=16 CLOUDSHIM_READAHEAD_MB=8 pycheck scanned /shaped/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck stale /web/stale.bin "$src/stale.bin"
AWS_SECRET_ACCESS_KEY=wrong-secret pycheck errno /s3/small.txt 13
AWS_SECRET_ACCESS_KEY=wrong-secret pycheck errno /rgw/small.txt 13
"$top/tests/servers/nginx.sh" stop "$RUN" >/dev/null 2>&1
CLOUDSHIM_REQUEST_TIMEOUT_MS=2000 pycheck errno /web/small.txt 5

summary
