/* vectors.c — every entry of testvectors.txt (PROTOCOL.md §12) through the C
 * library: the wire bytes through the device's receive path (a frame the
 * device must drop is dropped for the reason the entry names; one it must
 * take is taken, or dropped as an echo if a device sent it), the frame
 * decoded (COBS, header, CRC, tag) and its body checked by §4.1 and
 * re-encoded byte for byte, the frame sealed again and COBS-encoded to the
 * same wire bytes; the COBS entries both ways; and the device's own HELLOs
 * (hello, hello-tagged) produced by og_link from the same identity.
 *
 * usage: vectors testvectors.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "og_link.h"

static int passed, failed;
static char cur[64];

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		if (cond)                                                                                              \
			passed++;                                                                                      \
		else {                                                                                                 \
			failed++;                                                                                      \
			printf("FAIL %s: ", cur);                                                                      \
			printf(__VA_ARGS__);                                                                           \
			printf("\n");                                                                                  \
		}                                                                                                      \
	} while (0)

static const uint8_t test_key[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                     16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
#define TEST_GW_BOOT 0x5eed0001u

/* ---- the file ---- */

typedef struct {
	char name[64], kind[16], expect[32], auth[16];
	unsigned type, flags;
	unsigned long seq, ack;
	uint8_t body[1200], frame[1200], wire[1300], data[1200], encoded[1300];
	size_t nbody, nframe, nwire, ndata, nencoded;
} vec;

static size_t hexbytes(const char *s, uint8_t *o)
{
	size_t n = 0;
	unsigned v;
	int k;
	while (sscanf(s, " %2x%n", &v, &k) == 1) {
		o[n++] = (uint8_t)v;
		s += k;
	}
	return n;
}

static void store(vec *v, const char *field, const char *acc)
{
	char tmp[32];
	if (!strcmp(field, "vector"))
		sscanf(acc, " %63s", v->name);
	else if (!strcmp(field, "kind"))
		sscanf(acc, " %15s", v->kind);
	else if (!strcmp(field, "type"))
		sscanf(acc, " %x", &v->type);
	else if (!strcmp(field, "flags"))
		sscanf(acc, " %x", &v->flags);
	else if (!strcmp(field, "seq"))
		sscanf(acc, " %lu", &v->seq);
	else if (!strcmp(field, "ack"))
		sscanf(acc, " %lu", &v->ack);
	else if (!strcmp(field, "auth"))
		sscanf(acc, " %15s", v->auth);
	else if (!strcmp(field, "expect")) {
		size_t k;
		while (*acc == ' ')
			acc++;
		k = strcspn(acc, "\n");
		if (k >= sizeof tmp)
			k = sizeof tmp - 1;
		memcpy(v->expect, acc, k);
		v->expect[k] = 0;
	} else if (!strcmp(field, "body"))
		v->nbody = hexbytes(acc, v->body);
	else if (!strcmp(field, "frame"))
		v->nframe = hexbytes(acc, v->frame);
	else if (!strcmp(field, "wire"))
		v->nwire = hexbytes(acc, v->wire);
	else if (!strcmp(field, "data"))
		v->ndata = hexbytes(acc, v->data);
	else if (!strcmp(field, "encoded"))
		v->nencoded = hexbytes(acc, v->encoded);
}

/* next_vec reads the next blank-line-separated entry: "field: value" lines,
 * continuation lines starting with white space. */
static int next_vec(FILE *f, vec *v)
{
	static char line[4096], acc[1 << 14];
	char field[16] = "";
	int any = 0;
	memset(v, 0, sizeof *v);
	while (fgets(line, sizeof line, f)) {
		char *colon;
		if (line[0] == '#')
			continue;
		if (line[0] == '\n') {
			if (any)
				break;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (strlen(acc) + strlen(line) < sizeof acc)
				strcat(acc, line);
			continue;
		}
		if (field[0])
			store(v, field, acc);
		field[0] = 0;
		colon = strchr(line, ':');
		if (!colon || colon - line >= (long)sizeof field)
			continue;
		memcpy(field, line, (size_t)(colon - line));
		field[colon - line] = 0;
		strcpy(acc, colon + 1);
		any = 1;
	}
	if (field[0])
		store(v, field, acc);
	return any;
}

/* ---- generic CBOR re-encoding ---- */

static int reencode(const uint8_t **p, const uint8_t *end, og_cbor_wr *w)
{
	uint8_t major, ai;
	uint64_t arg, i;
	const uint8_t *start = *p;
	if (og_cbor_head(p, end, &major, &ai, &arg))
		return -1;
	switch (major) {
	case 0: og_cbor_uint(w, arg); break;
	case 1: og_cbor_int(w, -1 - (int64_t)arg); break;
	case 2: og_cbor_bytes(w, *p, (size_t)arg); *p += arg; break;
	case 3: og_cbor_text(w, (const char *)*p, (size_t)arg); *p += arg; break;
	case 4:
		og_cbor_array(w, (size_t)arg);
		for (i = 0; i < arg; i++)
			if (reencode(p, end, w))
				return -1;
		break;
	case 5:
		og_cbor_map(w, (size_t)arg);
		for (i = 0; i < 2 * arg; i++)
			if (reencode(p, end, w))
				return -1;
		break;
	default: /* simple values and floats: as they are */
		og_cbor_raw(w, start, (size_t)(*p - start));
	}
	return 0;
}

/* ---- §4 field rules the generic check cannot see ---- */

static int typed_ok(unsigned type, const uint8_t *b, size_t n)
{
	const uint8_t *v[20], *s;
	size_t sn;
	og_cbor_index(b, n, v, 20);
	switch (type) {
	case OG_HELLO:
		return !og_cbor_get_text(v[1], 1, 64, &s, &sn) && !og_cbor_get_text(v[2], 1, 64, &s, &sn) &&
		       !og_cbor_get_text(v[4], 1, 32, &s, &sn) && (!v[15] || !og_cbor_get_text(v[15], 1, 32, &s, &sn));
	case OG_WELCOME:
		return !og_cbor_get_text(v[1], 1, 64, &s, &sn);
	case OG_CLOSE:
		return !v[2] || !og_cbor_get_text(v[2], 0, 200, &s, &sn);
	case OG_EVENT:
		return !og_cbor_get_text(v[2], 1, 32, &s, &sn) && !og_cbor_check_data(v[5], b + n);
	case OG_COMMAND:
		return !og_cbor_get_text(v[1], 1, 64, &s, &sn) && !og_cbor_get_text(v[2], 1, 32, &s, &sn) &&
		       !og_cbor_check_data(v[3], b + n);
	case OG_RESULT:
		return !og_cbor_get_text(v[1], 1, 64, &s, &sn) && (!v[3] || !og_cbor_get_text(v[3], 0, 200, &s, &sn)) &&
		       !og_cbor_check_data(v[4], b + n);
	case OG_CONFIG_STATUS:
	case OG_FW_STATUS:
		return !v[type == OG_FW_STATUS ? 5 : 4] || !og_cbor_get_text(v[type == OG_FW_STATUS ? 5 : 4], 0, 200, &s, &sn);
	case OG_FW_OFFER:
		return !og_cbor_get_text(v[5], 1, 32, &s, &sn);
	}
	return 1;
}

/* ---- the receive path ---- */

typedef struct {
	uint8_t out[4096];
	size_t n;
	uint8_t recs[4][1100];
	int nrec;
} host;

static void h_write(void *ctx, const uint8_t *b, size_t n)
{
	host *h = ctx;
	if (h->n + n <= sizeof h->out) {
		memcpy(h->out + h->n, b, n);
		h->n += n;
	}
}
static int h_append(void *ctx, const uint8_t *r, size_t n)
{
	(void)ctx, (void)r, (void)n;
	return -1;
}
static int h_peek(void *ctx, uint32_t i, uint8_t *b, size_t cap)
{
	(void)ctx, (void)i, (void)b, (void)cap;
	return -1;
}
static void h_drop(void *ctx, uint32_t n) { (void)ctx, (void)n; }

static uint8_t rxb[OG_RXBUF(1024)], txb[1100], ctlb[2048];

static void new_link(og_link *l, host *h, og_config *c, int keyed)
{
	og_ops o;
	memset(&o, 0, sizeof o);
	memset(h, 0, sizeof *h);
	o.ctx = h;
	o.write = h_write;
	o.store.append = h_append;
	o.store.peek = h_peek;
	o.store.drop = h_drop;
	if (!c->hardware_id) {
		c->hardware_id = "KS-8C1F6440A2B1";
		c->model = "OG-KIOSK-2";
		c->firmware = "1.4.2";
		c->kind = 2;
		c->boot = 7;
		c->caps = 63;
	}
	c->rx = rxb, c->rx_cap = sizeof rxb;
	c->tx = txb, c->tx_cap = sizeof txb;
	c->ctl = ctlb, c->ctl_cap = sizeof ctlb;
	if (keyed) {
		c->key = test_key;
		c->key_epoch = 1;
	}
	if (og_link_init(l, c, &o) != OG_OK) {
		printf("og_link_init failed\n");
		exit(2);
	}
	if (keyed)
		l->gw_boot = TEST_GW_BOOT; /* the session the tagged vectors name */
}

static int reason_of(const char *e)
{
	static const char *names[] = {"oversize", "bad cobs", "short", "bad crc", "bad version", "bad length", "bad mac"};
	int i;
	for (i = 0; i < 7; i++)
		if (!strcmp(e, names[i]))
			return i;
	return -1;
}

static void receive(const vec *v)
{
	og_link l;
	host h;
	og_config c;
	int keyed = !strcmp(v->auth, "test") || !strcmp(v->expect, "bad mac"), why = reason_of(v->expect), i, total = 0;
	memset(&c, 0, sizeof c);
	new_link(&l, &h, &c, keyed);
	og_link_poll(&l, 0, NULL, 0); /* sends its HELLO */
	og_link_poll(&l, 1, v->wire, v->nwire);
	for (i = 0; i < OG_DROP_REASONS; i++)
		total += (int)l.stats.dropped[i];
	if (why >= 0)
		CHECK(l.stats.dropped[why] == 1 && total == 1 && l.stats.frames_in == 0, "receive: want one %s drop",
		      v->expect);
	else if (v->flags & OG_FLAG_FROM_DEVICE)
		CHECK(l.stats.dropped[OG_DROP_ECHO] == 1 && total == 1, "receive: a device's frame is not an echo");
	else {
		CHECK(l.stats.frames_in == 1 && total == 0, "receive: frame not taken (drops %d)", total);
		if (v->type == OG_WELCOME)
			CHECK(og_link_established(&l), "WELCOME did not open the session");
	}
}

/* ---- one vector ---- */

static void frame_vec(const vec *v)
{
	uint8_t f[1300];
	size_t n, m;
	og_header hd;
	int why = reason_of(v->expect);
	receive(v);
	if (why >= 0)
		return; /* the drop is all there is to check */
	memcpy(f, v->wire, v->nwire - 1);
	n = og_cobs_decode(f, v->nwire - 1);
	CHECK(n == v->nframe && !memcmp(f, v->frame, n), "COBS decoding differs from frame");
	CHECK(og_frame_parse(f, n, &hd) == -1, "frame refused");
	CHECK(hd.type == v->type && hd.flags == v->flags && hd.seq == v->seq && hd.ack == v->ack && hd.len == v->nbody &&
	          !memcmp(f + OG_HEADER, v->body, v->nbody),
	      "header or body differs");
	{
		uint8_t re[1200];
		og_cbor_wr w;
		const uint8_t *p = v->body;
		int ok = og_cbor_check(v->body, v->nbody) == 0 && typed_ok(v->type, v->body, v->nbody);
		CHECK(ok == !strcmp(v->expect, "ok"), "body: §4.1 says %s, the checks say %s", v->expect, ok ? "ok" : "bad");
		if (og_cbor_check(v->body, v->nbody) == 0) {
			og_cbor_wr_init(&w, re, sizeof re);
			if (v->nbody)
				reencode(&p, v->body + v->nbody, &w);
			CHECK(!w.err && (size_t)(w.p - re) == v->nbody && !memcmp(re, v->body, v->nbody),
			      "body re-encodes differently");
		}
	}
	/* Seal the frame again from its header and body. */
	{
		uint8_t g[1300];
		uint32_t dev_boot = 7;
		host h;
		memset(&h, 0, sizeof h);
		memset(g, 0, sizeof g);
		g[1] = (uint8_t)v->type;
		g[2] = (uint8_t)(v->flags & ~OG_FLAG_AUTH);
		g[3] = (uint8_t)(v->seq >> 24), g[4] = (uint8_t)(v->seq >> 16), g[5] = (uint8_t)(v->seq >> 8), g[6] = (uint8_t)v->seq;
		g[7] = (uint8_t)(v->ack >> 24), g[8] = (uint8_t)(v->ack >> 16), g[9] = (uint8_t)(v->ack >> 8), g[10] = (uint8_t)v->ack;
		memcpy(g + OG_HEADER, v->body, v->nbody);
		if (v->type == OG_HELLO) { /* a HELLO's context names the boot in its body */
			const uint8_t *k[6];
			uint64_t b;
			og_cbor_index(v->body, v->nbody, k, 6);
			og_cbor_get_uint(k[5], 0xffffffffu, &b);
			dev_boot = (uint32_t)b;
		}
		m = og_frame_seal(g, v->nbody, !strcmp(v->auth, "test") ? test_key : NULL, 1, dev_boot, TEST_GW_BOOT);
		CHECK(m == v->nframe && !memcmp(g, v->frame, m), "sealed frame differs");
		og_cobs_encode(g, m, h_write, &h);
		h_write(&h, (const uint8_t *)"", 1);
		CHECK(h.n == v->nwire && !memcmp(h.out, v->wire, h.n), "wire bytes differ");
	}
}

static void cobs_vec(const vec *v)
{
	host h;
	uint8_t d[1300];
	size_t n;
	memset(&h, 0, sizeof h);
	og_cobs_encode(v->data, v->ndata, h_write, &h);
	CHECK(h.n == v->nencoded && !memcmp(h.out, v->encoded, h.n), "COBS encoding differs");
	memcpy(d, v->encoded, v->nencoded);
	n = og_cobs_decode(d, v->nencoded);
	CHECK(n == v->ndata && !memcmp(d, v->data, n), "COBS decoding differs");
}

/* The device's own HELLO, from the identity the vector describes. */
static void hello_vec(const vec *v, int tagged)
{
	static const uint8_t secret[32] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
	                                   0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
	                                   0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};
	og_link l;
	host h;
	og_config c;
	memset(&c, 0, sizeof c);
	c.window = 8;
	if (tagged) {
		const uint8_t *k[14], *hash;
		size_t hn;
		og_cbor_index(v->body, v->nbody, k, 14);
		og_cbor_get_bytes(k[13], &hash, &hn);
		c.config_hash = hash;
		c.clock_ms = 1764000060000ull;
		c.clock_set = 1;
	} else {
		c.clock_ms = 1000;
		c.enroll_secret = secret;
	}
	new_link(&l, &h, &c, tagged);
	if (tagged)
		l.rcv_ack = 3; /* resuming: it delivered gateway seq 3 */
	og_link_poll(&l, 5, NULL, 0);
	CHECK(h.n == 1 + v->nwire && h.out[0] == 0 && !memcmp(h.out + 1, v->wire, v->nwire),
	      "og_link's HELLO differs from the vector");
	if (h.n != 1 + v->nwire || memcmp(h.out + 1, v->wire, v->nwire)) {
		size_t i;
		for (i = 0; i < h.n; i++)
			printf("%02x ", h.out[i]);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	FILE *f;
	vec *v = malloc(sizeof *v); /* the test program may allocate; the library does not */
	int n = 0;
	if (argc != 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: vectors testvectors.txt\n");
		return 2;
	}
	while (next_vec(f, v)) {
		snprintf(cur, sizeof cur, "%s", v->name);
		if (!v->name[0])
			continue;
		n++;
		if (!strcmp(v->kind, "cobs"))
			cobs_vec(v);
		else
			frame_vec(v);
		if (!strcmp(v->name, "hello"))
			hello_vec(v, 0);
		if (!strcmp(v->name, "hello-tagged"))
			hello_vec(v, 1);
	}
	free(v);
	fclose(f);
	printf("vectors: %d entries\n", n);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0 || n < 50;
}
