#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mount(2) a vdifs source and print the errno name ("OK" on success), so
guest tests can assert the exact error a bad mount gets."""
import ctypes
import errno
import sys

if len(sys.argv) not in (3, 4):
    sys.exit("usage: mount-errno.py SOURCE TARGET [OPTIONS]")
libc = ctypes.CDLL(None, use_errno=True)
opts = sys.argv[3].encode() if len(sys.argv) == 4 else None
rc = libc.mount(sys.argv[1].encode(), sys.argv[2].encode(), b"vdifs", 0, opts)
print("OK" if rc == 0 else errno.errorcode.get(ctypes.get_errno(), "?"))
