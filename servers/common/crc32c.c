// SPDX-License-Identifier: GPL-2.0
/*
 * CRC-32C for userspace, with the kernel's crc32c() contract (seed in,
 * no final inversion) so that kmod/wire.c builds unchanged on both sides.
 * Hand-written because Debian 12 ships no small, maintained crc32c library;
 * it uses the SSE4.2 instruction when the CPU has it and a slice-by-1 table
 * otherwise, and is checked against the standard test vector in
 * tests/host/test_wire.c.
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
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
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
#endif

uint32_t crc32c(uint32_t crc, const void *buf, unsigned int len)
{
#if defined(__x86_64__)
	static int have_hw = -1;

	if (have_hw < 0) {
		__builtin_cpu_init();
		have_hw = __builtin_cpu_supports("sse4.2");
	}
	if (have_hw)
		return crc32c_hw(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}
