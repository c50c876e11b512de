#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# demo.sh - `make demo`: starts a local S3 server (s3rver, which checks
# SigV4 signatures) on a free loopback port, puts a few objects in it, and
# reads them with unmodified programs through the shim.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=$(mktemp -d /tmp/cloudshim-demo.XXXXXX)
trap '"$top/tests/servers/s3rver.sh" stop "$run" >/dev/null 2>&1; rm -rf "$run"' EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

"$top/tests/servers/s3rver.sh" start "$run" >/dev/null
. "$run/s3rver.env"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
echo "local S3 store at $S3_ENDPOINT, bucket $S3_BUCKET"

head -c $((32 << 20)) /dev/urandom >"$run/weights.bin"
printf 'epoch,loss\n1,0.93\n2,0.61\n3,0.44\n' >"$run/metrics.csv"
for f in weights.bin metrics.csv; do
	AWS_CA_BUNDLE= /usr/bin/aws --endpoint-url "$S3_ENDPOINT" s3 cp "$run/$f" \
		"s3://$S3_BUCKET/demo/$f" >/dev/null
done
echo "uploaded s3://$S3_BUCKET/demo/weights.bin (32 MiB) and metrics.csv"

shim() { "$top/build/cloudshim" run --mount "/data=s3://$S3_BUCKET/demo" -- "$@"; }
export CLOUDSHIM_ENDPOINT=$S3_ENDPOINT

say "cloudshim run --mount /data=s3://$S3_BUCKET/demo -- cat /data/metrics.csv"
shim cat /data/metrics.csv
say "... -- stat -c '%n %s bytes' /data/weights.bin"
shim stat -c '%n %s bytes' /data/weights.bin
say "... -- md5sum /data/weights.bin   (and the local copy, for comparison)"
shim md5sum /data/weights.bin
md5sum "$run/weights.bin"
say "... -- python3: seek, read, getsize"
shim /usr/bin/python3 -c '
import os
with open("/data/weights.bin", "rb") as f:
    f.seek(1 << 20)
    print("bytes at 1 MiB:", f.read(8).hex(), "size:", os.path.getsize("/data/weights.bin"))'
say "... -- cat /data/missing.txt"
shim cat /data/missing.txt || true
echo
echo "demo done; the store is stopped and its files removed"
