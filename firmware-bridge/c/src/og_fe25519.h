/* og_fe25519.h — arithmetic modulo 2^255 - 19 for X25519 and Ed25519
 * (internal). An element is 16 limbs of 16 bits held in int64 so products
 * and carries need no special cases (the layout of TweetNaCl, public
 * domain). */
#ifndef OG_FE25519_H
#define OG_FE25519_H

#include <stdint.h>

typedef int64_t og_fe[16];

void og_fe_set(og_fe r, const og_fe a);
void og_fe_add(og_fe o, const og_fe a, const og_fe b);
void og_fe_sub(og_fe o, const og_fe a, const og_fe b);
void og_fe_mul(og_fe o, const og_fe a, const og_fe b);
void og_fe_sq(og_fe o, const og_fe a);
void og_fe_inv(og_fe o, const og_fe i);
void og_fe_pow2523(og_fe o, const og_fe i);
void og_fe_sel(og_fe p, og_fe q, int b); /* swap p and q if b, in constant time */
void og_fe_pack(uint8_t o[32], const og_fe n);
void og_fe_unpack(og_fe o, const uint8_t n[32]);

#endif
