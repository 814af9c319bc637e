// SPDX-License-Identifier: GPL-2.0
/*
 * Write the fuzzer's seed corpus: every wire vector as a whole message,
 * and each one's body behind the 4-byte selector fuzz_wire.c reads
 * (opcode, direction, status), so that the fuzzer starts from valid
 * messages of every shape the tests know.  seed DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include "wire_vectors.h"

static int put(const char *dir, const char *kind, size_t i, const u8 *a,
	       size_t al, const u8 *b, size_t bl)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%03zu", dir, kind, i);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	if (al)
		fwrite(a, 1, al, f);
	if (bl)
		fwrite(b, 1, bl, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	static u8 buf[WIRE_SUMS_MSG_LEN];
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: seed DIR\n");
		return 2;
	}
	for (i = 0; i < sizeof(wire_vectors) / sizeof(wire_vectors[0]); i++) {
		const struct wire_vector *v = &wire_vectors[i];
		struct wire_hdr h;
		u8 sel[4] = { 0 };

		if (put(argv[1], "msg", i, v->msg, v->len, NULL, 0))
			return 1;
		if (v->len < 32 || wire_hdr_decode(v->msg, &h))
			continue;
		sel[0] = (u8)h.opcode;
		sel[1] = (h.flags & VDIFS_MSG_REPLY) ? 1 : 0;
		if (put(argv[1], "body", i, sel, 4, v->msg + 32, v->len - 32))
			return 1;
	}
	for (i = 0; i < sizeof(wire_sums_vectors) /
		    sizeof(wire_sums_vectors[0]); i++) {
		const struct wire_sums_vector *v = &wire_sums_vectors[i];
		u8 sel[4] = { v->write ? VDIFS_OP_CHUNK_WRITE :
					 VDIFS_OP_CHUNK_READ, !v->write, 0, 7 };
		u32 len = wire_sums_len(v);

		wire_sums_build(v, buf);
		if (put(argv[1], "sums", i, buf, len, NULL, 0) ||
		    put(argv[1], "sumsbody", i, sel, 4, buf + 32, len - 32))
			return 1;
	}
	return 0;
}
