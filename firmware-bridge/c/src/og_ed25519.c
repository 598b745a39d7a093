/* og_ed25519.c — Ed25519 signature verification (RFC 8032 §5.1.7) with
 * SHA-512 (FIPS 180-4). Verification handles only public data, so it need
 * not be constant time. Signatures with S ≥ L are refused (malleability). */
#include <string.h>

#include "og_crypto.h"
#include "og_fe25519.h"

/* ---- SHA-512 ---- */

typedef struct {
	uint64_t h[8];
	uint64_t len;
	uint8_t buf[128];
} sha512;

static const uint64_t K512[80] = {
	0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull, 0x3956c25bf348b538ull,
	0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull, 0xd807aa98a3030242ull, 0x12835b0145706fbeull,
	0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull, 0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull,
	0xc19bf174cf692694ull, 0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
	0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull, 0x983e5152ee66dfabull,
	0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull, 0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull,
	0x06ca6351e003826full, 0x142929670a0e6e70ull, 0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull,
	0x53380d139d95b3dfull, 0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
	0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull, 0xd192e819d6ef5218ull,
	0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull, 0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull,
	0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull, 0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull,
	0x682e6ff3d6b2b8a3ull, 0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
	0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull, 0xca273eceea26619cull,
	0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull, 0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull,
	0x113f9804bef90daeull, 0x1b710b35131c471bull, 0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull,
	0x431d67c49c100d4cull, 0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull};

#define ROR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static void block512(sha512 *s, const uint8_t *p)
{
	uint64_t w[16], v[8], t1, t2;
	int i, j;
	for (i = 0; i < 16; i++) {
		w[i] = 0;
		for (j = 0; j < 8; j++)
			w[i] = w[i] << 8 | p[8 * i + j];
	}
	for (i = 0; i < 8; i++)
		v[i] = s->h[i];
	for (i = 0; i < 80; i++) {
		if (i >= 16) {
			uint64_t w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
			w[i & 15] += (ROR64(w15, 1) ^ ROR64(w15, 8) ^ (w15 >> 7)) + w[(i - 7) & 15] +
			             (ROR64(w2, 19) ^ ROR64(w2, 61) ^ (w2 >> 6));
		}
		t1 = v[7] + (ROR64(v[4], 14) ^ ROR64(v[4], 18) ^ ROR64(v[4], 41)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K512[i] +
		     w[i & 15];
		t2 = (ROR64(v[0], 28) ^ ROR64(v[0], 34) ^ ROR64(v[0], 39)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		for (j = 7; j > 0; j--)
			v[j] = v[j - 1];
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		s->h[i] += v[i];
}

static void sha512_init(sha512 *s)
{
	static const uint64_t iv[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
	                               0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
	                               0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
}

static void sha512_update(sha512 *s, const uint8_t *p, size_t n)
{
	while (n) {
		size_t off = (size_t)(s->len & 127), k = 128 - off;
		if (k > n)
			k = n;
		memcpy(s->buf + off, p, k);
		s->len += k;
		p += k;
		n -= k;
		if ((s->len & 127) == 0)
			block512(s, s->buf);
	}
}

static void sha512_final(sha512 *s, uint8_t out[64])
{
	uint64_t bits = s->len * 8;
	uint8_t pad = 0x80, z = 0, l[16];
	int i;
	sha512_update(s, &pad, 1);
	while ((s->len & 127) != 112)
		sha512_update(s, &z, 1);
	for (i = 0; i < 16; i++)
		l[i] = i < 8 ? 0 : (uint8_t)(bits >> (120 - 8 * i));
	sha512_update(s, l, 16);
	for (i = 0; i < 64; i++)
		out[i] = (uint8_t)(s->h[i / 8] >> (56 - 8 * (i % 8)));
}

/* ---- the curve ---- */

static const og_fe gf0 = {0}, gf1 = {1},
                   D = {0x78a3, 0x1359, 0x4dca, 0x75eb, 0xd8ab, 0x4141, 0x0a4d, 0x0070,
                        0xe898, 0x7779, 0x4079, 0x8cc7, 0xfe73, 0x2b6f, 0x6cee, 0x5203},
                   D2 = {0xf159, 0x26b2, 0x9b94, 0xebd6, 0xb156, 0x8283, 0x149a, 0x00e0,
                         0xd130, 0xeef3, 0x80f2, 0x198e, 0xfce7, 0x56df, 0xd9dc, 0x2406},
                   BX = {0xd51a, 0x8f25, 0x2d60, 0xc956, 0xa7b2, 0x9525, 0xc760, 0x692c,
                         0xdc5c, 0xfdd6, 0xe231, 0xc0a4, 0x53fe, 0xcd6e, 0x36d3, 0x2169},
                   BY = {0x6658, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666,
                         0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666, 0x6666},
                   SQRTM1 = {0xa0b0, 0x4a0e, 0x1b27, 0xc4ee, 0xe478, 0xad2f, 0x1806, 0x2f43,
                             0xd7a7, 0x3dfb, 0x0099, 0x2b4d, 0xdf0b, 0x4fc1, 0x2480, 0x2b83};

/* The group order L, little-endian. */
static const int64_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                              0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                              0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

/* Points in extended coordinates (X, Y, Z, T). */
static void padd(og_fe p[4], og_fe q[4])
{
	og_fe a, b, c, d, t, e, f, g, h;
	og_fe_sub(a, p[1], p[0]);
	og_fe_sub(t, q[1], q[0]);
	og_fe_mul(a, a, t);
	og_fe_add(b, p[0], p[1]);
	og_fe_add(t, q[0], q[1]);
	og_fe_mul(b, b, t);
	og_fe_mul(c, p[3], q[3]);
	og_fe_mul(c, c, D2);
	og_fe_mul(d, p[2], q[2]);
	og_fe_add(d, d, d);
	og_fe_sub(e, b, a);
	og_fe_sub(f, d, c);
	og_fe_add(g, d, c);
	og_fe_add(h, b, a);
	og_fe_mul(p[0], e, f);
	og_fe_mul(p[1], h, g);
	og_fe_mul(p[2], g, f);
	og_fe_mul(p[3], e, h);
}

static void pcswap(og_fe p[4], og_fe q[4], int b)
{
	int i;
	for (i = 0; i < 4; i++)
		og_fe_sel(p[i], q[i], b);
}

static int parity(const og_fe a)
{
	uint8_t d[32];
	og_fe_pack(d, a);
	return d[0] & 1;
}

static int fe_equal(const og_fe a, const og_fe b)
{
	uint8_t c[32], d[32];
	og_fe_pack(c, a);
	og_fe_pack(d, b);
	return og_ct_equal(c, d, 32);
}

static void ppack(uint8_t r[32], og_fe p[4])
{
	og_fe tx, ty, zi;
	og_fe_inv(zi, p[2]);
	og_fe_mul(tx, p[0], zi);
	og_fe_mul(ty, p[1], zi);
	og_fe_pack(r, ty);
	r[31] ^= (uint8_t)(parity(tx) << 7);
}

static void scalarmult(og_fe p[4], og_fe q[4], const uint8_t s[32])
{
	int i;
	og_fe_set(p[0], gf0);
	og_fe_set(p[1], gf1);
	og_fe_set(p[2], gf1);
	og_fe_set(p[3], gf0);
	for (i = 255; i >= 0; --i) {
		int b = (s[i / 8] >> (i & 7)) & 1;
		pcswap(p, q, b);
		padd(q, p);
		padd(p, p);
		pcswap(p, q, b);
	}
}

static void scalarbase(og_fe p[4], const uint8_t s[32])
{
	og_fe q[4];
	og_fe_set(q[0], BX);
	og_fe_set(q[1], BY);
	og_fe_set(q[2], gf1);
	og_fe_mul(q[3], BX, BY);
	scalarmult(p, q, s);
}

/* modL reduces the 64-byte little-endian x modulo L into r. */
static void modL(uint8_t r[32], int64_t x[64])
{
	int64_t c;
	int i, j;
	for (i = 63; i >= 32; --i) {
		c = 0;
		for (j = i - 32; j < i - 12; ++j) {
			x[j] += c - 16 * x[i] * L[j - (i - 32)];
			c = (x[j] + 128) >> 8;
			x[j] -= c * 256;
		}
		x[j] += c;
		x[i] = 0;
	}
	c = 0;
	for (j = 0; j < 32; j++) {
		x[j] += c - (x[31] >> 4) * L[j];
		c = x[j] >> 8;
		x[j] &= 255;
	}
	for (j = 0; j < 32; j++)
		x[j] -= c * L[j];
	for (i = 0; i < 32; i++) {
		x[i + 1] += x[i] >> 8;
		r[i] = (uint8_t)(x[i] & 255);
	}
}

/* unpackneg decodes the point p and negates it: -A, as verification needs. */
static int unpackneg(og_fe r[4], const uint8_t p[32])
{
	og_fe t, chk, num, den, den2, den4, den6;
	og_fe_set(r[2], gf1);
	og_fe_unpack(r[1], p);
	og_fe_sq(num, r[1]);
	og_fe_mul(den, num, D);
	og_fe_sub(num, num, r[2]);
	og_fe_add(den, r[2], den);
	og_fe_sq(den2, den);
	og_fe_sq(den4, den2);
	og_fe_mul(den6, den4, den2);
	og_fe_mul(t, den6, num);
	og_fe_mul(t, t, den);
	og_fe_pow2523(t, t);
	og_fe_mul(t, t, num);
	og_fe_mul(t, t, den);
	og_fe_mul(t, t, den);
	og_fe_mul(r[0], t, den);
	og_fe_sq(chk, r[0]);
	og_fe_mul(chk, chk, den);
	if (!fe_equal(chk, num))
		og_fe_mul(r[0], r[0], SQRTM1);
	og_fe_sq(chk, r[0]);
	og_fe_mul(chk, chk, den);
	if (!fe_equal(chk, num))
		return -1;
	if (parity(r[0]) == (p[31] >> 7))
		og_fe_sub(r[0], gf0, r[0]);
	og_fe_mul(r[3], r[0], r[1]);
	return 0;
}

/* s_canonical: S < L. */
static int s_canonical(const uint8_t s[32])
{
	int i;
	for (i = 31; i >= 0; i--) {
		if (s[i] < L[i])
			return 1;
		if (s[i] > L[i])
			return 0;
	}
	return 0;
}

int og_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t n, const uint8_t pk[32])
{
	sha512 hs;
	uint8_t h[64], t[32];
	int64_t x[64];
	og_fe p[4], q[4];
	int i;
	if (!s_canonical(sig + 32) || unpackneg(q, pk))
		return -1;
	sha512_init(&hs);
	sha512_update(&hs, sig, 32);
	sha512_update(&hs, pk, 32);
	sha512_update(&hs, msg, n);
	sha512_final(&hs, h);
	for (i = 0; i < 64; i++)
		x[i] = h[i];
	modL(h, x);
	scalarmult(p, q, h); /* [h](-A) */
	scalarbase(q, sig + 32); /* [S]B */
	padd(p, q);
	ppack(t, p);
	return og_ct_equal(sig, t, 32) ? 0 : -1;
}
