/* crypto_test.c — the primitives against their published vectors (RFC 7748
 * §5.2/§6.1, RFC 8032 §7.1, FIPS 180-4, RFC 4231) and PROTOCOL.md's worked
 * examples (§6.7 link key, the FW_OFFER signature of testvectors.txt). */
#include <stdio.h>
#include <string.h>

#include "og_crypto.h"

static int fails;

static void unhex(const char *h, uint8_t *o)
{
	while (h[0] && h[1]) {
		unsigned v;
		sscanf(h, "%2x", &v);
		*o++ = (uint8_t)v;
		h += 2;
	}
}

static void expect(const char *what, const uint8_t *got, const char *hex)
{
	uint8_t want[64];
	size_t n = strlen(hex) / 2;
	unhex(hex, want);
	if (memcmp(got, want, n) != 0) {
		size_t i;
		printf("FAIL %s: got ", what);
		for (i = 0; i < n; i++)
			printf("%02x", got[i]);
		printf("\n");
		fails++;
	}
}

int main(void)
{
	uint8_t a[32], b[32], out[64], z[32], key[32];
	og_hmac h;
	og_sha256_once("abc", 3, out);
	expect("sha256 abc", out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	og_sha256_once("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	expect("sha256 2 blocks", out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* RFC 4231 test case 2. */
	og_hmac_init(&h, (const uint8_t *)"Jefe", 4);
	og_hmac_update(&h, "what do ya want for nothing?", 28);
	og_hmac_final(&h, out);
	expect("hmac rfc4231-2", out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 7748 §5.2 first vector. */
	unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", a);
	unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", b);
	og_x25519(out, a, b);
	expect("x25519 rfc7748 5.2", out, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	/* RFC 7748 §6.1: Alice and Bob, and PROTOCOL.md §6.7's link key. */
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a);
	og_x25519(out, a, NULL);
	expect("x25519 alice public", out, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b);
	og_x25519(z, a, b);
	expect("x25519 shared", z, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	{
		uint8_t info[24];
		memcpy(info, "officegate link key v1", 22);
		info[22] = 0, info[23] = 1;
		og_hkdf(z, 32, (const uint8_t *)"TERM-0001", 9, info, 24, key, 32);
		expect("link key §6.7", key, "3fbfacecb18503d92f286718b8ab9c01600887a2b7e69683a7602566df4a8a54");
	}
	/* RFC 8032 §7.1 TEST 1 (empty message) and TEST 2. */
	{
		uint8_t pk[32], sig[64], m = 0x72;
		unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk);
		unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", sig);
		if (og_ed25519_verify(sig, NULL, 0, pk) != 0)
			printf("FAIL ed25519 rfc8032 test 1\n"), fails++;
		sig[5] ^= 1;
		if (og_ed25519_verify(sig, NULL, 0, pk) == 0)
			printf("FAIL ed25519 accepted a damaged signature\n"), fails++;
		unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", pk);
		unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", sig);
		if (og_ed25519_verify(sig, &m, 1, pk) != 0)
			printf("FAIL ed25519 rfc8032 test 2\n"), fails++;
	}
	/* The FW_OFFER vector: the 1000-byte image, its hash, the signature by
	 * the test signing key over "officegate/fw/v1" ‖ SHA-256(image). */
	{
		uint8_t img[1000], msg[48], pk[32], sig[64];
		int i;
		for (i = 0; i < 1000; i++)
			img[i] = i < 512 ? (uint8_t)(i % 255 + 1) : 0;
		og_sha256_once(img, sizeof img, out);
		expect("fw image sha", out, "4c2895c0690fec35fc8582960bc9e0f51151bdd4c9c4947939bb27b2f7647d2b");
		memcpy(msg, "officegate/fw/v1", 16);
		memcpy(msg + 16, out, 32);
		unhex("29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7", pk);
		unhex("218ca350f31479889773d76d46382da3db7c4aba318c13a710c22aea79ba69c371d455eeb310aa532b7c284c780481a37ae94205e15a9d8c44da15f1ee86350a", sig);
		if (og_ed25519_verify(sig, msg, 48, pk) != 0)
			printf("FAIL ed25519 fw-offer vector\n"), fails++;
		msg[20] ^= 1;
		if (og_ed25519_verify(sig, msg, 48, pk) == 0)
			printf("FAIL ed25519 accepted another image\n"), fails++;
	}
	printf("crypto: %d passed, %d failed\n", 12 - fails, fails);
	return fails != 0;
}
