/* og_sha256.c — SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), HKDF (RFC 5869). */
#include "og_crypto.h"

#include <string.h>

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(og_sha256 *s, const uint8_t *p)
{
	uint32_t w[16], a, b, c, d, e, f, g, h, t1, t2;
	int i;
	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (i = 0; i < 64; i++) {
		if (i >= 16) {
			uint32_t w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
			w[i & 15] += (ROR(w15, 7) ^ ROR(w15, 18) ^ (w15 >> 3)) + w[(i - 7) & 15] +
			             (ROR(w2, 17) ^ ROR(w2, 19) ^ (w2 >> 10));
		}
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i & 15];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

void og_sha256_init(og_sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
}

void og_sha256_update(og_sha256 *s, const void *pv, size_t n)
{
	const uint8_t *p = pv;
	while (n) {
		size_t off = (size_t)(s->len & 63), k = 64 - off;
		if (k > n)
			k = n;
		memcpy(s->buf + off, p, k);
		s->len += k;
		p += k;
		n -= k;
		if ((s->len & 63) == 0)
			block(s, s->buf);
	}
}

void og_sha256_final(og_sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->len * 8;
	uint8_t pad = 0x80, z = 0, l[8];
	int i;
	og_sha256_update(s, &pad, 1);
	while ((s->len & 63) != 56)
		og_sha256_update(s, &z, 1);
	for (i = 0; i < 8; i++)
		l[i] = (uint8_t)(bits >> (56 - 8 * i));
	og_sha256_update(s, l, 8);
	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

void og_sha256_once(const void *p, size_t n, uint8_t out[32])
{
	og_sha256 s;
	og_sha256_init(&s);
	og_sha256_update(&s, p, n);
	og_sha256_final(&s, out);
}

void og_hmac_init(og_hmac *h, const uint8_t *key, size_t keylen)
{
	uint8_t k[64];
	int i;
	memset(k, 0, sizeof k);
	if (keylen > 64)
		og_sha256_once(key, keylen, k);
	else
		memcpy(k, key, keylen);
	for (i = 0; i < 64; i++) {
		h->okey[i] = k[i] ^ 0x5c;
		k[i] ^= 0x36;
	}
	og_sha256_init(&h->in);
	og_sha256_update(&h->in, k, 64);
}

void og_hmac_update(og_hmac *h, const void *p, size_t n) { og_sha256_update(&h->in, p, n); }

void og_hmac_final(og_hmac *h, uint8_t out[32])
{
	uint8_t inner[32];
	og_sha256_final(&h->in, inner);
	og_sha256_init(&h->in);
	og_sha256_update(&h->in, h->okey, 64);
	og_sha256_update(&h->in, inner, 32);
	og_sha256_final(&h->in, out);
}

void og_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const uint8_t *info,
             size_t infolen, uint8_t *out, size_t L)
{
	og_hmac h;
	uint8_t prk[32], t[32], one = 1;
	og_hmac_init(&h, salt, saltlen);
	og_hmac_update(&h, ikm, ikmlen);
	og_hmac_final(&h, prk);
	/* T(1) = HMAC(PRK, info ‖ 0x01): one block is all L ≤ 32 needs. */
	og_hmac_init(&h, prk, 32);
	og_hmac_update(&h, info, infolen);
	og_hmac_update(&h, &one, 1);
	og_hmac_final(&h, t);
	memcpy(out, t, L > 32 ? 32 : L);
}

int og_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;
	size_t i;
	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}
