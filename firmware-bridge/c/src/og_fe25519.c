/* og_fe25519.c — field arithmetic modulo 2^255 - 19 (see og_fe25519.h). */
#include "og_fe25519.h"

/* carry normalises every limb to 16 bits, folding the top carry back in
 * times 38 (2^256 = 38 mod p). Multiplication, not shifts, moves signed
 * values: a left shift of a negative value is undefined in C. */
static void carry(og_fe o)
{
	int i;
	int64_t c;
	for (i = 0; i < 16; i++) {
		o[i] += (int64_t)1 << 16;
		c = o[i] >> 16; /* arithmetic shift on every compiler we target */
		if (i < 15)
			o[i + 1] += c - 1;
		else
			o[0] += 38 * (c - 1);
		o[i] -= c * 65536;
	}
}

void og_fe_set(og_fe r, const og_fe a)
{
	int i;
	for (i = 0; i < 16; i++)
		r[i] = a[i];
}

void og_fe_add(og_fe o, const og_fe a, const og_fe b)
{
	int i;
	for (i = 0; i < 16; i++)
		o[i] = a[i] + b[i];
}

void og_fe_sub(og_fe o, const og_fe a, const og_fe b)
{
	int i;
	for (i = 0; i < 16; i++)
		o[i] = a[i] - b[i];
}

void og_fe_mul(og_fe o, const og_fe a, const og_fe b)
{
	int64_t t[31];
	int i, j;
	for (i = 0; i < 31; i++)
		t[i] = 0;
	for (i = 0; i < 16; i++)
		for (j = 0; j < 16; j++)
			t[i + j] += a[i] * b[j];
	for (i = 0; i < 15; i++)
		t[i] += 38 * t[i + 16];
	for (i = 0; i < 16; i++)
		o[i] = t[i];
	carry(o);
	carry(o);
}

void og_fe_sq(og_fe o, const og_fe a) { og_fe_mul(o, a, a); }

void og_fe_inv(og_fe o, const og_fe in)
{
	og_fe c;
	int a;
	og_fe_set(c, in);
	/* in^(p-2), p - 2 = 2^255 - 21: every bit set but bits 2 and 4. */
	for (a = 253; a >= 0; a--) {
		og_fe_sq(c, c);
		if (a != 2 && a != 4)
			og_fe_mul(c, c, in);
	}
	og_fe_set(o, c);
}

void og_fe_pow2523(og_fe o, const og_fe in)
{
	og_fe c;
	int a;
	og_fe_set(c, in);
	/* in^((p-5)/8) = in^(2^252 - 3). */
	for (a = 250; a >= 0; a--) {
		og_fe_sq(c, c);
		if (a != 1)
			og_fe_mul(c, c, in);
	}
	og_fe_set(o, c);
}

void og_fe_sel(og_fe p, og_fe q, int b)
{
	int64_t t, c = ~((int64_t)b - 1);
	int i;
	for (i = 0; i < 16; i++) {
		t = c & (p[i] ^ q[i]);
		p[i] ^= t;
		q[i] ^= t;
	}
}

void og_fe_pack(uint8_t o[32], const og_fe n)
{
	int i, j, b;
	og_fe m, t;
	og_fe_set(t, n);
	carry(t);
	carry(t);
	carry(t);
	/* Subtract p at most twice, keeping the result when it does not
	 * borrow. */
	for (j = 0; j < 2; j++) {
		m[0] = t[0] - 0xffed;
		for (i = 1; i < 15; i++) {
			m[i] = t[i] - 0xffff - ((m[i - 1] >> 16) & 1);
			m[i - 1] &= 0xffff;
		}
		m[15] = t[15] - 0x7fff - ((m[14] >> 16) & 1);
		b = (int)((m[15] >> 16) & 1);
		m[14] &= 0xffff;
		og_fe_sel(t, m, 1 - b);
	}
	for (i = 0; i < 16; i++) {
		o[2 * i] = (uint8_t)(t[i] & 0xff);
		o[2 * i + 1] = (uint8_t)((t[i] >> 8) & 0xff);
	}
}

void og_fe_unpack(og_fe o, const uint8_t n[32])
{
	int i;
	for (i = 0; i < 16; i++)
		o[i] = n[2 * i] + ((int64_t)n[2 * i + 1] << 8);
	o[15] &= 0x7fff;
}
