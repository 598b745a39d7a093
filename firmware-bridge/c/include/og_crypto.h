/* og_crypto.h — the primitives the link needs: SHA-256, HMAC-SHA256 and
 * HKDF-SHA256 (FIPS 180-4, RFC 2104, RFC 5869), X25519 (RFC 7748) and Ed25519
 * verification with SHA-512 (RFC 8032). Small, constant-time where a secret
 * is involved, no tables, no heap. The curve arithmetic follows the structure
 * of TweetNaCl (public domain): 16 limbs of 16 bits in int64. */
#ifndef OG_CRYPTO_H
#define OG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct og_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
} og_sha256;

void og_sha256_init(og_sha256 *s);
void og_sha256_update(og_sha256 *s, const void *p, size_t n);
void og_sha256_final(og_sha256 *s, uint8_t out[32]);
void og_sha256_once(const void *p, size_t n, uint8_t out[32]);

typedef struct og_hmac {
	og_sha256 in;
	uint8_t okey[64];
} og_hmac;

void og_hmac_init(og_hmac *h, const uint8_t *key, size_t keylen);
void og_hmac_update(og_hmac *h, const void *p, size_t n);
void og_hmac_final(og_hmac *h, uint8_t out[32]);

/* og_hkdf derives L ≤ 32 bytes (all the link needs). */
void og_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const uint8_t *info,
             size_t infolen, uint8_t *out, size_t L);

/* og_x25519 computes q = X25519(n, p); p NULL is the base point 9. */
void og_x25519(uint8_t q[32], const uint8_t n[32], const uint8_t *p);

/* og_ed25519_verify returns 0 when sig is pk's signature of msg. */
int og_ed25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t n, const uint8_t pk[32]);

/* og_ct_equal compares n bytes in constant time: 1 if equal. */
int og_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif
