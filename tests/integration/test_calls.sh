#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_calls.sh - what programs do beside the C library's file functions,
# on a file:// mount (no server needed): syscall(2) on mounted paths and
# descriptors gives the file's bytes or a clear errno, never the
# placeholder's (tests/tools/rawcalls.c); paths that climb into a mount
# with ".." (tests/tools/climbcheck.c); nftw, ftw and glob on a mounted
# tree (tests/tools/walkcheck.c, globcheck.c); truncate, chmod and utime
# through a mounted descriptor's link (tests/tools/linkcheck.c); mkstemp, mkdtemp and sed -i
# (tests/tools/tempcheck.c); two opens for writing of one path
# (tests/tools/sharecheck.c); threads writing, reading and racing opens
# (tests/tools/threadcheck.c); an exec that fails (tests/tools/execcheck.c);
# unlink and rename of a path open for writing (tests/tools/namecheck.c);
# extended attributes, pathconf and cp -a (tests/tools/attrcheck.c); a
# child's changes seen once it is reaped (tests/tools/childcheck.c), and
# another process's before its uploads land (tests/tools/peercheck.c);
# termination signals (tests/tools/termcheck.c); what a program killed
# with SIGKILL left staged, sent by `cloudshim sync`;
# and mmap outside the mounts takes
# no lock and allocates nothing (tests/tools/mmapfast.c, with a counting
# preload first; not under a sanitizer runtime, which owns malloc); and a
# parent and its forked child reading one file at once, over file:// and
# over nginx (tests/integration/forkread.py; the Python checks are left to
# the plain pass, see tests/run.sh).
#
#   test_calls.sh PRELOAD     as test_read.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
SHIM_PRELOAD=$1
TOOLS=$top/build	# the tools are built once, plain
RUN=$(mktemp -d /tmp/cloudshim-calls.XXXXXX)
trap '"$top/tests/servers/nginx.sh" stop "$RUN/nginx" >/dev/null 2>&1; rm -rf "$RUN"' EXIT

mkdir -p "$RUN/store"
head -c 300000 /dev/urandom >"$RUN/store/obj.bin"
export CLOUDSHIM_MOUNTS="/calls=file://$RUN/store"
unset CLOUDSHIM_CONFIG

shim "$TOOLS/rawcalls" /calls/obj.bin "$RUN/store/obj.bin" | count_py
# Paths that climb into a mount with "..": with no mount path on the local
# disk (a name nobody has), and with one (whose local obj.bin must not answer).
mkdir -p "$RUN/absent" "$RUN/present" "$RUN/shadow"
echo "the local file under the mount path" >"$RUN/shadow/obj.bin"
climb=/cloudshim-climb-$$
# what a shim that lets the kernel create it would leave on the disk
trap '"$top/tests/servers/nginx.sh" stop "$RUN/nginx" >/dev/null 2>&1; rm -rf "$RUN" "$climb"' EXIT
CLOUDSHIM_MOUNTS="$climb=file://$RUN/store" \
	shim "$TOOLS/climbcheck" absent "$climb" "$RUN/store/obj.bin" "$RUN/absent" | count_py
CLOUDSHIM_MOUNTS="$RUN/shadow=file://$RUN/store" \
	shim "$TOOLS/climbcheck" present "$RUN/shadow" "$RUN/store/obj.bin" "$RUN/present" | count_py
# nftw, ftw and glob on a mounted tree, beside glibc's on the same tree on disk
mkdir -p "$RUN/store/tree/sub/deep" "$RUN/store/tree/skip" "$RUN/store/tree/empty"
echo a >"$RUN/store/tree/a.txt"
head -c 5000 /dev/urandom >"$RUN/store/tree/sub/b.bin"
echo c >"$RUN/store/tree/sub/deep/c.txt"
echo x >"$RUN/store/tree/skip/x"
echo y >"$RUN/store/tree/skip/y"
echo h >"$RUN/store/tree/.hidden"
shim "$TOOLS/walkcheck" /calls/tree "$RUN/store/tree" | count_py
shim "$TOOLS/globcheck" /calls/tree "$RUN/store/tree" | count_py
# and built with 64-bit offsets: nftw64, ftw64, glob64
for t in walkcheck globcheck; do
	if check "cc -D_FILE_OFFSET_BITS=64 $t.c" cc -std=c11 -O2 -D_GNU_SOURCE \
		-D_FILE_OFFSET_BITS=64 -Wall -Werror -o "$RUN/${t}64" "$top/tests/tools/$t.c"; then
		shim "$RUN/${t}64" /calls/tree "$RUN/store/tree" | count_py
	fi
done
# libcrypto comes with the first digest or signature, not with every program
shim cat /proc/self/maps >"$RUN/maps.txt"
check "a program that touches no mount has no libcrypto mapped" \
	sh -c "! grep libcrypto '$RUN/maps.txt'"
# truncate, chmod and utime through a mounted descriptor's /proc/self/fd link
printf 0123456789 >"$RUN/store/f.bin"
printf 0123456789 >"$RUN/store/h.bin"
shim "$TOOLS/linkcheck" rw /calls | count_py
check "truncate through the link: the store has 4 bytes" test "$(stat -c %s "$RUN/store/f.bin")" = 4
check "truncate through an update link: the store has 4 bytes" \
	test "$(cat "$RUN/store/h.bin")" = 0123
check "truncate through a written file's link: the store has 3 bytes" \
	test "$(cat "$RUN/store/g.bin")" = ggg
printf 0123456789 >"$RUN/store/f.bin"
CLOUDSHIM_READ_ONLY=1 shim "$TOOLS/linkcheck" ro /calls | count_py
check "read-only mount: f.bin keeps its 10 bytes" test "$(stat -c %s "$RUN/store/f.bin")" = 10
# exec of a mounted path: no execute bit (126), missing (127), climbing out
# of the mount runs the local program; a local file at a mount's path never runs
exits() { # WANT CMD...: CMD exits with status WANT
	local want=$1 got=0
	shift
	"$@" >/dev/null 2>&1 || got=$?
	[ "$got" = "$want" ]
}
check "exec of a mounted file: 126 (no execute bit)" exits 126 shim sh -c /calls/obj.bin
check "exec of a missing mounted path: 127" exits 127 shim sh -c /calls/nope
check "exec of /calls/../bin/true: the local program" exits 0 shim sh -c /calls/../bin/true
cp /bin/true "$RUN/shadow/prog"	# a local program the store does not have
check "exec at a mount path shadowing a local program: 127, not the local one" \
	exits 127 shim env CLOUDSHIM_MOUNTS="$RUN/shadow=file://$RUN/store" sh -c "$RUN/shadow/prog"
# temporary files the C library makes (mkstemp, mkdtemp), and sed -i, which uses them
mkdir -p "$RUN/store/tmp"
shim "$TOOLS/tempcheck" /calls/tmp "$RUN/store/tmp" | count_py
seq 1 5 >"$RUN/store/tmp/seq.txt"
# two opens for writing of one path share its bytes (tests/tools/sharecheck.c)
mkdir -p "$RUN/store/share"
shim "$TOOLS/sharecheck" /calls/share "$RUN/store/share" | count_py
# threads of one program: own files, one descriptor, one path, O_EXCL races.
# Under ASan no fork while threads allocate: gcc 12's sanitizer malloc can
# be left locked in the child (seen in gdb); plain and TSan runs fork.
mkdir -p "$RUN/store/threads"
case $SHIM_PRELOAD in
*libasan*) no_fork=--no-fork ;;
*) no_fork= ;;
esac
shim "$TOOLS/threadcheck" /calls/threads "$RUN/store/threads" $no_fork | count_py
# an exec that fails: the files being written go on being uploaded
mkdir -p "$RUN/store/exec"
shim "$TOOLS/execcheck" /calls/exec "$RUN/store/exec" | count_py
# unlink and rename of a path open for writing
mkdir -p "$RUN/store/names"
shim "$TOOLS/namecheck" /calls/names "$RUN/store/names" | count_py
# what a child wrote or removed is seen once it is reaped (wait family, system, pclose)
mkdir -p "$RUN/store/kids"
shim "$TOOLS/childcheck" /calls/kids "$RUN/store/kids" | count_py
# a program ended by SIGTERM or SIGHUP sends what it wrote first
mkdir -p "$RUN/store/term"
shim "$TOOLS/termcheck" /calls/term "$RUN/store/term" | count_py
# a program killed with SIGKILL before it sent what it wrote: `cloudshim
# sync` sends what it left staged, and leaves a running program's alone
orphans=$(mktemp -d /tmp/cloudshim-orphans.XXXXXX)
chmod 700 "$orphans"
mkdir -p "$RUN/store/killed"
CLOUDSHIM_STAGING_DIR=$orphans shim sh -c \
	'exec 3>/calls/killed/open.txt; echo "written before SIGKILL" >&3; kill -9 $$'
CLOUDSHIM_STAGING_DIR=$orphans shim sh -c 'exec 3>/calls/killed/live.txt; echo live >&3; sleep 4' &
live=$!
sleep 1
CLOUDSHIM_STAGING_DIR=$orphans "$TOOLS/cloudshim" sync >"$RUN/sync.out" 2>&1
check "sync: sends a file a killed program left staged" \
	sh -c '[ "$(cat "$1/store/killed/open.txt")" = "written before SIGKILL" ] &&
		grep -q "open.txt.*left staged when its program was killed" "$1/sync.out"' sh "$RUN"
check "sync: leaves the files of a running program alone" \
	sh -c '! [ -e "$1/store/killed/live.txt" ] && ! grep -q live.txt "$1/sync.out"' sh "$RUN"
wait "$live"
check "that program then sends its file itself" \
	sh -c '[ "$(cat "$1/store/killed/live.txt")" = live ] &&
		[ -z "$(ls "$2" | grep -v "^changes$")" ]' sh "$RUN" "$orphans"
rm -rf "$orphans"
# what another running process wrote, renamed or unlinked, before its uploads land
mkdir -p "$RUN/store/peers"
shim "$TOOLS/peercheck" /calls/peers "$RUN/store/peers" | count_py
# git gc: its pack-objects child renames the pack into place, names it on a
# pipe and the parent looks for it before the child exits
mkdir -p "$RUN/store/git"
case $SHIM_PRELOAD in
*libasan*) echo "skip git: it hangs in setlocale under the sanitizer runtime, as bash does" ;;
*)
	check "git init, commit, gc and fsck in a mounted directory" shim sh -c '
		cd /calls/git && git init -q repo && cd repo && cp "$1"/*.c . && git add . &&
		git -c user.email=t@t -c user.name=t commit -qm one && git gc -q && git fsck &&
		ls .git/objects/pack | grep -q "^pack-.*\.pack$"' sh "$top/tests/tools"
	;;
esac
# extended attributes and pathconf; cp -a and cp -p, which set ACLs on
# what they make and failed when the kernel said ENOENT
mkdir -p "$RUN/store/attrs" "$RUN/tree/sub"
echo a >"$RUN/store/attrs/file"
shim "$TOOLS/attrcheck" rw /calls/attrs | count_py
CLOUDSHIM_READ_ONLY=1 shim "$TOOLS/attrcheck" ro /calls/attrs | count_py
head -c 70000 /dev/urandom >"$RUN/tree/sub/b.bin"
echo c >"$RUN/tree/c.txt"
for how in -a -p; do
	check "cp -r $how of a local tree into the mount" shim cp -r $how "$RUN/tree" "/calls/cp$how"
	check "cp -r $how: the store has the tree" diff -r "$RUN/tree" "$RUN/store/cp$how"
done
case $SHIM_PRELOAD in
*libasan*) echo "skip getconf: it hangs in setlocale under the sanitizer runtime, as bash does" ;;
*)
	check "getconf NAME_MAX of a mounted directory: 1024" \
		test "$(shim getconf NAME_MAX /calls/attrs)" = 1024
	;;
esac
# A shell appends and starts a program to read each time. A file:// upload
# to tmpfs lands at once, often between the fork and the child's read: the
# child must then ask the store again, not trust what its parent knew before
# the upload (the library before failed 5 of 6 such loops; with the store on
# a disk, whose fsync is slower, it never did). Not under ASan, where a
# shell's child can wait for ever on libasan's allocator (see test_write.sh).
case $SHIM_PRELOAD in
*libasan*) echo "skip appends read by children: bash under the sanitizer runtime" ;;
*)
	kids=$(mktemp -d "$([ -d /dev/shm ] && echo /dev/shm || echo /tmp)/cloudshim-kids.XXXXXX")
	for run in 1 2 3; do
		rm -f "$kids/log"
		got=$(CLOUDSHIM_MOUNTS="/kids=file://$kids" shim bash -c 'for i in 1 2 3 4 5 6 7 8
			do echo "line $i" >> /kids/log; wc -l < /kids/log; done' 2>&1 | tr '\n' ' ')
		check "appends by bash, each read by a program it starts (run $run)" \
			sh -c '[ "$1" = "1 2 3 4 5 6 7 8 " ] || { echo "got: $1"; exit 1; }' sh "$got"
	done
	rm -rf "$kids"
	;;
esac
check "sed -i on a mounted file" shim sed -i 's/3/three/' /calls/tmp/seq.txt
check "sed -i: the store has the edit" test "$(tr '\n' ' ' <"$RUN/store/tmp/seq.txt")" = \
	"1 2 three 4 5 "
case $SHIM_PRELOAD in
*libasan*) echo "skip mmap fast path: the sanitizer runtime owns malloc" ;;
*)
	cc -shared -fPIC -O2 -o "$RUN/count_calls.so" "$top/tests/preload/count_calls.c" -ldl
	LD_PRELOAD="$RUN/count_calls.so $SHIM_PRELOAD" timeout 60 \
		"$TOOLS/mmapfast" /calls/obj.bin "$RUN/store/obj.bin" | count_py
	;;
esac
if [ "${PY_CHECKS:-1}" = 1 ]; then
	head -c $((24 << 20)) /dev/urandom >"$RUN/store/big.bin"
	shim /usr/bin/python3 "$here/forkread.py" /calls/big.bin "$RUN/store/big.bin" | count_py
	chmod 755 "$RUN" "$RUN/store"
	if "$top/tests/servers/nginx.sh" start "$RUN/nginx" >/dev/null; then
		cp "$RUN/store/big.bin" "$(sed -n 's/^NGINX_ROOT=//p' "$RUN/nginx/nginx.env")/big.bin"
		CLOUDSHIM_MOUNTS="/web=$(sed -n 's/^NGINX_URL=//p' "$RUN/nginx/nginx.env")" \
			shim /usr/bin/python3 "$here/forkread.py" /web/big.bin "$RUN/store/big.bin" | count_py
		"$top/tests/servers/nginx.sh" stop "$RUN/nginx" >/dev/null
	else
		check "nginx starts for the fork test" false
	fi
fi
summary
