# SPDX-License-Identifier: MIT
# lib.sh - what the integration tests share: a check counter and the shim.
#
# check NAME CMD...   runs CMD; "ok NAME" or "FAIL NAME" (with its output)
# summary             prints "N passed, M failed"; exit status 1 if any failed

shopt -s lastpipe	# count_py runs at the end of pipelines
PASSED=0
FAILED=0

check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		PASSED=$((PASSED + 1))
		echo "ok $name"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $name"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/    /'
	fi
}

# Python results: lines "ok NAME" / "FAIL NAME ..." on stdout.
count_py() {
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		ok\ *) PASSED=$((PASSED + 1)) ;;
		FAIL\ *) FAILED=$((FAILED + 1)) ;;
		esac
	done
}

summary() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}

# The shim as a test runs it: SHIM_PRELOAD is the library (and, for the
# sanitizer run, the sanitizer runtime before it).
# A timeout, so that a hang fails the test instead of stalling the suite.
shim() {
	timeout 120 env LD_PRELOAD="$SHIM_PRELOAD" "$@"
}

# The Python-driven checks, unless PY_CHECKS=0 (see tests/run.sh).
pycheck() {
	[ "${PY_CHECKS:-1}" = 1 ] || return 0
	shim /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/readcheck.py" "$@" | count_py
}
