#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh - every test, as `make test` runs it:
#   1. unit tests, plain and under AddressSanitizer+UBSan
#   2. the engine and cache under ThreadSanitizer (the engine also over HTTP),
#      the library's own locks under ThreadSanitizer from threaded programs,
#      directory listings and the store's writes against s3rver and radosgw
#      (plain, ASan, TSan), writes also through the fault proxy
#   3. integration tests against real servers, with the plain library and
#      with the ASan+UBSan library
# Ends with "N passed, M failed" over all of them.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
conformance=$top/../shared/conformance/sigv4
passed=0
failed=0

# Runs one test command, echoes its output, adds its closing counts.
tally() {
	local label=$1 out last p f
	shift
	echo "== $label"
	out=$("$@" 2>&1)
	local rc=$?
	printf '%s\n' "$out" | grep -vE '^ok ' | tail -n 40
	last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	p=$(echo "$last" | sed -nE 's/^([0-9]+) passed.*/\1/p')
	f=$(echo "$last" | sed -nE 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/p')
	if [ -z "$p" ]; then
		echo "   $label: no result line (exit $rc)"
		failed=$((failed + 1))
		return
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
}

echo "== building"
make -s -j2 all units tools || exit 1
make -s -j2 SAN=asan BUILD=build/asan all units || exit 1
make -s -j2 SAN=tsan BUILD=build/tsan build/tsan/test_engine build/tsan/test_cache \
	build/tsan/test_dirlist build/tsan/test_store_write build/tsan/test_upload \
	build/tsan/test_stream build/tsan/test_slab build/tsan/test_pool \
	build/tsan/libcloudshim.so build/tsan/threadcheck build/tsan/sharecheck || exit 1
cc -shared -fPIC -O2 -o build/no_freelocale.so tests/preload/no_freelocale.c || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
for build in build build/asan; do
	for t in "$build"/test_*; do
		[ -x "$t" ] || continue
		tally "$t" "$t" "$conformance"
	done
done

# The TSan engine run reads over HTTP too: it needs a server.
rundir=$(mktemp -d /tmp/cloudshim-tsan.XXXXXX)
chmod 755 "$rundir"
if tests/servers/nginx.sh start "$rundir" >/dev/null; then
	tally "build/tsan/test_engine (file:// and http://)" \
		env $(cat "$rundir/nginx.env") build/tsan/test_engine
	tests/servers/nginx.sh stop "$rundir" >/dev/null
else
	echo "FAIL nginx did not start for the TSan run"
	failed=$((failed + 1))
fi
rm -rf "$rundir"
tally build/tsan/test_cache build/tsan/test_cache
tally build/tsan/test_upload build/tsan/test_upload
tally build/tsan/test_stream build/tsan/test_stream
tally build/tsan/test_slab build/tsan/test_slab
tally build/tsan/test_pool build/tsan/test_pool

# The library itself (fd table, staged files, their sharing) under TSan:
# threaded check tools built with it, on a file:// mount.  The TSan runtime
# is preloaded first: an instrumented library preloaded alone runs before
# the runtime is set up, and crashes.  threadcheck forks while its threads
# write, and the child starts the library's threads: TSan refuses that
# unless told (die_after_fork=0); the child has a 10 s alarm should it hang.
tsan_rt=$(cc -print-file-name=libtsan.so)
rundir=$(mktemp -d /tmp/cloudshim-tsanlib.XXXXXX)
mkdir -m 700 "$rundir/stage"
for tool in threadcheck sharecheck; do
	mkdir -p "$rundir/store/$tool"
	tally "build/tsan/$tool (TSan library, file://)" \
		env TSAN_OPTIONS="$TSAN_OPTIONS:die_after_fork=0" \
		LD_PRELOAD="$tsan_rt $top/build/tsan/libcloudshim.so" \
		CLOUDSHIM_MOUNTS="/tsan=file://$rundir/store" CLOUDSHIM_STAGING_DIR="$rundir/stage" \
		"build/tsan/$tool" "/tsan/$tool" "$rundir/store/$tool"
done
rm -rf "$rundir"

# Directory listings against both S3 servers, plain, ASan+UBSan and TSan.
# The test uploads its tree once per server and counts requests itself.
for server in s3rver radosgw; do
	rundir=$(mktemp -d /tmp/cloudshim-dirlist.XXXXXX)
	if tests/servers/$server.sh start "$rundir" >/dev/null; then
		for build in build build/asan build/tsan; do
			tally "$build/test_dirlist ($server)" env $(cat "$rundir/$server.env") \
				S3_SERVER=$server "$build/test_dirlist"
		done
		tests/servers/$server.sh stop "$rundir" >/dev/null
	else
		echo "FAIL $server did not start for the listing tests"
		failed=$((failed + 1))
	fi
	rm -rf "$rundir"
done

# The store's writes against both S3 servers, plain, ASan+UBSan and TSan.
# s3rver also gets the fault proxy in front (S3_PROXY): the test sends
# writes through it unsigned, since the proxy changes the signed path.
for server in s3rver radosgw; do
	rundir=$(mktemp -d /tmp/cloudshim-write.XXXXXX)
	if tests/servers/$server.sh start "$rundir" >/dev/null; then
		proxy= proxy_pid=
		if [ "$server" = s3rver ]; then
			/usr/bin/python3 tests/servers/faultproxy.py \
				"$(sed -n 's/^S3_ENDPOINT=//p' "$rundir/s3rver.env")" \
				"$rundir/proxy.port" "$rundir/proxy.log" &
			proxy_pid=$!
			for _ in $(seq 100); do [ -s "$rundir/proxy.port" ] && break; sleep 0.1; done
			if [ -s "$rundir/proxy.port" ]; then
				proxy="S3_PROXY=http://127.0.0.1:$(cat "$rundir/proxy.port")"
			else
				echo "FAIL the fault proxy did not start for the write tests"
				failed=$((failed + 1))
			fi
		fi
		for build in build build/asan build/tsan; do
			tally "$build/test_store_write ($server)" env $(cat "$rundir/$server.env") \
				S3_SERVER=$server $proxy "$build/test_store_write"
		done
		[ -n "$proxy_pid" ] && kill "$proxy_pid" && wait "$proxy_pid" 2>/dev/null
		tests/servers/$server.sh stop "$rundir" >/dev/null
	else
		echo "FAIL $server did not start for the write tests"
		failed=$((failed + 1))
	fi
	rm -rf "$rundir"
done

tally "integration, plain library" tests/integration/test_read.sh "$top/build/libcloudshim.so"
tally "retries, plain library" tests/integration/test_retry.sh "$top/build/libcloudshim.so"
# With the ASan runtime preloaded, this system's libcurl dependencies
# (GnuTLS, p11-kit) leave glibc's locale lock broken once loaded: Python and
# bash hung in setlocale at start-up while the shim linked libcurl.  It is
# opened by the first request now (backend/curl_lib.h), and the read pass
# runs its Python checks too.  The passes below still leave Python and bash
# out (the C locale, PY_CHECKS=0 and the rest): test_write.sh has seen a
# child forked by a shell wait for ever on a lock of libasan's allocator.
asan_rt=$(cc -print-file-name=libasan.so)
ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1 \
	tally "integration, ASan+UBSan library" tests/integration/test_read.sh \
	"$asan_rt $top/build/no_freelocale.so $top/build/asan/libcloudshim.so"
LC_ALL=C ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1 \
	tally "retries, ASan+UBSan library" tests/integration/test_retry.sh \
	"$asan_rt $top/build/no_freelocale.so $top/build/asan/libcloudshim.so"
tally "writes, plain library" tests/integration/test_write.sh "$top/build/libcloudshim.so"
LC_ALL=C PY_CHECKS=0 WRITE_BASH=0 ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1 \
	tally "writes, ASan+UBSan library" tests/integration/test_write.sh \
	"$asan_rt $top/build/no_freelocale.so $top/build/asan/libcloudshim.so"
tally "raw calls and mmap, plain library" tests/integration/test_calls.sh "$top/build/libcloudshim.so"
LC_ALL=C PY_CHECKS=0 ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1 \
	tally "raw calls, ASan+UBSan library" tests/integration/test_calls.sh \
	"$asan_rt $top/build/no_freelocale.so $top/build/asan/libcloudshim.so"
tally "programs, plain library" tests/integration/test_programs.sh "$top/build/libcloudshim.so"
# bash hangs at start-up under the ASan runtime (the locale lock, above)
LC_ALL=C PY_CHECKS=0 PROG_BASH=0 PROG_RGW=0 PROG_FILE=0 \
	ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1 \
	tally "programs, ASan+UBSan library" tests/integration/test_programs.sh \
	"$asan_rt $top/build/no_freelocale.so $top/build/asan/libcloudshim.so"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
