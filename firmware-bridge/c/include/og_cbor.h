/* og_cbor.h — the CBOR subset of the firmware-bridge messages (PROTOCOL.md §4.1).
 *
 * A writer appends items to a caller's buffer; a reader walks items in place
 * (nothing is copied, nothing allocated). og_cbor_check validates a whole body
 * against the decoding limits of §4.1 before anything reads it; after that the
 * getters cannot run past the end.
 */
#ifndef OG_CBOR_H
#define OG_CBOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decoding limits, PROTOCOL.md §4.1 and §13. */
#define OG_CBOR_MAX_DEPTH 8
#define OG_CBOR_MAX_ARRAY 256
#define OG_CBOR_MAX_MAP 64
#define OG_CBOR_DATA_DEPTH 4

/* A writer: p advances as items are appended; err is set (and nothing more is
 * written) when the buffer is too small. */
typedef struct og_cbor_wr {
	uint8_t *p;
	uint8_t *end;
	int err;
} og_cbor_wr;

void og_cbor_wr_init(og_cbor_wr *w, uint8_t *buf, size_t cap);
void og_cbor_uint(og_cbor_wr *w, uint64_t v);
void og_cbor_int(og_cbor_wr *w, int64_t v);
void og_cbor_bytes(og_cbor_wr *w, const uint8_t *b, size_t n);
void og_cbor_text(og_cbor_wr *w, const char *s, size_t n);
void og_cbor_textz(og_cbor_wr *w, const char *s); /* NUL-terminated */
void og_cbor_map(og_cbor_wr *w, size_t pairs);
void og_cbor_array(og_cbor_wr *w, size_t n);
void og_cbor_bool(og_cbor_wr *w, int v);
void og_cbor_null(og_cbor_wr *w);
/* Appends n bytes that are already CBOR (a data map built elsewhere). */
void og_cbor_raw(og_cbor_wr *w, const uint8_t *b, size_t n);

/* Why a body fails §4.1. */
enum {
	OG_CBOR_OK = 0,
	OG_CBOR_ETRUNC = -1,   /* runs past the end */
	OG_CBOR_EINDEF = -2,   /* indefinite length or reserved additional info */
	OG_CBOR_ETAG = -3,     /* a tag */
	OG_CBOR_EDEPTH = -4,   /* nested deeper than 8 */
	OG_CBOR_ESIZE = -5,    /* array > 256 or map > 64 from its header */
	OG_CBOR_EUTF8 = -6,    /* invalid UTF-8 in a text string */
	OG_CBOR_EDUP = -7,     /* duplicate map key */
	OG_CBOR_ETRAIL = -8,   /* bytes after the body map */
	OG_CBOR_ESIMPLE = -9,  /* undefined, other simple values, non-finite float */
	OG_CBOR_ENOTMAP = -10, /* the body is not a map */
	OG_CBOR_ETYPE = -11,   /* a field of the wrong type or out of range */
	OG_CBOR_EDATA = -12    /* a data map: non-text key, key size, deeper than 4 */
};

/* og_cbor_check validates a message body: one map, definite lengths, no tags,
 * the size and depth limits, valid UTF-8, no duplicate keys at any depth, no
 * trailing bytes. An empty body (n == 0) is the empty map. */
int og_cbor_check(const uint8_t *body, size_t n);

/* og_cbor_head reads one item head at *p (advancing it): major type, the
 * additional info and the argument (a length, a count or a value). */
int og_cbor_head(const uint8_t **p, const uint8_t *end, uint8_t *major, uint8_t *ai, uint64_t *arg);

/* og_cbor_skip returns the first byte after the (checked) item at p. */
const uint8_t *og_cbor_skip(const uint8_t *p, const uint8_t *end);

/* og_cbor_index walks a checked body map and sets vals[k] to the value of
 * unsigned key k for k < nkeys (NULL when absent). Other keys are ignored
 * (must-ignore, §4.1). */
void og_cbor_index(const uint8_t *body, size_t n, const uint8_t **vals, unsigned nkeys);

/* Getters on a checked item. Each returns 0, or OG_CBOR_ETYPE when the item
 * has another type or is out of range. A NULL item (absent key) reads as the
 * zero value, as §4.1 says. */
int og_cbor_get_uint(const uint8_t *p, uint64_t max, uint64_t *v);
int og_cbor_get_int(const uint8_t *p, int64_t *v);
int og_cbor_get_bool(const uint8_t *p, int *v);
int og_cbor_get_bytes(const uint8_t *p, const uint8_t **b, size_t *n);
/* og_cbor_get_text also refuses control characters (Cc, §4.1) and a length
 * outside [minlen, maxlen]. */
int og_cbor_get_text(const uint8_t *p, size_t minlen, size_t maxlen, const uint8_t **s, size_t *n);
/* og_cbor_check_data checks a free-form data map (§4.1): text keys of 1..64
 * bytes, at most 4 levels of maps and arrays; end bounds its body. */
int og_cbor_check_data(const uint8_t *p, const uint8_t *end);

#ifdef __cplusplus
}
#endif
#endif
