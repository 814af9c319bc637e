// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C for userspace, with the kernel's crc32c() contract (seed in,
 * no final inversion) so that kmod/wire.c builds unchanged on both sides.
 * Hand-written because Debian 12 ships no small, maintained crc32c library;
 * it uses the SSE4.2 instruction when the CPU has it and a slice-by-1 table
 * otherwise, and is checked against the standard test vector and against
 * the table version over random lengths and alignments in
 * tests/host/test_wire.c.
 *
 * The crc32 instruction has a latency of three cycles and a throughput of
 * one, so one stream of it runs at a third of its speed: data servers
 * checksum every byte they store and send, so long buffers are cut into
 * three interleaved streams, joined by shifting a stream's crc over the
 * bytes after it.  A crc register is linear: crc(r, A || B) =
 * shift(crc(r, A), |B|) ^ crc(0, B), and shifting over a fixed length is a
 * 32x32 bit matrix, applied here as four byte tables.
 */
#include <stddef.h>
#include <stdint.h>

#define CRC32C_POLY_REV 0x82f63b78u

static uint32_t crc32c_table[256];

static void crc32c_init_table(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY_REV : 0);
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_sw(uint32_t crc, const unsigned char *p, size_t len)
{
	if (!crc32c_table[1])
		crc32c_init_table();
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
#define CRC32C_LANE	1024	/* bytes per stream per round */

/* shift over CRC32C_LANE zero bytes, by bytes of the register */
static uint32_t crc32c_shift_tab[4][256];

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw1(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		__builtin_memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}

__attribute__((target("sse4.2")))
static void crc32c_init_shift(void)
{
	static const unsigned char zero[CRC32C_LANE];
	uint32_t col[32];
	int i, k, b;

	for (i = 0; i < 32; i++)
		col[i] = crc32c_hw1(1u << i, zero, CRC32C_LANE);
	for (k = 0; k < 4; k++) {
		for (b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (i = 0; i < 8; i++)
				if (b & (1 << i))
					v ^= col[8 * k + i];
			crc32c_shift_tab[k][b] = v;
		}
	}
}

static uint32_t crc32c_shift(uint32_t crc)
{
	return crc32c_shift_tab[0][crc & 0xff] ^
	       crc32c_shift_tab[1][(crc >> 8) & 0xff] ^
	       crc32c_shift_tab[2][(crc >> 16) & 0xff] ^
	       crc32c_shift_tab[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len >= 3 * CRC32C_LANE) {
		uint64_t a = crc, b = 0, c = 0;
		const unsigned char *end = p + CRC32C_LANE;

		for (; p < end; p += 8) {
			uint64_t x, y, z;

			__builtin_memcpy(&x, p, 8);
			__builtin_memcpy(&y, p + CRC32C_LANE, 8);
			__builtin_memcpy(&z, p + 2 * CRC32C_LANE, 8);
			a = __builtin_ia32_crc32di(a, x);
			b = __builtin_ia32_crc32di(b, y);
			c = __builtin_ia32_crc32di(c, z);
		}
		crc = crc32c_shift(crc32c_shift((uint32_t)a) ^ (uint32_t)b) ^
		      (uint32_t)c;
		p += 2 * CRC32C_LANE;
		len -= 3 * CRC32C_LANE;
	}
	return crc32c_hw1(crc, p, len);
}
#endif

/* the table version, for tests: the reference the fast one must match */
uint32_t crc32c_ref(uint32_t crc, const void *buf, unsigned int len)
{
	return crc32c_sw(crc, buf, len);
}

#if defined(__x86_64__)
static int crc32c_have_hw;

/* before main() and any thread: the tables are read without locks */
__attribute__((constructor))
static void crc32c_init(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2")) {
		crc32c_init_shift();
		crc32c_have_hw = 1;
	}
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, unsigned int len)
{
#if defined(__x86_64__)
	if (crc32c_have_hw)
		return crc32c_hw(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}
