/* clock_test.c — the device's wall clock (PROTOCOL.md §8) at the ends of
 * its range: a WELCOME time at or past 2^63 ms and a TIME_REQ step of
 * INT64_MAX are arithmetic modulo 2^64, never a signed overflow (the
 * sanitizers of the test build stop the program on one). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "og_internal.h"

static int passed, failed;

typedef struct {
	uint8_t wire[2200];
	size_t n;
} line;

static void wr(void *ctx, const uint8_t *b, size_t n)
{
	line *w = ctx;
	if (w->n + n <= sizeof w->wire) {
		memcpy(w->wire + w->n, b, n);
		w->n += n;
	}
}
static void out(void *ctx, const uint8_t *b, size_t n) { (void)ctx, (void)b, (void)n; }
static int app(void *ctx, const uint8_t *r, size_t n)
{
	(void)ctx, (void)r, (void)n;
	return -1;
}
static int peek(void *ctx, uint32_t i, uint8_t *b, size_t cap)
{
	(void)ctx, (void)i, (void)b, (void)cap;
	return -1;
}
static void drop(void *ctx, uint32_t n) { (void)ctx, (void)n; }

static uint8_t rxb[OG_RXBUF(1024)], txb[1100], ctlb[2048];

static void start(og_link *l)
{
	og_config c;
	og_ops o;
	memset(&c, 0, sizeof c);
	memset(&o, 0, sizeof o);
	c.hardware_id = "CLOCK-1", c.model = "T", c.firmware = "1", c.kind = 1, c.boot = 1;
	c.caps = OG_CAP_EVENTS | OG_CAP_TIME;
	c.rx = rxb, c.rx_cap = sizeof rxb, c.tx = txb, c.tx_cap = sizeof txb, c.ctl = ctlb, c.ctl_cap = sizeof ctlb;
	o.write = out, o.store.append = app, o.store.peek = peek, o.store.drop = drop;
	if (og_link_init(l, &c, &o) != OG_OK) {
		printf("og_link_init failed\n");
		failed++;
	}
	og_link_poll(l, 0, NULL, 0); /* its HELLO */
}

/* send feeds the device one unsequenced gateway frame of type with body
 * w at time now. */
static void send(og_link *l, uint32_t now, uint8_t type, og_cbor_wr *w, uint8_t *f)
{
	line ln = {{0}, 0};
	size_t n;
	uint8_t z = 0;
	memset(f, 0, OG_HEADER);
	f[1] = type;
	n = og_frame_seal(f, (size_t)(w->p - (f + OG_HEADER)), NULL, 0, 0, 0);
	og_cobs_encode(f, n, wr, &ln);
	wr(&ln, &z, 1);
	og_link_poll(l, now, ln.wire, ln.n);
}

static void welcome(og_link *l, uint32_t now, uint64_t t)
{
	static uint8_t f[1100];
	og_cbor_wr w;
	og_cbor_wr_init(&w, f + OG_HEADER, sizeof f - OG_HEADER - 4);
	og_cbor_map(&w, 9);
	og_cbor_uint(&w, 1), og_cbor_textz(&w, "dev-1");
	og_cbor_uint(&w, 2), og_cbor_uint(&w, t);
	og_cbor_uint(&w, 4), og_cbor_uint(&w, 4);
	og_cbor_uint(&w, 5), og_cbor_uint(&w, 2000);
	og_cbor_uint(&w, 8), og_cbor_uint(&w, 99);
	og_cbor_uint(&w, 9), og_cbor_bool(&w, 0);
	og_cbor_uint(&w, 10), og_cbor_uint(&w, 0);
	og_cbor_uint(&w, 12), og_cbor_uint(&w, 1024);
	og_cbor_uint(&w, 13), og_cbor_uint(&w, 500);
	send(l, now, OG_WELCOME, &w, f);
}

static void time_req(og_link *l, uint32_t now, int64_t adj)
{
	static uint8_t f[1100];
	og_cbor_wr w;
	og_cbor_wr_init(&w, f + OG_HEADER, sizeof f - OG_HEADER - 4);
	og_cbor_map(&w, 3);
	og_cbor_uint(&w, 1), og_cbor_uint(&w, 1);
	og_cbor_uint(&w, 2), og_cbor_uint(&w, 1);
	og_cbor_uint(&w, 3), og_cbor_int(&w, adj);
	send(l, now, OG_TIME_REQ, &w, f);
}

static void expect(const char *name, const og_link *l, uint64_t want)
{
	int set;
	uint64_t got = og_link_clock(l, &set);
	if (!og_link_established(l) || !set || got != want) {
		printf("FAIL %s: clock %llu (set %d, established %d), want %llu\n", name, (unsigned long long)got, set,
		       og_link_established(l), (unsigned long long)want);
		failed++;
		return;
	}
	passed++;
}

int main(void)
{
	static og_link l;
	/* WELCOME's time is 2^63 ms, taken 5 ms after init. */
	start(&l);
	welcome(&l, 5, UINT64_C(1) << 63);
	expect("welcome time 2^63", &l, UINT64_C(1) << 63);
	/* A step of INT64_MAX ms from a clock at 1000 ms. */
	start(&l);
	welcome(&l, 5, 1000);
	time_req(&l, 5, INT64_MAX);
	expect("step INT64_MAX", &l, 1000 + (uint64_t)INT64_MAX);
	/* The step back, and a step of INT64_MIN. */
	time_req(&l, 5, -INT64_MAX);
	expect("step back", &l, 1000);
	time_req(&l, 5, INT64_MIN);
	expect("step INT64_MIN", &l, 1000 + (UINT64_C(1) << 63));
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
