/* og_x25519.c — X25519 (RFC 7748 §5): the Montgomery ladder in constant
 * time. */
#include "og_crypto.h"
#include "og_fe25519.h"

void og_x25519(uint8_t q[32], const uint8_t n[32], const uint8_t *p)
{
	static const og_fe a24 = {0xDB41, 1}; /* 121665 */
	static const uint8_t nine[32] = {9};
	uint8_t z[32];
	og_fe x, a, b, c, d, e, f;
	int i, r;
	for (i = 0; i < 31; i++)
		z[i] = n[i];
	z[31] = (uint8_t)((n[31] & 127) | 64); /* clamp, RFC 7748 §5 */
	z[0] &= 248;
	og_fe_unpack(x, p ? p : nine);
	for (i = 0; i < 16; i++) {
		b[i] = x[i];
		d[i] = a[i] = c[i] = 0;
	}
	a[0] = d[0] = 1;
	for (i = 254; i >= 0; --i) {
		r = (z[i >> 3] >> (i & 7)) & 1;
		og_fe_sel(a, b, r);
		og_fe_sel(c, d, r);
		og_fe_add(e, a, c);
		og_fe_sub(a, a, c);
		og_fe_add(c, b, d);
		og_fe_sub(b, b, d);
		og_fe_sq(d, e);
		og_fe_sq(f, a);
		og_fe_mul(a, c, a);
		og_fe_mul(c, b, e);
		og_fe_add(e, a, c);
		og_fe_sub(a, a, c);
		og_fe_sq(b, a);
		og_fe_sub(c, d, f);
		og_fe_mul(a, c, a24);
		og_fe_add(a, a, d);
		og_fe_mul(c, c, a);
		og_fe_mul(a, d, f);
		og_fe_mul(d, b, x);
		og_fe_sq(b, e);
		og_fe_sel(a, b, r);
		og_fe_sel(c, d, r);
	}
	og_fe_inv(c, c);
	og_fe_mul(a, a, c);
	og_fe_pack(q, a);
}
