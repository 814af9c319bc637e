/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one vdifs wire codec, compiled into vdifs.ko and into every
 * userspace program (servers, tools, tests).  It never allocates: decoding
 * validates a received buffer in place and hands out pointers into it,
 * after checking every length against its maximum; encoding writes into a
 * caller-supplied buffer.  All it needs from its host is the small set of
 * types and helpers below.
 */
#ifndef _VDIFS_WIRE_H
#define _VDIFS_WIRE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/stddef.h>
#include <linux/stat.h>
#include <linux/xxhash.h>
#include <asm/byteorder.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <endian.h>
#include <sys/stat.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define cpu_to_le16(x) ((__le16)htole16(x))
#define cpu_to_le32(x) ((__le32)htole32(x))
#define cpu_to_le64(x) ((__le64)htole64(x))
#define le16_to_cpu(x) ((u16)le16toh((u16)(x)))
#define le32_to_cpu(x) ((u32)le32toh((u32)(x)))
#define le64_to_cpu(x) ((u64)le64toh((u64)(x)))

/* the kernel's xxh64 API (lib/xxhash.c), over libxxhash */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

struct xxh64_state {
	XXH64_state_t s;
};

static inline u64 xxh64(const void *input, size_t len, u64 seed)
{
	return XXH64(input, len, seed);
}

static inline void xxh64_reset(struct xxh64_state *st, u64 seed)
{
	XXH64_reset(&st->s, seed);
}

static inline int xxh64_update(struct xxh64_state *st, const void *input,
			       size_t len)
{
	return XXH64_update(&st->s, input, len) == XXH_OK ? 0 : -EINVAL;
}

static inline u64 xxh64_digest(const struct xxh64_state *st)
{
	return XXH64_digest(&st->s);
}
#endif

#include "../uapi/vdifs_proto.h"

/* ---- framing ---- */

struct wire_hdr {
	u16 opcode;
	u16 flags;
	u64 req_id;
	u32 body_len;
	u32 body_csum;
	s32 status;
};

/*
 * Checksums: the low 32 bits of XXH64 (seed 0), the kernel's lib/xxhash
 * and libxxhash computing the same function; 0 for nothing.  A message
 * body may be summed in pieces (header and fixed part from one buffer,
 * data from pages) with the same result as in one.
 */
u32 wire_csum(const void *buf, size_t len);

struct wire_csum {
	struct xxh64_state st;
	size_t len;
};

static inline void wire_csum_init(struct wire_csum *c)
{
	xxh64_reset(&c->st, 0);
	c->len = 0;
}

static inline void wire_csum_update(struct wire_csum *c, const void *buf,
				    size_t len)
{
	if (len) {
		xxh64_update(&c->st, buf, len);
		c->len += len;
	}
}

static inline u32 wire_csum_final(const struct wire_csum *c)
{
	return c->len ? (u32)xxh64_digest(&c->st) : 0;
}

void wire_hdr_encode(void *buf, const struct wire_hdr *h);
int wire_hdr_decode(const void *buf, struct wire_hdr *h);
int wire_body_check_csum(const struct wire_hdr *h, const void *body);

/*
 * Block checksums (VDIFS_CHUNK_SUMS): a CHUNK_READ reply's nsums
 * checksums take wire_sums_bytes(nsums) bytes after its fixed part; the
 * body checksum covers the fixed part and them (wire_sums_covered()), and
 * each VDIFS_SUM_BLOCK of the data that follows is checked against its
 * own, in one buffer (wire_sums_check()) or as it arrives in pieces
 * (struct wire_sums).
 */
#define WIRE_SUMS_MAX	(VDIFS_IO_MAX / VDIFS_SUM_BLOCK)

#define wire_sums_bytes(nsums)	((((u32)(nsums)) * 4u + 7u) & ~7u)

u32 wire_sums_covered(const struct wire_hdr *h, const void *body);
int wire_sums_check(const void *sums, u32 nsums, const void *data, u32 len);

struct wire_sums {
	const __le32 *sums;	/* the reply's, nsums of them */
	u32 nsums;
	u32 next;		/* block being summed */
	u32 fill;		/* its bytes so far */
	bool bad;
	struct wire_csum cs;
};

void wire_sums_init(struct wire_sums *w, const void *sums, u32 nsums);
void wire_sums_update(struct wire_sums *w, const void *buf, size_t len);
/* 0 when every block arrived whole and matched, else -EBADMSG */
int wire_sums_final(const struct wire_sums *w);

/* ---- bodies ---- */

/*
 * A decoded body: the opcode's fixed struct, up to two variable tails and
 * up to WIRE_RECS_MAX runs of records, all pointing into the received
 * buffer and all already validated against the opcode's limits.
 */
#define WIRE_RECS_MAX	3

struct wire_body {
	const void *fixed;
	u32 fixed_len;
	const u8 *tail[2];
	u32 tail_len[2];
	const u8 *recs[WIRE_RECS_MAX];
	u32 recs_len[WIRE_RECS_MAX];
	u32 nrecs[WIRE_RECS_MAX];
};

int wire_body_decode(u16 opcode, bool reply, s32 status, const void *body,
		     u32 len, struct wire_body *out);

/* the size of a request or reply fixed part, or -EOPNOTSUPP */
int wire_fixed_len(u16 opcode, bool reply);
const char *wire_op_name(u16 opcode);

/*
 * Encode a whole message (header + fixed + tails) into buf.  Returns the
 * message length, or -EMSGSIZE if it does not fit cap or the body limit.
 */
int wire_msg_encode(void *buf, size_t cap, u16 opcode, u16 flags, u64 req_id,
		    s32 status, const void *fixed, u32 fixed_len,
		    const void *t1, u32 l1, const void *t2, u32 l2);

/* ---- records (directory entries, volumes, chunks, status) ---- */

/* bytes one record takes: fixed part + name, padded to 8 */
static inline u32 wire_rec_size(u32 fixed, u32 name_len)
{
	return (fixed + name_len + 7) & ~7u;
}

/*
 * Append one record at dst (capacity cap).  Returns its size or -EMSGSIZE.
 * name may be NULL for records without a name.
 */
int wire_rec_put(void *dst, u32 cap, const void *rec, u32 fixed,
		 const void *name, u32 name_len);

struct wire_rec_iter {
	const u8 *p;
	u32 left;
	u32 fixed;
	int name_off;		/* offset of the __le16 name_len, or -1 */
};

void wire_rec_iter_init(struct wire_rec_iter *it, const struct wire_body *b,
			int which, u16 opcode);
/* 1: a record was returned, 0: end, <0: malformed (never after decode) */
int wire_rec_next(struct wire_rec_iter *it, const void **rec,
		  const u8 **name, u16 *name_len);

/* ---- name rules, shared by every peer ---- */

int wire_check_name(const u8 *name, u32 len);		/* dir entry */
/* a server's attributes and chunk records: -EPROTO when unusable */
int wire_check_attr(const struct vdifs_attr *a);
int wire_check_chunk(const struct vdifs_chunk *c);
int wire_check_volname(const u8 *name, u32 len);
int wire_check_principal(const u8 *name, u32 len);
int wire_check_xattr_name(const u8 *name, u32 len);
int wire_check_path(const u8 *path, u32 len);		/* symlink target */

#endif /* _VDIFS_WIRE_H */
