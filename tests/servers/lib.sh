# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for the test-server scripts in tests/servers/. Source it:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
#   srv_free_port              print a free 127.0.0.1 TCP port
#   srv_wait_http URL PIDFILE LOG [TIMEOUT] [CURL-ARGS...]
#                              wait until URL gives any HTTP answer (a real
#                              request); print its status code
#   srv_alive PID              is PID a live (non-zombie) process?
#   srv_listens PORT PID       is PID the one listening on 127.0.0.1:PORT?
#   srv_stop PIDFILE [NAME] [TIMEOUT]
#                              TERM, wait, KILL the pid in PIDFILE; remove it
#   srv_log_tail FILE [N]      last N lines of FILE on stderr, indented
#   srv_log_settle FILE        wait until FILE stops growing (for log readers)
#
# Every server follows one contract (see style notes, section 5): the port is
# reported by the server or comes from binding port 0; pid and port files live
# in the per-run directory; a server counts as started only after a real
# request; it is identified by pid and stopped by pid.

# Debian's python3: the first python3 on PATH may be another one (pyenv shims
# cost tens of milliseconds per call).
SRV_PY=/usr/bin/python3
[ -x "$SRV_PY" ] || SRV_PY=python3

srv_die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

srv_log_tail() {
	local file=$1 n=${2:-30}
	[ -f "$file" ] || return 0
	echo "--- last $n lines of $file:" >&2
	tail -n "$n" "$file" | sed 's/^/    /' >&2
}

# Bind port 0, read the port the kernel chose, close. Another process can take
# it before our server binds it: callers retry when the server fails to bind.
srv_free_port() {
	"$SRV_PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# A zombie still answers kill -0, so look at its state too.
srv_alive() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" != Z ] && [ "$state" != X ]
}

# Identity: something else may hold the port we picked (then our server
# fails to bind, but a probe would still get answers from the other one).
srv_listens() {
	ss -ltnpH "src 127.0.0.1:$1" 2>/dev/null | grep -q "pid=$2,"
}

srv_wait_http() {
	local url=$1 pidfile=$2 log=$3 timeout=${4:-30}
	shift 4 || shift $#
	local deadline=$((SECONDS + timeout)) code pid
	while :; do
		pid=$(cat "$pidfile" 2>/dev/null || true)
		if [ -n "$pid" ] && ! srv_alive "$pid"; then
			echo "${0##*/}: server (pid $pid) died before answering $url" >&2
			srv_log_tail "$log"
			return 1
		fi
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			"$@" "$url" 2>/dev/null || true)
		if [ -n "$code" ] && [ "$code" != 000 ]; then
			echo "$code"
			return 0
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "${0##*/}: no answer from $url after ${timeout}s" >&2
			srv_log_tail "$log"
			return 1
		fi
		sleep 0.05
	done
}

# Stop the process in PIDFILE. If NAME is given and /proc/PID/comm is not
# NAME, the pid file is stale (the pid may be reused): leave the process.
srv_stop() {
	local pidfile=$1 name=${2:-} timeout=${3:-10} pid comm i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile" 2>/dev/null || true)
	rm -f "$pidfile"
	case "$pid" in '' | *[!0-9]*) return 0 ;; esac
	srv_alive "$pid" || return 0
	if [ -n "$name" ]; then
		comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
		if [ "$comm" != "$name" ]; then
			echo "${0##*/}: pid $pid is '$comm', not '$name': stale pid file" >&2
			return 0
		fi
	fi
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < timeout * 20; i++)); do
		srv_alive "$pid" || return 0
		sleep 0.05
	done
	echo "${0##*/}: pid $pid ignored TERM for ${timeout}s: KILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 40; i++)); do
		srv_alive "$pid" || return 0
		sleep 0.05
	done
	echo "${0##*/}: pid $pid still there after KILL" >&2
	return 1
}

# Servers write their log line after the response has gone out; a test that
# reads the log right after its client exits can wait here first (bounded).
srv_log_settle() {
	local file=$1 prev=-1 cur i
	for ((i = 0; i < 40; i++)); do
		cur=$(stat -c %s "$file" 2>/dev/null || echo 0)
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.025
	done
}
