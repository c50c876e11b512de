#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what cloudshim's build, tests, demo and benchmarks need, and only
# what is missing. Run (as root) by `make test`, `make demo`, `make bench`;
# also under CI=true with no stdin. A re-run with everything present only
# asks dpkg and stats a few files, so it takes a few milliseconds.
#
#   scripts/deps.sh          install what is missing
#
# Prints one line per thing installed; on failure prints the failing command.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS="$ROOT/tests/servers"

# Debian packages. radosgw needs a mon and an OSD too (tests/servers/radosgw.sh
# runs a one-OSD memstore cluster); ceph-common gives ceph and radosgw-admin.
PKGS=(
	build-essential pkg-config libcurl4-openssl-dev libcjson-dev uthash-dev
	libssl-dev
	nginx-light libnginx-mod-http-echo
	curl python3 python3-numpy sqlite3 unzip zip g++
	libjemalloc2 libtcmalloc-minimal4
	rclone s3fs fuse3
	awscli
	ceph-mon ceph-osd radosgw ceph-common
)

die() {
	echo "deps.sh: $*" >&2
	exit 1
}

# run CMD...: run it, and on failure name it and show its output's tail.
run() {
	local log rc=0
	log=$(mktemp)
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "deps.sh: FAILED (exit $rc): $*" >&2
		tail -n 40 "$log" >&2
		rm -f "$log"
		exit "$rc"
	fi
	rm -f "$log"
}

# --- Debian packages ------------------------------------------------------
# One dpkg-query for all: it prints the installed ones ("ii") and complains on
# stderr (exit 1) about never-seen ones, which simply count as missing.
declare -A have=()
query() {
	dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n' "$@" 2>/dev/null || true
}
while IFS=$'\t' read -r name status _; do
	if [ "${status:0:2}" = "ii" ]; then have[$name]=1; fi
done < <(query "${PKGS[@]}")

missing=()
for p in "${PKGS[@]}"; do
	[ -n "${have[$p]:-}" ] || missing+=("$p")
done
# Node: keep whatever node the machine has (it may come from outside Debian,
# with its own npm); Debian's nodejs+npm only when there is no node at all.
if ! command -v node >/dev/null 2>&1; then
	missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
	missing+=(npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "must run as root to install: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	echo "deps.sh: apt-get update"
	run apt-get update -q
	for p in "${missing[@]}"; do echo "deps.sh: installing $p"; done
	# All in one transaction: one dependency resolution, one dpkg run.
	run apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# Debian 12's awscli is v2 and lives in /usr/bin; an older v1 may come first
# on PATH (e.g. from another Python), so scripts call /usr/bin/aws explicitly.
# The check asks dpkg: `aws --version` alone takes most of a second.
[ -x /usr/bin/aws ] || die "/usr/bin/aws missing after installing awscli"
awsver=$(query awscli | cut -f3)
case "$awsver" in
2.*) ;;
*) die "Debian's awscli is '$awsver', not the v2 that /usr/bin/aws should be" ;;
esac

# --- npm packages (project-local, pinned by package-lock.json) -------------
# npm ci wipes and reinstalls node_modules, so only run it when the lock is
# newer than what was installed (npm writes node_modules/.package-lock.json).
# @20minutes/s3rver 5.0.0 declares node >= 24 but runs on 20; its router
# (@koa/router 15) needs >= 20, which Debian 12's own nodejs (18) is not.
node_version=$(node --version) # v20.20.2; "node -p" would cost 0.1 s
node_major=${node_version#v}
node_major=${node_major%%.*}
[ "$node_major" -ge 20 ] ||
	echo "deps.sh: warning: node $node_version is older than 20: s3rver may fail" >&2
lock="$SERVERS/package-lock.json"
installed="$SERVERS/node_modules/.package-lock.json"
[ -f "$lock" ] || die "missing $lock"
if [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ] ||
	[ "$SERVERS/package.json" -nt "$installed" ]; then
	echo "deps.sh: npm ci in tests/servers (@20minutes/s3rver)"
	run npm ci --prefix "$SERVERS" --no-audit --no-fund --loglevel=error
	touch "$installed"
fi
