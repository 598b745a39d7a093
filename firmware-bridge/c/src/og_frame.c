/* og_frame.c — COBS (PROTOCOL.md §2.1), CRC-32C (§2.2), the frame layout
 * (§2.2, §2.6) and its tag (§2.5). */
#include <string.h>

#include "og_crypto.h"
#include "og_internal.h"

/* CRC-32C, reflected polynomial 0x82F63B78, four bits at a time: a 64-byte
 * table instead of 1 KiB, about 4× slower than bytewise, still far faster
 * than the UART. */
uint32_t og_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	static const uint32_t t[16] = {0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
	                               0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
	                               0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75};
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return ~crc;
}

/* og_cobs_decode decodes in place (the output is never longer than the
 * input): a code byte c is followed by c - 1 data bytes, then a zero unless
 * c is 0xFF or the input ends. A 0x00 anywhere, or a block running past the
 * end, is an error. */
size_t og_cobs_decode(uint8_t *buf, size_t n)
{
	size_t i = 0, o = 0;
	while (i < n) {
		uint8_t c = buf[i++];
		size_t k;
		if (c == 0 || (size_t)(c - 1) > n - i)
			return (size_t)-1;
		for (k = 1; k < c; k++) {
			if (buf[i] == 0)
				return (size_t)-1;
			buf[o++] = buf[i++];
		}
		if (c < 0xff && i < n)
			buf[o++] = 0;
	}
	return o;
}

/* og_cobs_encode writes each block as its code byte and then the bytes of
 * src it stands for, so no output buffer is needed. Canonical: a 0xFF block
 * that ends the input is not followed by an empty block. */
void og_cobs_encode(const uint8_t *src, size_t n, void (*write)(void *ctx, const uint8_t *b, size_t n), void *ctx)
{
	size_t start = 0;
	for (;;) {
		size_t run = 0;
		uint8_t code;
		while (start + run < n && src[start + run] != 0 && run < 254)
			run++;
		code = (uint8_t)(run + 1);
		write(ctx, &code, 1);
		if (run)
			write(ctx, src + start, run);
		start += run;
		if (run == 254) {
			if (start == n)
				return;
			continue;
		}
		if (start == n)
			return;
		start++; /* the zero this block stands for */
	}
}

int og_frame_parse(const uint8_t *f, size_t n, og_header *h)
{
	/* §2.6 steps 3–6, in order: the first that fails decides. */
	if (n > OG_FRAME_MAX)
		return OG_DROP_OVERSIZE;
	if (n < OG_HEADER + 4)
		return OG_DROP_SHORT;
	if (og_rd32(f + n - 4) != og_crc32c(0, f, n - 4))
		return OG_DROP_BAD_CRC;
	if (f[0] != 1)
		return OG_DROP_BAD_VERSION;
	h->type = f[1];
	h->flags = f[2];
	h->seq = og_rd32(f + 3);
	h->ack = og_rd32(f + 7);
	h->len = og_rd16(f + 11);
	if ((size_t)OG_HEADER + h->len + ((h->flags & OG_FLAG_AUTH) ? OG_TAGGED : 0) + 4 != n)
		return OG_DROP_BAD_LENGTH;
	return -1;
}

#if OG_WITH_AUTH
void og_frame_tag(const uint8_t key[32], uint32_t dev_boot, uint32_t gw_boot, const uint8_t *f, size_t n,
                  uint8_t t[16])
{
	og_hmac h;
	uint8_t c[8], full[32];
	og_be32(c, dev_boot);
	/* HELLO, WELCOME and CLOSE use the handshake context (device boot, 0). */
	og_be32(c + 4, f[1] == OG_HELLO || f[1] == OG_WELCOME || f[1] == OG_CLOSE ? 0 : gw_boot);
	og_hmac_init(&h, key, 32);
	og_hmac_update(&h, c, 8);
	og_hmac_update(&h, f, n);
	og_hmac_final(&h, full);
	memcpy(t, full, 16);
}
#endif

size_t og_frame_seal(uint8_t *f, size_t body_len, const uint8_t *key, uint16_t epoch, uint32_t dev_boot,
                     uint32_t gw_boot)
{
	size_t len = OG_HEADER + body_len;
	og_be16(f + 11, (uint16_t)body_len);
	f[0] = 1;
#if OG_WITH_AUTH
	if (key) {
		f[2] |= OG_FLAG_AUTH;
		og_be16(f + len, epoch);
		og_frame_tag(key, dev_boot, gw_boot, f, len + 2, f + len + 2);
		len += OG_TAGGED;
	}
#else
	(void)key, (void)epoch, (void)dev_boot, (void)gw_boot;
#endif
	og_be32(f + len, og_crc32c(0, f, len));
	return len + 4;
}
