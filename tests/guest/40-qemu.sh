#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What a VDI host does: qemu-img and qemu-io with cache=none (O_DIRECT) on
# raw and qcow2 images on vdifs, checked against the same writes on the
# guest's tmpfs and by qemu-img check.
. "$(dirname "$0")/lib.sh"

command -v qemu-img >/dev/null || { fail "qemu-img not installed"; finish; }
cluster_start
TOOL=$VDIFS_BIN/vdifs-tool
REF=/tmp/ref.img
IMG=$MNT/desk.img
writes=(-c "write -P 0xab 0 4M" -c "write -P 0xcd 100M 1M"
	-c "write -P 0x11 255M 1M" -c "write -P 0x5a 1000 3000"
	-c "write -z 2M 64k")

check "qemu-img create raw 256M" qemu-img create -q -f raw "$IMG" 256M
check "image size 256M" bash -c "[ \$(stat -c %s $IMG) = 268435456 ]"
check "qemu-io writes, cache=none" qemu-io -f raw -t none "${writes[@]}" "$IMG"
qemu-img create -q -f raw "$REF" 256M
qemu-io -f raw -t none "${writes[@]}" "$REF" >/dev/null
check "qemu-io reads back the patterns" qemu-io -f raw -t none \
	-c "read -P 0xab 4096 1M" -c "read -P 0xcd 100M 1M" \
	-c "read -P 0x11 255M 1M" -c "read -P 0 50M 1M" \
	-c "read -P 0x5a 1000 3000" -c "read -P 0 2M 64k" "$IMG"
check "raw image equals the reference (qemu-img compare)" \
	qemu-img compare -q -f raw -F raw "$IMG" "$REF"
echo 3 >/proc/sys/vm/drop_caches
check "still equal after dropping caches" \
	qemu-img compare -q -f raw -F raw "$IMG" "$REF"
check "sparse: far less allocated than the size" \
	bash -c "[ \$(qemu-img map -f raw --output=json $IMG | grep -c '\"data\": true') -ge 1 ]"

Q=$MNT/desk.qcow2
check "qemu-img create qcow2 1G" qemu-img create -q -f qcow2 "$Q" 1G
check "qcow2 writes, cache=none" qemu-io -f qcow2 -t none \
	-c "write -P 0x42 0 8M" -c "write -P 0x43 512M 2M" "$Q"
check "qcow2 reads back" qemu-io -f qcow2 -t none \
	-c "read -P 0x42 0 8M" -c "read -P 0x43 512M 2M" -c "read -P 0 100M 1M" "$Q"
check "qemu-img check qcow2" qemu-img check -q "$Q"
check "qemu-img convert raw -> qcow2 on vdifs" \
	qemu-img convert -t none -f raw -O qcow2 "$IMG" "$MNT/conv.qcow2"
check "converted image equals the raw one" \
	qemu-img compare -q "$IMG" "$MNT/conv.qcow2"

# QEMU's aio=native: many O_DIRECT writes in flight through libaio, of
# sizes that straddle the 64 KiB chunks of this file (a piece per chunk),
# read back direct and then through the page cache
A=$MNT/aio.img
touch "$A"
"$TOOL" -q setattr "$A" --chunk-size 64K --extent-size 16K >/dev/null
fio_aio() { # rw bs [more fio options]
	fio --name=aio --filename="$A" --size=4M --ioengine=libaio --direct=1 \
		--iodepth=16 --rw="$1" --bs="$2" --verify=crc32c --verify_fatal=1 \
		--randseed=7 --eta=never --output=/tmp/fio-aio.out "${@:3}"
}
check "aio direct random writes of 12 KiB verify (iodepth 16)" \
	fio_aio randwrite 12k
check "aio direct writes of 1.5 MiB verify" fio_aio write 1536k
check "the same, read back through the page cache" \
	fio_aio write 1536k --verify_only --direct=0
check "buffered writes over it" dd if=/dev/urandom of="$A" bs=1M count=4 \
	conv=notrunc status=none
check "then aio direct random reads and writes verify" fio_aio randrw 4k
# cache=directsync: O_DSYNC, in flight together inside the file's size
check "aio O_DSYNC direct random writes verify" \
	fio_aio randwrite 8k --sync=dsync

# O_DSYNC direct (cache=directsync): the size it reached is on the MDS
# when the write returns, without a close: a second client sees it
mount_second
check "O_DSYNC direct write that grows a file is seen by another client" \
	python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_DIRECT | os.O_DSYNC)
buf = mmap.mmap(-1, 8192)
buf.write(b"d" * 8192)
os.pwrite(fd, buf, 0)
os.pwrite(fd, buf, 8192)
st = os.stat(sys.argv[2])
sys.exit(st.st_size != 16384)' "$MNT/dsync.img" "$MNT2/dsync.img"

# Rewritten in place, an image syncs with its data servers alone: an
# O_DSYNC write or an fdatasync() that leaves the size needs the MDS only
# for a size it does not have yet.  With the MDS stopped they still
# complete (a call to it would wait until it comes back, 30 s later).
mds_pid=$(srv_pid mds)
( sleep 30; kill -CONT "$mds_pid" ) &
mds_cont=$!
check "O_DSYNC rewrites and fdatasync need no MDS while the size stands" \
	python3 -c '
import mmap, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
fd2 = os.open(sys.argv[1], os.O_RDWR)
buf = mmap.mmap(-1, 8192)
buf.write(b"e" * 8192)
os.pread(fd2, 16384, 0)  # its layout, as a running guest has it
os.kill(int(sys.argv[2]), signal.SIGSTOP)
try:
    t0 = time.monotonic()
    os.pwrite(fd, buf, 0)
    os.pwrite(fd2, b"f" * 4096, 12288)
    os.fdatasync(fd2)
    took = time.monotonic() - t0
finally:
    os.kill(int(sys.argv[2]), signal.SIGCONT)
os.close(fd)
os.close(fd2)
print("rewrites and fdatasync with the MDS stopped: %.1f s" % took)
sys.exit(took > 10)' "$MNT/dsync.img" "$mds_pid"
kill "$mds_cont" 2>/dev/null
check "and the second client reads them" python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(d != b"e" * 8192 + b"d" * 4096 + b"f" * 4096)' "$MNT2/dsync.img"

# An O_DSYNC aio (libaio, as QEMU's aio=native) past the end of the file:
# the size it reached is on the MDS when its completion is reaped
check "O_DSYNC aio direct write past the end is seen by another client" \
	python3 -c '
import ctypes, mmap, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_DIRECT | os.O_DSYNC)
os.ftruncate(fd, 16384)
buf = mmap.mmap(-1, 8192)
buf.write(b"g" * 8192)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
ctx = ctypes.c_ulong(0)
# io_setup, io_submit, io_getevents (x86_64); IOCB_CMD_PWRITE at 24576
if libc.syscall(ctypes.c_long(206), ctypes.c_long(8), ctypes.byref(ctx)):
    sys.exit("io_setup: %s" % os.strerror(ctypes.get_errno()))
iocb = ctypes.create_string_buffer(struct.pack("<QIIHhIQQqQII", 0, 0, 0, 1,
                                               0, fd, addr, 8192, 24576,
                                               0, 0, 0), 64)
ptrs = (ctypes.c_void_p * 1)(ctypes.addressof(iocb))
if libc.syscall(ctypes.c_long(209), ctx, ctypes.c_long(1), ptrs) != 1:
    sys.exit("io_submit: %s" % os.strerror(ctypes.get_errno()))
ev = ctypes.create_string_buffer(32)
if libc.syscall(ctypes.c_long(208), ctx, ctypes.c_long(1), ctypes.c_long(1),
                ev, None) != 1:
    sys.exit("io_getevents: %s" % os.strerror(ctypes.get_errno()))
res = struct.unpack("<QQqq", ev.raw)[2]
size = os.stat(sys.argv[2]).st_size
print("aio O_DSYNC past the end: %d bytes, size %d seen" % (res, size))
sys.exit(res != 8192 or size != 32768)' "$MNT/dsync-aio.img" \
	"$MNT2/dsync-aio.img"
cluster_stop
finish
