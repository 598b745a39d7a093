/* fuzz_cbor.c — libFuzzer target: the CBOR checker on arbitrary bodies, and
 * on what it accepts, the walkers and getters that trust it. */
#include <stdint.h>
#include <string.h>

#include "og_cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *v[24], *s;
	uint64_t u;
	int64_t i;
	int b;
	size_t n;
	unsigned k;
	uint8_t out[2048];
	og_cbor_wr w;
	if (og_cbor_check(data, size) != 0)
		return 0;
	og_cbor_index(data, size, v, 24);
	for (k = 0; k < 24; k++) {
		if (!v[k])
			continue;
		if (og_cbor_skip(v[k], data + size) > data + size)
			__builtin_trap();
		og_cbor_get_uint(v[k], UINT64_MAX, &u);
		og_cbor_get_int(v[k], &i);
		og_cbor_get_bool(v[k], &b);
		if (og_cbor_get_bytes(v[k], &s, &n) == 0 && s + n > data + size)
			__builtin_trap();
		if (og_cbor_get_text(v[k], 0, 1024, &s, &n) == 0 && s + n > data + size)
			__builtin_trap();
		og_cbor_check_data(v[k], data + size);
	}
	/* The writer never runs past its buffer. */
	og_cbor_wr_init(&w, out, size < sizeof out ? size : sizeof out);
	og_cbor_raw(&w, data, size);
	og_cbor_text(&w, (const char *)data, size);
	if (w.p > out + sizeof out)
		__builtin_trap();
	return 0;
}
