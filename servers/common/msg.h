/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Framed message I/O over a blocking socket, for the servers and the
 * client library.  The codec (wire/wire.c) does the validation; this only
 * moves bytes with bounded waits.
 */
#ifndef _VDIFS_MSG_H
#define _VDIFS_MSG_H

#include <sys/socket.h>
#include "vdifs_client.h"

/*
 * Read one message: header validated, body (<= VDIFS_BODY_MAX) read and
 * its checksum verified; the body is NOT decoded (callers decide how to
 * answer a body their opcode table rejects).  timeout_ms < 0 waits
 * forever.  Errors: -ECONNRESET (peer closed), -ETIMEDOUT, -EBADMSG,
 * -EMSGSIZE, -EPROTO (stream corrupt: close it), -ENOMEM.
 */
int msg_read(int fd, struct vdc_msg *m, int timeout_ms);
/* the same, refusing (-EMSGSIZE) a body over max_body before reading it */
int msg_read_max(int fd, struct vdc_msg *m, int timeout_ms, u32 max_body);
/*
 * What a server reads from a peer that has not finished the handshake:
 * a HELLO or an AUTH fits, a megabyte announced to pin memory does not;
 * and the handshake must end within SRV_HANDSHAKE_MS.
 */
#define SRV_HANDSHAKE_BODY_MAX	4096u
#define SRV_HANDSHAKE_MS	30000

/* encode and send a whole message; -errno on failure */
int msg_write(int fd, u16 op, u16 flags, u64 req_id, s32 status,
	      const void *fixed, u32 flen, const void *t1, u32 l1,
	      const void *t2, u32 l2);

/*
 * A piece of a message's data sent from a file by reference (sendfile:
 * the page cache's pages go to the socket, no copy), or zeroes (fd -1).
 */
struct msg_seg {
	int fd;
	u32 len;
	u64 off;
};

/*
 * Send a message whose body checksum covers fixed and t1 only, followed
 * by data from segs (dlen bytes in all): a CHUNK_READ reply with block
 * checksums.  A file shorter than its segment is made up with zeroes, so
 * the framing holds and the reader's block checksums catch it.
 */
int msg_write_segs(int fd, u16 op, u16 flags, u64 req_id,
		   const void *fixed, u32 flen, const void *t1, u32 l1,
		   const struct msg_seg *segs, u32 nseg, u32 dlen);

/*
 * Send a CHUNK_WRITE with block checksums (vdifs_chunk_req.nsums): the
 * body checksum covers fixed and the sums (slen bytes, zero-padded to 8),
 * the sums cover the data (dlen bytes), which is not summed again here.
 * more: held back (MSG_MORE) for the messages that follow it, until one
 * sent without or net_push().
 */
int msg_write_sums(int fd, u16 op, u64 req_id, const void *fixed, u32 flen,
		   const void *sums, u32 slen, const void *data, u32 dlen,
		   bool more);
/* send what MSG_MORE held back on fd now */
int net_push(int fd);

long long net_now_ms(void);
/*
 * A connection's read buffer (one reader thread): bytes [head, tail) of
 * buf are read from the socket and not yet taken.
 */
struct net_rbuf {
	u8 *buf;
	u32 cap, head, tail;
};

int net_rbuf_init(struct net_rbuf *rb, u32 cap);
void net_rbuf_free(struct net_rbuf *rb);
/* msg_read_max() through rb, which keeps what came after the message */
int msg_read_buffered(int fd, struct net_rbuf *rb, struct vdc_msg *m,
		      int timeout_ms, u32 max_body);
/* nothing of a next message buffered or waiting (reads what waits) */
bool net_rbuf_idle(int fd, struct net_rbuf *rb);
/* a whole next message buffered, with what waits read (no waiting) */
bool net_rbuf_ready(int fd, struct net_rbuf *rb);
int net_read_full(int fd, void *buf, size_t len, int timeout_ms);
int net_write_full(int fd, const void *buf, size_t len);

/* listen on "HOST:PORT" (port 0: any); the bound port in *port */
int net_listen(const char *addr, int *port);
int net_connect(const char *addr, int timeout_ms);
/* write the port a server listens on, atomically (tests wait for it) */
int net_write_port_file(const char *path, int port);

#endif
