// SPDX-License-Identifier: GPL-2.0
/*
 * The HELLO/AUTH handshake MAC (see uapi/vdifs_proto.h) and key parsing.
 * HMAC-SHA256 comes from OpenSSL's libcrypto, the kernel client uses the
 * crypto API's hmac(sha256): the same construction on both sides.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "vdifs_client.h"

void vdc_auth_mac(const u8 *key, size_t key_len, const char *label,
		  const u8 *nonce_a, const u8 *nonce_b, u8 *mac)
{
	u8 msg[16 + 2 * VDIFS_NONCE_LEN];
	size_t ll = strlen(label);
	unsigned int mlen = VDIFS_MAC_LEN;

	memcpy(msg, label, ll);
	memcpy(msg + ll, nonce_a, VDIFS_NONCE_LEN);
	memcpy(msg + ll + VDIFS_NONCE_LEN, nonce_b, VDIFS_NONCE_LEN);
	HMAC(EVP_sha256(), key, (int)key_len, msg, ll + 2 * VDIFS_NONCE_LEN,
	     mac, &mlen);
}

void vdc_principal_key(const u8 *server_key, size_t server_key_len,
		       const char *name, u32 role, u32 gen, u8 *key)
{
	static const char label[] = "vdifs-principal";
	u8 msg[sizeof(label) - 1 + 8 + VDIFS_PRINCIPAL_MAX];
	size_t nl = strnlen(name, VDIFS_PRINCIPAL_MAX), off;
	unsigned int klen = VDIFS_PRINCIPAL_KEY_LEN;
	__le32 le[2] = { cpu_to_le32(role), cpu_to_le32(gen) };

	memcpy(msg, label, sizeof(label) - 1);
	off = sizeof(label) - 1;
	memcpy(msg + off, le, sizeof(le));
	off += sizeof(le);
	memcpy(msg + off, name, nl);
	HMAC(EVP_sha256(), server_key, (int)server_key_len, msg, off + nl,
	     key, &klen);
}

void vdc_key_seal(const u8 *conn_key, size_t conn_key_len,
		  const u8 *snonce, const u8 *cnonce, const char *name,
		  u32 gen, u8 *key)
{
	static const char label[] = "vdifs-seal";
	u8 msg[sizeof(label) - 1 + 2 * VDIFS_NONCE_LEN + 4 +
	       VDIFS_PRINCIPAL_MAX];
	u8 pad[VDIFS_PRINCIPAL_KEY_LEN];
	size_t nl = strnlen(name, VDIFS_PRINCIPAL_MAX), off, i;
	unsigned int plen = sizeof(pad);
	__le32 lgen = cpu_to_le32(gen);

	memcpy(msg, label, sizeof(label) - 1);
	off = sizeof(label) - 1;
	memcpy(msg + off, snonce, VDIFS_NONCE_LEN);
	memcpy(msg + off + VDIFS_NONCE_LEN, cnonce, VDIFS_NONCE_LEN);
	off += 2 * VDIFS_NONCE_LEN;
	memcpy(msg + off, &lgen, 4);
	off += 4;
	memcpy(msg + off, name, nl);
	HMAC(EVP_sha256(), conn_key, (int)conn_key_len, msg, off + nl, pad,
	     &plen);
	for (i = 0; i < sizeof(pad); i++)
		key[i] ^= pad[i];
}

void vdc_cap_key(const u8 *server_key, size_t server_key_len, u8 *cap_key)
{
	static const char label[] = "vdifs-capkey";
	unsigned int klen = VDIFS_PRINCIPAL_KEY_LEN;

	HMAC(EVP_sha256(), server_key, (int)server_key_len,
	     (const u8 *)label, sizeof(label) - 1, cap_key, &klen);
}

void vdc_cap_mac(const u8 *cap_key, u64 chunk_id, u64 epoch, u64 expiry,
		 u32 rights, const char *principal, u8 *mac)
{
	static const char label[] = "vdifs-cap";
	u8 msg[sizeof(label) - 1 + 28 + VDIFS_PRINCIPAL_MAX];
	u8 full[32];
	size_t nl = strnlen(principal, VDIFS_PRINCIPAL_MAX), off;
	unsigned int flen = sizeof(full);
	__le64 le64[3] = { cpu_to_le64(chunk_id), cpu_to_le64(epoch),
			   cpu_to_le64(expiry) };
	__le32 lr = cpu_to_le32(rights);

	memcpy(msg, label, sizeof(label) - 1);
	off = sizeof(label) - 1;
	memcpy(msg + off, le64, sizeof(le64));
	off += sizeof(le64);
	memcpy(msg + off, &lr, sizeof(lr));
	off += sizeof(lr);
	memcpy(msg + off, principal, nl);
	HMAC(EVP_sha256(), cap_key, VDIFS_PRINCIPAL_KEY_LEN, msg, off + nl,
	     full, &flen);
	memcpy(mac, full, VDIFS_CAP_MAC_LEN);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int vdc_key_parse_hex(const char *hex, u8 *key, size_t cap, size_t *len)
{
	size_t n = strlen(hex), i;

	while (n && isspace((unsigned char)hex[n - 1]))
		n--;
	if (n % 2 || n / 2 < VDIFS_KEY_MIN || n / 2 > VDIFS_KEY_MAX ||
	    n / 2 > cap)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (u8)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

/*
 * A key file: hex digits (white space anywhere is dropped, so a wrapped
 * key or a trailing newline works), readable by its owner alone, as ssh
 * wants of a private key: a key others can read is no secret.
 */
int vdc_key_read_file(const char *path, u8 *key, size_t cap, size_t *len,
		      char *why, size_t why_len)
{
	char buf[2 * VDIFS_KEY_MAX + 256];
	struct stat st;
	ssize_t n;
	size_t i, j = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
		goto out_close;
	}
	if (st.st_mode & 077) {
		snprintf(why, why_len,
			 "mode %03o: others can read or change it (chmod 600)",
			 (unsigned int)(st.st_mode & 0777));
		ret = -EPERM;
		goto out_close;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = -errno;
		snprintf(why, why_len, "%s", strerror(errno));
		goto out_close;
	}
	for (i = 0; i < (size_t)n; i++)
		if (!isspace((unsigned char)buf[i]))
			buf[j++] = buf[i];
	buf[j] = '\0';
	if (vdc_key_parse_hex(buf, key, cap, len)) {
		snprintf(why, why_len, "not a key of %u to %u bytes (%u to %u hex digits)",
			 VDIFS_KEY_MIN, VDIFS_KEY_MAX, 2 * VDIFS_KEY_MIN,
			 2 * VDIFS_KEY_MAX);
		ret = -EINVAL;
	}
out_close:
	memset(buf, 0, sizeof(buf));
	close(fd);
	return ret;
}
