/* og_cbor.c — the CBOR subset of PROTOCOL.md §4.1: writer, checker, getters.
 *
 * Our own rather than NanoCBOR or zcbor: the messages use definite-length maps
 * with small integer keys and a handful of scalar types, and the checker must
 * enforce §4.1's limits (duplicate keys at any depth, map/array caps from the
 * header, data depth) that neither library enforces by itself; the whole file
 * compiles to about 1.3 KB of Thumb code. */
#include "og_cbor.h"

#include <string.h>

void og_cbor_wr_init(og_cbor_wr *w, uint8_t *buf, size_t cap)
{
	w->p = buf;
	w->end = buf + cap;
	w->err = 0;
}

static void put(og_cbor_wr *w, const uint8_t *b, size_t n)
{
	if (w->err || (size_t)(w->end - w->p) < n) {
		w->err = 1;
		return;
	}
	if (n)
		memcpy(w->p, b, n);
	w->p += n;
}

/* head writes an item head in its shortest form (RFC 8949 §4.2.1). */
static void head(og_cbor_wr *w, uint8_t major, uint64_t v)
{
	uint8_t b[9];
	size_t n, i;
	major <<= 5;
	if (v < 24) {
		b[0] = (uint8_t)(major | v);
		n = 1;
	} else if (v <= 0xff) {
		b[0] = major | 24;
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = major | 25;
		n = 3;
	} else if (v <= 0xffffffffu) {
		b[0] = major | 26;
		n = 5;
	} else {
		b[0] = major | 27;
		n = 9;
	}
	for (i = n - 1; i >= 1; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	put(w, b, n);
}

void og_cbor_uint(og_cbor_wr *w, uint64_t v) { head(w, 0, v); }
void og_cbor_int(og_cbor_wr *w, int64_t v)
{
	if (v >= 0)
		head(w, 0, (uint64_t)v);
	else
		head(w, 1, (uint64_t)(-(v + 1)));
}
void og_cbor_bytes(og_cbor_wr *w, const uint8_t *b, size_t n)
{
	head(w, 2, n);
	put(w, b, n);
}
void og_cbor_text(og_cbor_wr *w, const char *s, size_t n)
{
	head(w, 3, n);
	put(w, (const uint8_t *)s, n);
}
void og_cbor_textz(og_cbor_wr *w, const char *s) { og_cbor_text(w, s, strlen(s)); }
void og_cbor_array(og_cbor_wr *w, size_t n) { head(w, 4, n); }
void og_cbor_map(og_cbor_wr *w, size_t pairs) { head(w, 5, pairs); }
void og_cbor_bool(og_cbor_wr *w, int v)
{
	uint8_t b = v ? 0xf5 : 0xf4;
	put(w, &b, 1);
}
void og_cbor_null(og_cbor_wr *w)
{
	uint8_t b = 0xf6;
	put(w, &b, 1);
}
void og_cbor_raw(og_cbor_wr *w, const uint8_t *b, size_t n) { put(w, b, n); }

/* ---- reading ---- */

typedef struct {
	const uint8_t *p, *end;
} rd;

/* rhead reads an item head: major type, additional info and argument. */
static int rhead(rd *r, uint8_t *major, uint8_t *ai, uint64_t *arg)
{
	uint8_t b;
	size_t n, i;
	if (r->p >= r->end)
		return OG_CBOR_ETRUNC;
	b = *r->p++;
	*major = b >> 5;
	*ai = b & 31;
	if (*ai < 24) {
		*arg = *ai;
		return 0;
	}
	if (*ai > 27)
		return OG_CBOR_EINDEF; /* 28-30 reserved, 31 indefinite */
	n = (size_t)1 << (*ai - 24);
	if ((size_t)(r->end - r->p) < n)
		return OG_CBOR_ETRUNC;
	*arg = 0;
	for (i = 0; i < n; i++)
		*arg = *arg << 8 | *r->p++;
	return 0;
}

int og_cbor_head(const uint8_t **p, const uint8_t *end, uint8_t *major, uint8_t *ai, uint64_t *arg)
{
	rd r = {*p, end};
	int e = rhead(&r, major, ai, arg);
	*p = r.p;
	return e;
}

static int utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t k, j;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (n - i <= k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* keys_equal compares two checked map keys by value: integers by their
 * value (whatever their encoded width), other keys by their bytes. */
/* Not inlined: check_item recurses 9 deep, keys_equal runs at the leaf. */
static NOINLINE int keys_equal(const uint8_t *a, const uint8_t *b, const uint8_t *end)
{
	rd ra = {a, end}, rb = {b, end};
	uint8_t ma, mb, ia, ib;
	uint64_t va, vb;
	const uint8_t *ea, *eb;
	rhead(&ra, &ma, &ia, &va);
	rhead(&rb, &mb, &ib, &vb);
	if (ma != mb || va != vb)
		return 0;
	if (ma < 2)
		return 1;
	ea = og_cbor_skip(a, end);
	eb = og_cbor_skip(b, end);
	if (ma == 2 || ma == 3)
		return memcmp(ra.p, rb.p, (size_t)va) == 0;
	return ea - a == eb - b && memcmp(a, b, (size_t)(ea - a)) == 0;
}

static int check_item(rd *r, int depth)
{
	uint8_t major, ai;
	uint64_t arg;
	unsigned i, j;
	const uint8_t *start;
	int e = rhead(r, &major, &ai, &arg);
	if (e)
		return e;
	switch (major) {
	case 0:
	case 1:
		return 0;
	case 2:
	case 3:
		if ((uint64_t)(r->end - r->p) < arg)
			return OG_CBOR_ETRUNC;
		if (major == 3 && !utf8_ok(r->p, (size_t)arg))
			return OG_CBOR_EUTF8;
		r->p += arg;
		return 0;
	case 4:
	case 5:
		if (depth >= OG_CBOR_MAX_DEPTH)
			return OG_CBOR_EDEPTH;
		if (arg > (major == 4 ? OG_CBOR_MAX_ARRAY : OG_CBOR_MAX_MAP))
			return OG_CBOR_ESIZE;
		start = r->p;
		for (i = 0; i < (unsigned)arg; i++) {
			const uint8_t *key = r->p, *q = start;
			if ((e = check_item(r, depth + 1)) != 0)
				return e;
			if (major == 4)
				continue;
			/* Every earlier pair is checked, so skipping over it is safe. */
			for (j = 0; j < i; j++) {
				if (keys_equal(q, key, r->end))
					return OG_CBOR_EDUP;
				q = og_cbor_skip(og_cbor_skip(q, r->end), r->end);
			}
			if ((e = check_item(r, depth + 1)) != 0)
				return e;
		}
		return 0;
	case 6:
		return OG_CBOR_ETAG;
	default: /* 7 */
		if (ai == 20 || ai == 21 || ai == 22)
			return 0;
		if (ai == 25) /* half: exponent all ones is inf/NaN */
			return (arg & 0x7c00) == 0x7c00 ? OG_CBOR_ESIMPLE : 0;
		if (ai == 26)
			return (arg & 0x7f800000u) == 0x7f800000u ? OG_CBOR_ESIMPLE : 0;
		if (ai == 27)
			return (arg & 0x7ff0000000000000ull) == 0x7ff0000000000000ull ? OG_CBOR_ESIMPLE : 0;
		return OG_CBOR_ESIMPLE;
	}
}

int og_cbor_check(const uint8_t *body, size_t n)
{
	rd r = {body, body + n};
	int e;
	if (n == 0)
		return 0;
	if (body[0] >> 5 != 5)
		return OG_CBOR_ENOTMAP;
	if ((e = check_item(&r, 0)) != 0)
		return e;
	return r.p == r.end ? 0 : OG_CBOR_ETRAIL;
}

/* og_cbor_skip counts the items still to pass instead of recursing: a
 * container adds its members. Constant stack whatever the nesting. */
const uint8_t *og_cbor_skip(const uint8_t *p, const uint8_t *end)
{
	rd r = {p, end};
	uint8_t major, ai;
	uint64_t arg, todo = 1;
	while (todo--) {
		if (rhead(&r, &major, &ai, &arg))
			return end;
		if (major == 2 || major == 3) {
			if ((uint64_t)(end - r.p) < arg)
				return end;
			r.p += arg;
		} else if (major == 4)
			todo += arg;
		else if (major == 5)
			todo += 2 * arg;
	}
	return r.p;
}

void og_cbor_index(const uint8_t *body, size_t n, const uint8_t **vals, unsigned nkeys)
{
	rd r = {body, body + n};
	uint8_t major, ai;
	uint64_t pairs, i;
	unsigned k;
	for (k = 0; k < nkeys; k++)
		vals[k] = NULL;
	if (n == 0 || rhead(&r, &major, &ai, &pairs))
		return;
	for (i = 0; i < pairs; i++) {
		const uint8_t *key = r.p;
		uint64_t kv;
		r.p = og_cbor_skip(r.p, r.end);
		if (*key >> 5 == 0) {
			rd kr = {key, r.end};
			rhead(&kr, &major, &ai, &kv);
			if (kv < nkeys)
				vals[kv] = r.p;
		}
		r.p = og_cbor_skip(r.p, r.end);
	}
}

/* The getters read items og_cbor_check accepted: a head cannot be
 * truncated, so end is only a bound for rhead. */
#define ANY_END(p) ((p) + 9)

int og_cbor_get_uint(const uint8_t *p, uint64_t max, uint64_t *v)
{
	rd r;
	uint8_t major, ai;
	*v = 0;
	if (!p)
		return 0;
	r.p = p;
	r.end = ANY_END(p);
	rhead(&r, &major, &ai, v);
	if (major != 0 || *v > max)
		return OG_CBOR_ETYPE;
	return 0;
}

int og_cbor_get_int(const uint8_t *p, int64_t *v)
{
	rd r;
	uint8_t major, ai;
	uint64_t a;
	*v = 0;
	if (!p)
		return 0;
	r.p = p;
	r.end = ANY_END(p);
	rhead(&r, &major, &ai, &a);
	if (major > 1 || a > (uint64_t)INT64_MAX)
		return OG_CBOR_ETYPE;
	*v = major == 0 ? (int64_t)a : -1 - (int64_t)a;
	return 0;
}

int og_cbor_get_bool(const uint8_t *p, int *v)
{
	*v = 0;
	if (!p)
		return 0;
	if (*p != 0xf4 && *p != 0xf5)
		return OG_CBOR_ETYPE;
	*v = *p == 0xf5;
	return 0;
}

static int get_str(const uint8_t *p, uint8_t want, const uint8_t **b, size_t *n)
{
	rd r;
	uint8_t major, ai;
	uint64_t a;
	*b = (const uint8_t *)"";
	*n = 0;
	if (!p)
		return 0;
	r.p = p;
	r.end = ANY_END(p);
	rhead(&r, &major, &ai, &a);
	if (major != want)
		return OG_CBOR_ETYPE;
	*b = r.p;
	*n = (size_t)a;
	return 0;
}

int og_cbor_get_bytes(const uint8_t *p, const uint8_t **b, size_t *n) { return get_str(p, 2, b, n); }

int og_cbor_get_text(const uint8_t *p, size_t minlen, size_t maxlen, const uint8_t **s, size_t *n)
{
	size_t i;
	if (get_str(p, 3, s, n) || *n < minlen || *n > maxlen)
		return OG_CBOR_ETYPE;
	for (i = 0; i < *n; i++) {
		uint8_t c = (*s)[i];
		/* Cc: U+0000–U+001F, U+007F, and U+0080–U+009F (C2 80–C2 9F). */
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < *n && (*s)[i + 1] <= 0x9f))
			return OG_CBOR_ETYPE;
	}
	return 0;
}

static int check_data(const uint8_t *p, const uint8_t *end, int level, const uint8_t **next)
{
	rd r = {p, end};
	uint8_t major, ai;
	uint64_t n, i;
	int e;
	rhead(&r, &major, &ai, &n);
	if (major != 4 && major != 5) {
		*next = og_cbor_skip(p, end);
		return 0;
	}
	if (level > OG_CBOR_DATA_DEPTH)
		return OG_CBOR_EDATA;
	for (i = 0; i < n; i++) {
		if (major == 5) {
			if (*r.p >> 5 != 3)
				return OG_CBOR_EDATA;
			{
				rd kr = {r.p, end};
				uint64_t kl;
				rhead(&kr, &major, &ai, &kl);
				major = 5;
				if (kl < 1 || kl > 64)
					return OG_CBOR_EDATA;
			}
			r.p = og_cbor_skip(r.p, end);
		}
		if ((e = check_data(r.p, end, level + 1, &r.p)) != 0)
			return e;
	}
	*next = r.p;
	return 0;
}

int og_cbor_check_data(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *next;
	if (!p)
		return 0;
	if (*p >> 5 != 5)
		return OG_CBOR_EDATA;
	return check_data(p, end, 1, &next);
}
