// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness over the wire codec, the one place every peer's bytes
 * are judged before anything uses them (wire/wire.c; the kernel builds the
 * same file).  One input drives every decoder:
 *
 *   - the whole input as a message: header, then (whatever the checksum
 *     says) the body as its opcode's;
 *   - bytes 0-3 choose an opcode, a direction and a status, the rest is
 *     a body, decoded with its checksum ignored: random bytes almost never
 *     pass a checksum, and a decoder that trusts what follows it is what
 *     this is for;
 *   - the same body as a CHUNK_READ reply with block checksums, checked
 *     in one buffer and in pieces cut where byte 3 says.
 *
 * Whatever the input, the decoders must return, not crash, read past the
 * input or hang; ASan and UBSan (built in) turn any of those into a crash.
 * Decoded views must lie inside the input: that is asserted here.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wire.h"

static void inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	if (!n)
		return;
	assert(q >= buf && q + n <= buf + len);
}

static void body_decoded(u16 op, bool reply, s32 status, const uint8_t *b,
			 size_t len)
{
	struct wire_body out;
	unsigned int i;

	if (wire_body_decode(op, reply, status, b, (u32)len, &out))
		return;
	inside(out.fixed, out.fixed_len, b, len);
	for (i = 0; i < 2; i++) {
		inside(out.tail[i], out.tail_len[i], b, len);
		inside(out.recs[i], out.recs_len[i], b, len);
	}
}

static void sums(const uint8_t *b, size_t len, unsigned int cut)
{
	struct wire_hdr h = {
		.opcode = VDIFS_OP_CHUNK_READ, .flags = VDIFS_MSG_REPLY,
		.body_len = (u32)len,
	};
	const struct vdifs_chunk_io_rep *rep = (const void *)b;
	struct wire_sums ws;
	u32 covered;
	int one, pieces;

	if (len < sizeof(*rep) || len > VDIFS_BODY_MAX)
		return;
	covered = wire_sums_covered(&h, b);
	assert(covered <= len);
	(void)wire_body_check_csum(&h, b);
	if (!covered || covered == len)
		return;
	one = wire_sums_check(rep + 1, le32_to_cpu(rep->nsums), b + covered,
			      (u32)(len - covered));
	cut = cut % (unsigned int)(len - covered + 1);
	wire_sums_init(&ws, rep + 1, le32_to_cpu(rep->nsums));
	wire_sums_update(&ws, b + covered, cut);
	wire_sums_update(&ws, b + covered + cut, len - covered - cut);
	pieces = wire_sums_final(&ws);
	/* the kernel's way and userspace's agree */
	assert(one == pieces);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_hdr h;
	uint8_t *copy;

	if (size > VDIFS_BODY_MAX + 64)
		return 0;
	/* exact-size copies: ASan then sees any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size >= sizeof(struct vdifs_msg_hdr) && !wire_hdr_decode(copy, &h) &&
	    h.body_len == size - sizeof(struct vdifs_msg_hdr)) {
		const uint8_t *b = copy + sizeof(struct vdifs_msg_hdr);

		if (!wire_body_check_csum(&h, b))
			body_decoded(h.opcode, h.flags & VDIFS_MSG_REPLY,
				     h.status, b, h.body_len);
	}
	if (size >= 4) {
		u16 op = (u16)(copy[0] % VDIFS_OP_MAX);
		bool reply = copy[1] & 1;
		s32 status = (copy[1] & 2) ? -(s32)(copy[2] % 133) : 0;
		uint8_t *b = malloc(size - 4 ? size - 4 : 1);

		if (b) {
			memcpy(b, copy + 4, size - 4);
			body_decoded(op, reply, status, b, size - 4);
			sums(b, size - 4, copy[3] * 97u);
			free(b);
		}
	}
	free(copy);
	return 0;
}
