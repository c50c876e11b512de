#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_read.sh - the read path end to end: unmodified programs read objects
# from nginx (http://), s3rver and Ceph's radosgw (s3://, SigV4 verified)
# and a local directory (file://) through the shim, byte for byte against the source; request
# accounting from nginx's log; errors as errno.
#
#   test_read.sh PRELOAD     PRELOAD: what LD_PRELOAD gets (the library, or a
#                            sanitizer runtime followed by the library)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
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
mkdir -p "$src/dir x"
echo "the weird key" >"$src/$weird"
chmod -R a+rX "$src"
aws_s3() {	# aws_s3 ENDPOINT ARGS...
	local ep=$1
	shift
	AWS_CA_BUNDLE= /usr/bin/aws --endpoint-url "$ep" s3 "$@" >/dev/null
}
for f in big.bin small.txt "$weird"; do
	aws_s3 "$S3_ENDPOINT" cp "$src/$f" "s3://$S3_BUCKET/pre/$f"
	AWS_ACCESS_KEY_ID=$RGW_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET \
		aws_s3 "$RGW_ENDPOINT" cp "$src/$f" "s3://$RGW_BUCKET/pre/$f"
done

cat >"$RUN/rgw.json" <<JSON
{"mounts": [{"path": "/rgw", "url": "s3://$RGW_BUCKET/pre", "endpoint": "$RGW_ENDPOINT"}]}
JSON
export CLOUDSHIM_CONFIG=$RUN/rgw.json
export CLOUDSHIM_MOUNTS="/web=$NGINX_URL;/s3=s3://$S3_BUCKET/pre;/local=file://$src;/norange=$NGINX_URL/norange;/noetag=$NGINX_URL/noetag"
export CLOUDSHIM_ENDPOINT=$S3_ENDPOINT
export CLOUDSHIM_METADATA_TTL_MS=0
export CLOUDSHIM_READ_ONLY=1	# the read path; writes are test_write.sh's

same() {	# same FILE CMD...: CMD's output equals FILE
	local want=$1
	shift
	shim "$@" | cmp - "$want"
}

# radosgw and s3rver share the fixed test keys (tests/servers/*.sh)
[ "$RGW_KEY/$RGW_SECRET" = "$AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY" ] || exit 1

for m in web s3 rgw local; do
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

# ".." out of a mount is a local path, as the kernel sees it: /web does not
# exist on this disk, so it fails as it would without the shim
check "path climbing out of the mount is local" test \
	"$(shim cat /web/../etc/hostname 2>&1)" = "$(cat /web/../etc/hostname 2>&1)"
check "no Range support: bytes still right" same <(tail -c 1000 "$src/big.bin") tail -c 1000 /norange/big.bin
check "no Range support: said clearly" sh -c "LD_PRELOAD='$SHIM_PRELOAD' tail -c 10 /norange/small.txt 2>&1 >/dev/null | grep -q 'ignores Range'"
check "no ETag, no HEAD: bytes right" same "$src/big.bin" cat /noetag/big.bin
# Allocators that replace malloc and map memory while they set up (through
# mmap and syscall, both wrapped), loaded before and after the shim.  Not
# with a sanitizer runtime, which replaces malloc itself.
libdir=/usr/lib/$(gcc -print-multiarch)
case $SHIM_PRELOAD in *libasan*) allocs= ;; *) allocs="libjemalloc.so.2 libtcmalloc_minimal.so.4" ;; esac
for alloc in $allocs; do
	for order in "$libdir/$alloc $SHIM_PRELOAD" "$SHIM_PRELOAD $libdir/$alloc"; do
		check "$alloc, LD_PRELOAD=${order//$libdir\//}: md5sum" test \
			"$(SHIM_PRELOAD=$order shim md5sum /local/big.bin | cut -d' ' -f1)" = \
			"$(md5sum <"$src/big.bin" | cut -d' ' -f1)"
	done
done
check "cloudshim run --mount" sh -c "env -u CLOUDSHIM_MOUNTS '$top/build/cloudshim' run --mount '/w=$NGINX_URL' -- cat /w/small.txt | cmp - '$src/small.txt'"
check "cloudshim check names a bad scheme" sh -c "CLOUDSHIM_MOUNTS='/x=s4://b' '$top/build/cloudshim' check 2>&1 | grep -q 's4'"

pycheck requests /web/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck random /web/big.bin "$src/big.bin" "$RUN/nginx_access.log"
pycheck stale /web/stale.bin "$src/stale.bin"
AWS_SECRET_ACCESS_KEY=wrong-secret pycheck errno /s3/small.txt 13
AWS_SECRET_ACCESS_KEY=wrong-secret pycheck errno /rgw/small.txt 13
"$top/tests/servers/nginx.sh" stop "$RUN" >/dev/null 2>&1
CLOUDSHIM_REQUEST_TIMEOUT_MS=2000 pycheck errno /web/small.txt 5

summary
