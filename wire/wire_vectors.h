/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire codec test vectors, shared verbatim by the KUnit suite
 * (kmod/wire_test.c) and the userspace suite (tests/host/test_wire.c), so
 * both builds of wire/wire.c are held to the same bytes.
 *
 * The messages were produced by wire_msg_encode() once and frozen (their
 * checksums again for protocol v2): a codec change that alters a byte
 * breaks compatibility and must fail here.
 * Each bad vector is a frozen message with one mutation, and says at which
 * stage (header, body checksum, body) and with which errno it must fail;
 * a reply whose layout is sound but whose values a client cannot use
 * fails the body stage with -EPROTO (wire_check_*).
 */
#ifndef _VDIFS_WIRE_VECTORS_H
#define _VDIFS_WIRE_VECTORS_H

#include "wire.h"

static const u8 wire_vec_lookup_req[] = {
	0x56, 0x44, 0x46, 0x53, 0x14, 0x00, 0x00, 0x00, 0x88, 0x77, 0x66, 0x55,
	0x44, 0x33, 0x22, 0x11, 0x19, 0x00, 0x00, 0x00, 0x11, 0x74, 0xe9, 0x82,
	0x00, 0x00, 0x00, 0x00, 0xa6, 0xcd, 0x2d, 0x25, 0x07, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	0x64, 0x69, 0x73, 0x6b, 0x31, 0x2e, 0x69, 0x6d, 0x67,
};
static const u8 wire_vec_rename_req[] = {
	0x56, 0x44, 0x46, 0x53, 0x1c, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00, 0xf2, 0xa2, 0xa3, 0xec,
	0x00, 0x00, 0x00, 0x00, 0xc3, 0xaf, 0x6c, 0x1c, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63,
};
static const u8 wire_vec_readdir_rep[] = {
	0x56, 0x44, 0x46, 0x53, 0x20, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x5a, 0x75, 0xb6, 0xec,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x1c, 0xfd, 0x73, 0x02, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x03, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x73, 0x75, 0x62, 0x64, 0x69, 0x72, 0x2e, 0x64,
};
static const u8 wire_vec_enoent_rep[] = {
	0x56, 0x44, 0x46, 0x53, 0x1a, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xfe, 0xff, 0xff, 0xff, 0x29, 0x1d, 0x02, 0x82,
};

static const u8 wire_vec_clone_range_req[] = {
	0x56, 0x44, 0x46, 0x53, 0x4c, 0x00, 0x00, 0x00, 0x42, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0xfd, 0xf1, 0xf8, 0x92,
	0x00, 0x00, 0x00, 0x00, 0x14, 0x7f, 0x4c, 0xd6, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x50, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* replies whose values the codec checks (wire_check_*): v3 */
static const u8 wire_vec_getattr_rep[] = {
	0x56, 0x44, 0x46, 0x53, 0x15, 0x00, 0x01, 0x00, 0x21, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x68, 0x00, 0x00, 0x00, 0x35, 0xc9, 0x98, 0x7d,
	0x00, 0x00, 0x00, 0x00, 0xe1, 0xae, 0x85, 0x97, 0x2a, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xa4, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00,
	0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};
/* v6: the chunk's capability follows it */
static const u8 wire_vec_degrade_rep[] = {
	0x56, 0x44, 0x46, 0x53, 0x2b, 0x00, 0x01, 0x00, 0x22, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x7a, 0x08, 0xbd, 0xf9,
	0x00, 0x00, 0x00, 0x00, 0x0f, 0xca, 0x5d, 0x69, 0x02, 0x00, 0x10, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x80, 0x3b, 0xb1, 0x6a, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

/* v5: a HELLO naming host "vm" and principal "host1@a" */
static const u8 wire_vec_hello_principal_req[] = {
	0x56, 0x44, 0x46, 0x53, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x00, 0x70, 0xbc, 0x27, 0x9b,
	0x00, 0x00, 0x00, 0x00, 0x15, 0xfa, 0x88, 0x14, 0x05, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x01, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x07, 0x00, 0x76, 0x6d, 0x68, 0x6f, 0x73, 0x74, 0x31, 0x40,
	0x61,
};

/* v7: a heartbeat with two chunks behind, a STATUS with one lost */
static const u8 wire_vec_heartbeat_req[] = {
	0x56, 0x44, 0x46, 0x53, 0x33, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x94, 0x68, 0xcd, 0x2b,
	0x00, 0x00, 0x00, 0x00, 0x13, 0xd8, 0xdd, 0xae, 0x02, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const u8 wire_vec_status_lost_rep[] = {
	0x56, 0x44, 0x46, 0x53, 0x37, 0x00, 0x01, 0x00, 0x45, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0xad, 0x46, 0x10, 0xe8,
	0x00, 0x00, 0x00, 0x00, 0x64, 0x64, 0xf8, 0x03, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x77, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0xc0, 0x86, 0xfd, 0x6a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};

/* CHUNK_SUMS (90): extents 0 and 2 of a range, one block each */
static const u8 wire_vec_chunk_sums_rep[] = {
	0x56, 0x44, 0x46, 0x53, 0x5a, 0x00, 0x01, 0x00, 0x46, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0xfe, 0xde, 0x08, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x60, 0x72, 0x26, 0xaa, 0x09, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x44, 0x33, 0x22,
	0x11, 0x88, 0x77, 0x66, 0x55,
};

enum wire_vec_patch { WV_NONE, WV_U8, WV_LE16, WV_LE32, WV_TRUNC };

struct wire_vector {
	const char *name;
	const u8 *msg;
	u32 len;
	u8 patch;		/* enum wire_vec_patch */
	bool fix_csum;		/* recompute checksums after patching */
	u32 off;		/* patch offset (WV_TRUNC: bytes cut) */
	u32 val;
	int hdr_ret;		/* expected wire_hdr_decode() */
	int csum_ret;		/* expected wire_body_check_csum() */
	int body_ret;		/* expected wire_body_decode() */
};

#define WV(m) .msg = m, .len = sizeof(m)
#define HDR sizeof(struct vdifs_msg_hdr)

static const struct wire_vector wire_vectors[] = {
	{ "lookup", WV(wire_vec_lookup_req) },
	{ "rename two names", WV(wire_vec_rename_req) },
	{ "readdir reply, two entries", WV(wire_vec_readdir_rep) },
	{ "error reply", WV(wire_vec_enoent_rep) },
	{ "clone range", WV(wire_vec_clone_range_req) },
	{ "clone range: short fixed part", WV(wire_vec_clone_range_req),
	  WV_TRUNC, true, 8, 0, 0, 0, -EBADMSG },
	{ "bad magic", WV(wire_vec_lookup_req), WV_U8, false, 0, 0x57,
	  -EBADMSG },
	{ "header checksum", WV(wire_vec_lookup_req), WV_U8, false, 4, 0x15,
	  -EBADMSG },
	{ "body checksum", WV(wire_vec_lookup_req), WV_U8, false, HDR + 20,
	  0x41, 0, -EBADMSG },
	{ "slash in name", WV(wire_vec_lookup_req), WV_U8, true, HDR + 20,
	  '/', 0, 0, -EINVAL },
	{ "NUL in name", WV(wire_vec_lookup_req), WV_U8, true, HDR + 17,
	  0, 0, 0, -EINVAL },
	{ "name longer than body", WV(wire_vec_lookup_req), WV_LE16, true,
	  HDR + 4, 10, 0, 0, -EBADMSG },
	{ "trailing garbage", WV(wire_vec_lookup_req), WV_LE16, true,
	  HDR + 4, 8, 0, 0, -EBADMSG },
	{ "empty name", WV(wire_vec_lookup_req), WV_LE16, true, HDR + 4, 0,
	  0, 0, -EINVAL },
	{ "name over NAME_MAX", WV(wire_vec_lookup_req), WV_LE16, true,
	  HDR + 4, 256, 0, 0, -EBADMSG },
	{ "truncated body", WV(wire_vec_lookup_req), WV_TRUNC, true, 1, 0,
	  0, 0, -EBADMSG },
	{ "truncated fixed part", WV(wire_vec_lookup_req), WV_TRUNC, true,
	  10, 0, 0, 0, -EBADMSG },
	{ "rename: second name has slash", WV(wire_vec_rename_req), WV_U8,
	  true, HDR + 34, '/', 0, 0, -EINVAL },
	{ "rename: second name is ..", WV(wire_vec_rename_req), WV_LE16,
	  true, HDR + 33, 0x2e2e, 0, 0, -EINVAL },
	{ "readdir: count too high", WV(wire_vec_readdir_rep), WV_LE32, true,
	  HDR, 3, 0, 0, -EBADMSG },
	{ "readdir: count huge", WV(wire_vec_readdir_rep), WV_LE32, true,
	  HDR, 0xffffffff, 0, 0, -EBADMSG },
	{ "readdir: count too low", WV(wire_vec_readdir_rep), WV_LE32, true,
	  HDR, 1, 0, 0, -EBADMSG },
	{ "readdir: record name over NAME_MAX", WV(wire_vec_readdir_rep),
	  WV_LE16, true, HDR + 8 + 32 + 18, 300, 0, 0, -EBADMSG },
	{ "unknown opcode", WV(wire_vec_lookup_req), WV_LE16, true, 4, 127,
	  0, 0, -EOPNOTSUPP },
	{ "body over the limit", WV(wire_vec_lookup_req), WV_LE32, true, 16,
	  VDIFS_BODY_MAX + 1, -EMSGSIZE },
	{ "status in a request", WV(wire_vec_lookup_req), WV_LE32, true, 24,
	  (u32)-5, -EPROTO },
	{ "unknown flag", WV(wire_vec_lookup_req), WV_LE16, true, 6, 0x8000,
	  -EPROTO },
	{ "error reply with a body", WV(wire_vec_readdir_rep), WV_LE32, true,
	  24, (u32)-2, 0, 0, -EBADMSG },
	{ "getattr reply", WV(wire_vec_getattr_rep) },
	{ "attr: inode 0", WV(wire_vec_getattr_rep), WV_LE32, true, HDR, 0,
	  0, 0, -EPROTO },
	{ "attr: no file type", WV(wire_vec_getattr_rep), WV_LE32, true,
	  HDR + 56, 0644, 0, 0, -EPROTO },
	{ "attr: mode bits past the type", WV(wire_vec_getattr_rep), WV_LE32,
	  true, HDR + 56, 01100644, 0, 0, -EPROTO },
	{ "attr: file with chunk size 0", WV(wire_vec_getattr_rep), WV_LE32,
	  true, HDR + 80, 0, 0, 0, -EPROTO },
	{ "attr: chunk size not a power of two", WV(wire_vec_getattr_rep),
	  WV_LE32, true, HDR + 80, 3 << 20, 0, 0, -EPROTO },
	{ "attr: extent of 1 MiB", WV(wire_vec_getattr_rep), WV_LE32,
	  true, HDR + 84, 1 << 20, 0, 0, 0 },
	{ "attr: extent size not a power of two", WV(wire_vec_getattr_rep),
	  WV_LE32, true, HDR + 84, 5000, 0, 0, -EPROTO },
	{ "attr: no replicas", WV(wire_vec_getattr_rep), WV_U8, true,
	  HDR + 88, 0, 0, 0, -EPROTO },
	{ "attr: a directory's params are not a file's",
	  WV(wire_vec_getattr_rep), WV_LE32, true, HDR + 56, 040755, 0, 0,
	  0 },
	{ "degrade reply", WV(wire_vec_degrade_rep) },
	{ "degrade: more replicas than there can be",
	  WV(wire_vec_degrade_rep), WV_U8, true, HDR + 20, 5, 0, 0, -EPROTO },
	{ "degrade: a server twice", WV(wire_vec_degrade_rep), WV_LE32, true,
	  HDR + 28, 2, 0, 0, -EPROTO },
	{ "degrade: server 0 in the set", WV(wire_vec_degrade_rep), WV_LE32,
	  true, HDR + 28, 0, 0, 0, -EPROTO },
	{ "degrade: no chunk", WV(wire_vec_degrade_rep), WV_LE32, true, HDR,
	  0, 0, 0, -EPROTO },
	{ "degrade: no capability", WV(wire_vec_degrade_rep), WV_TRUNC, true,
	  32, 0, 0, 0, -EPROTO },
	{ "degrade: capability cut short", WV(wire_vec_degrade_rep), WV_TRUNC,
	  true, 8, 0, 0, 0, -EPROTO },
	{ "hello with a principal", WV(wire_vec_hello_principal_req) },
	{ "hello: space in the principal", WV(wire_vec_hello_principal_req),
	  WV_U8, true, HDR + 63, ' ', 0, 0, -EINVAL },
	{ "hello: principal longer than the body",
	  WV(wire_vec_hello_principal_req), WV_LE16, true, HDR + 54, 65, 0, 0,
	  -EBADMSG },
	{ "heartbeat with chunks behind", WV(wire_vec_heartbeat_req) },
	{ "heartbeat: more chunks than mutations behind",
	  WV(wire_vec_heartbeat_req), WV_LE32, true, HDR + 24, 1, 0, 0,
	  -EINVAL },
	{ "heartbeat: unknown flag", WV(wire_vec_heartbeat_req), WV_LE16,
	  true, HDR + 4, 2, 0, 0, -EINVAL },
	{ "heartbeat: tail shorter than the body", WV(wire_vec_heartbeat_req),
	  WV_LE16, true, HDR + 6, 24, 0, 0, -EBADMSG },
	{ "status with a lost chunk", WV(wire_vec_status_lost_rep) },
	{ "status: two lost, one sent", WV(wire_vec_status_lost_rep),
	  WV_LE32, true, HDR + 72, 2, 0, 0, -EBADMSG },
	{ "chunk sums reply", WV(wire_vec_chunk_sums_rep) },
	{ "chunk sums: three extents, two sums", WV(wire_vec_chunk_sums_rep),
	  WV_U8, true, HDR + 24, 0x07, 0, 0, -EPROTO },
	{ "chunk sums: pad", WV(wire_vec_chunk_sums_rep), WV_LE32, true,
	  HDR + 20, 1, 0, 0, -EPROTO },
	{ "chunk sums: extent size not a power of two",
	  WV(wire_vec_chunk_sums_rep), WV_LE32, true, HDR + 8, 5000, 0, 0,
	  -EPROTO },
	{ "chunk sums: more sums than the body", WV(wire_vec_chunk_sums_rep),
	  WV_LE32, true, HDR + 16, 12, 0, 0, -EBADMSG },
};

#undef WV
#undef HDR

#define WIRE_VEC_MSG_MAX 256

/*
 * Apply v's mutation to a copy of its message in buf (WIRE_VEC_MSG_MAX
 * bytes) and return the resulting length.
 */
static inline u32 wire_vector_build(const struct wire_vector *v, u8 *buf)
{
	u32 len = v->len;
	__le16 v16;
	__le32 v32;

	memcpy(buf, v->msg, len);
	switch (v->patch) {
	case WV_U8:
		buf[v->off] = (u8)v->val;
		break;
	case WV_LE16:
		v16 = cpu_to_le16((u16)v->val);
		memcpy(buf + v->off, &v16, 2);
		break;
	case WV_LE32:
		v32 = cpu_to_le32(v->val);
		memcpy(buf + v->off, &v32, 4);
		break;
	case WV_TRUNC:
		len -= v->off;
		v32 = cpu_to_le32(len - (u32)sizeof(struct vdifs_msg_hdr));
		memcpy(buf + 16, &v32, 4);
		break;
	}
	if (v->fix_csum) {
		struct vdifs_msg_hdr *m = (struct vdifs_msg_hdr *)buf;
		u32 body = len - (u32)sizeof(*m);

		m->body_csum = cpu_to_le32(wire_csum(m + 1, body));
		m->hdr_csum = cpu_to_le32(wire_csum(m, 28));
	}
	return len;
}

/*
 * Run one vector through the decoder's three stages; returns 0 when every
 * stage answered as expected, else the 1-based stage that did not, with
 * its answer in *got.
 */
static inline int wire_vector_run(const struct wire_vector *v,
				  struct wire_hdr *h, struct wire_body *b,
				  int *got)
{
	u8 buf[WIRE_VEC_MSG_MAX];
	u32 len = wire_vector_build(v, buf);

	*got = wire_hdr_decode(buf, h);
	if (*got != v->hdr_ret)
		return 1;
	if (*got)
		return 0;
	if (h->body_len != len - sizeof(struct vdifs_msg_hdr)) {
		*got = -EFAULT;
		return 1;
	}
	*got = wire_body_check_csum(h, buf + sizeof(struct vdifs_msg_hdr));
	if (*got != v->csum_ret)
		return 2;
	if (*got)
		return 0;
	*got = wire_body_decode(h->opcode, h->flags & VDIFS_MSG_REPLY,
				h->status, buf + sizeof(struct vdifs_msg_hdr),
				h->body_len, b);
	if (*got != v->body_ret)
		return 3;
	return 0;
}

/*
 * CHUNK_READ replies with block checksums (VDIFS_CHUNK_SUMS): one block of
 * data, built here rather than spelled out (4 KiB), then mutated.  Both
 * ways of checking them must agree: in one buffer (wire_body_check_csum,
 * what userspace does) and as the data arrives in pieces (struct
 * wire_sums, what the kernel does).
 */
/*
 * Block-summed messages: a CHUNK_READ reply (vdifs_chunk_io_rep) or, with
 * write set, a CHUNK_WRITE request (vdifs_chunk_req, v7), each of one
 * 4 KiB block with its sum.  WIRE_SUMS_MSG_LEN holds either.
 */
#define WIRE_SUMS_MSG_LEN	(32 + 112 + 8 + VDIFS_SUM_BLOCK)

struct wire_sums_vector {
	const char *name;
	u8 patch;		/* WV_NONE, WV_U8 or WV_LE32 */
	bool fix_csum;
	u32 off;		/* into the message */
	u32 val;
	int csum_ret;		/* expected wire_body_check_csum() */
	int body_ret;		/* expected wire_body_decode() */
	bool write;		/* a CHUNK_WRITE request, not a READ reply */
};

#define HDR 32u
#define WQ (HDR + 112u)		/* a write's sums */
static const struct wire_sums_vector wire_sums_vectors[] = {
	{ "read reply with block sums", WV_NONE, false, 0, 0, 0, 0, false },
	{ "sums: a data byte changed", WV_U8, false, HDR + 24 + 100, 0x5a,
	  -EBADMSG, 0, false },
	{ "sums: the block's sum changed", WV_LE32, true, HDR + 16, 1,
	  -EBADMSG, 0, false },
	{ "sums: more than the data's blocks", WV_LE32, true, HDR + 12, 2,
	  -EBADMSG, 0, false },
	{ "sums: over the limit", WV_LE32, true, HDR + 12, 257, -EBADMSG, 0,
	  false },
	{ "sums: data length not whole blocks", WV_LE32, true, HDR + 8, 4095,
	  -EBADMSG, 0, false },
	{ "sums: none, and a body that has them", WV_LE32, true, HDR + 12, 0,
	  0, -EBADMSG, false },
	{ "write with block sums", WV_NONE, false, 0, 0, 0, 0, true },
	{ "write sums: a data byte changed", WV_U8, false, WQ + 8 + 100, 0x5a,
	  -EBADMSG, 0, true },
	{ "write sums: the block's sum changed", WV_LE32, true, WQ, 1,
	  -EBADMSG, 0, true },
	/* nrep, repl_mode, nsums: the word at 52; 2 sums, 1 block */
	{ "write sums: more than the data's blocks", WV_LE32, true, HDR + 52,
	  0x00020101, -EBADMSG, 0, true },
	{ "write sums: an offset inside a block", WV_LE32, true, HDR + 32,
	  8192 + 512, 0, -EINVAL, true },
	{ "write sums: none, and a body that has them", WV_LE32, true,
	  HDR + 52, 0x00000101, 0, -EBADMSG, true },
};
#undef WQ
#undef HDR

/* the vector's message's length and fixed part's */
static inline u32 wire_sums_fixed(const struct wire_sums_vector *v)
{
	return v->write ? sizeof(struct vdifs_chunk_req) :
			  sizeof(struct vdifs_chunk_io_rep);
}

static inline u32 wire_sums_len(const struct wire_sums_vector *v)
{
	return 32 + wire_sums_fixed(v) + 8 + VDIFS_SUM_BLOCK;
}

static inline void wire_sums_hdr(const struct wire_sums_vector *v,
				 struct wire_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->opcode = v->write ? VDIFS_OP_CHUNK_WRITE : VDIFS_OP_CHUNK_READ;
	h->flags = v->write ? 0 : VDIFS_MSG_REPLY;
	h->req_id = 7;
	h->body_len = wire_sums_len(v) - 32;
}

static inline void wire_sums_fix(const struct wire_sums_vector *v, u8 *buf)
{
	struct vdifs_msg_hdr *m = (struct vdifs_msg_hdr *)buf;
	struct wire_hdr h;
	u32 covered;

	wire_sums_hdr(v, &h);
	covered = wire_sums_covered(&h, m + 1);
	m->body_csum = cpu_to_le32(wire_csum(m + 1, covered ? covered :
					     wire_sums_fixed(v) + 8));
	m->hdr_csum = cpu_to_le32(wire_csum(m, 28));
}

/* the vector's message into buf (wire_sums_len(v) bytes) */
static inline void wire_sums_build(const struct wire_sums_vector *v, u8 *buf)
{
	struct wire_hdr h;
	struct vdifs_chunk_io_rep rep = {
		.version = cpu_to_le64(5),
		.len = cpu_to_le32(VDIFS_SUM_BLOCK),
		.nsums = cpu_to_le32(1),
	};
	struct vdifs_chunk_req q = {
		.chunk_id = cpu_to_le64(9),
		.offset = cpu_to_le32(8192),
		.len = cpu_to_le32(VDIFS_SUM_BLOCK),
		.chunk_size = cpu_to_le32(1u << 20),
		.extent_size = cpu_to_le32(64u << 10),
		.nrep = 1,
		.repl_mode = 1,
		.nsums = cpu_to_le16(1),
	};
	u32 fl = wire_sums_fixed(v);
	u8 *data = buf + 32 + fl + 8;
	__le32 v32;
	u32 i;

	memset(buf, 0, wire_sums_len(v));
	wire_sums_hdr(v, &h);
	wire_hdr_encode(buf, &h);
	if (v->write)
		memcpy(buf + 32, &q, sizeof(q));
	else
		memcpy(buf + 32, &rep, sizeof(rep));
	for (i = 0; i < VDIFS_SUM_BLOCK; i++)
		data[i] = (u8)(i * 31 + 7);
	v32 = cpu_to_le32(wire_csum(data, VDIFS_SUM_BLOCK));
	memcpy(buf + 32 + fl, &v32, 4);
	wire_sums_fix(v, buf);
	if (v->patch == WV_U8) {
		buf[v->off] = (u8)v->val;
	} else if (v->patch == WV_LE32) {
		v32 = cpu_to_le32(v->val);
		memcpy(buf + v->off, &v32, 4);
	}
	if (v->fix_csum)
		wire_sums_fix(v, buf);
}

/*
 * 0 when every check answered as expected, else the 1-based stage that
 * did not (1 header, 2 checksums in one buffer, 3 decoding, 4 checksums
 * in pieces), with its answer in *got.
 */
static inline int wire_sums_vector_run(const struct wire_sums_vector *v,
				       u8 *buf, int *got)
{
	struct wire_sums ws;
	struct wire_body b;
	struct wire_hdr h;
	u32 covered;

	wire_sums_build(v, buf);
	*got = wire_hdr_decode(buf, &h);
	if (*got)
		return 1;
	*got = wire_body_check_csum(&h, buf + 32);
	if (*got != v->csum_ret)
		return 2;
	if (!*got) {
		*got = wire_body_decode(h.opcode, !v->write, 0, buf + 32,
					h.body_len, &b);
		if (*got != v->body_ret)
			return 3;
	}
	covered = wire_sums_covered(&h, buf + 32);
	if (!covered || covered == h.body_len)
		return 0;
	/* the kernel's way: the sums first, the data in uneven pieces */
	wire_sums_init(&ws, buf + 32 + wire_sums_fixed(v), 1);
	wire_sums_update(&ws, buf + 32 + covered, 1000);
	wire_sums_update(&ws, buf + 32 + covered + 1000, 3000);
	wire_sums_update(&ws, buf + 32 + covered + 4000,
			 h.body_len - covered - 4000);
	*got = wire_sums_final(&ws);
	if (*got != v->csum_ret)
		return 4;
	return 0;
}

#endif /* _VDIFS_WIRE_VECTORS_H */
