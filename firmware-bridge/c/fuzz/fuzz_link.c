/* fuzz_link.c — libFuzzer target: arbitrary bytes from the line into the
 * device's receive path (COBS, frame checks, tags, every message decoder,
 * the session), for a device without a key and one with the test key. The
 * library must never read or write out of bounds, hit undefined behaviour,
 * or hang, whatever arrives. */
#include <stdint.h>
#include <string.h>

#include "og_link.h"

static uint8_t recs[8][600];
static int nrec;

static void w(void *ctx, const uint8_t *b, size_t n) { (void)ctx, (void)b, (void)n; }
static int app(void *ctx, const uint8_t *r, size_t n)
{
	(void)ctx;
	if (nrec == 8 || n > sizeof recs[0])
		return -1;
	memcpy(recs[nrec++], r, n);
	return 0;
}
static int peek(void *ctx, uint32_t i, uint8_t *b, size_t cap)
{
	(void)ctx;
	if (i >= (uint32_t)nrec || cap < 600)
		return -1;
	memcpy(b, recs[i], 600);
	return 40;
}
static void drop(void *ctx, uint32_t n)
{
	(void)ctx;
	nrec = n >= (uint32_t)nrec ? 0 : nrec - (int)n;
}
static void cmd(void *ctx, const og_command *c, og_result *r)
{
	(void)ctx;
	if (c->args && c->args_len <= r->data_cap) {
		memcpy(r->data, c->args, c->args_len);
		r->data_len = c->args_len;
	}
}
static int cfg(void *ctx, const uint8_t *b, size_t n, const uint8_t h[32], const char **t)
{
	(void)ctx, (void)b, (void)n, (void)h, (void)t;
	return 0;
}
static int key(void *ctx, const uint8_t k[32], uint16_t e) { (void)ctx, (void)k, (void)e; return 0; }
static uint8_t slot[4096];
static int fe(void *ctx) { (void)ctx; memset(slot, 0xff, sizeof slot); return 0; }
static int fwr(void *ctx, uint32_t off, const uint8_t *b, size_t n)
{
	(void)ctx;
	if (off > sizeof slot || n > sizeof slot - off)
		return -1;
	memcpy(slot + off, b, n);
	return 0;
}
static int frd(void *ctx, uint32_t off, uint8_t *b, size_t n)
{
	(void)ctx;
	if (off > sizeof slot || n > sizeof slot - off)
		return -1;
	memcpy(b, slot + off, n);
	return 0;
}
static int fsv(void *ctx, const og_fw_state *s) { (void)ctx, (void)s; return 0; }
static int fac(void *ctx, const uint8_t s[32], int c) { (void)ctx, (void)s, (void)c; return 0; }

static void run(const uint8_t *data, size_t size, int keyed)
{
	static const uint8_t k[32] = {1, 2, 3}, secret[32] = {9};
	static uint8_t rx[OG_RXBUF(1024)], tx[1100], ctl[1024];
	static og_link l;
	og_config c;
	og_ops o;
	size_t i, step;
	memset(&c, 0, sizeof c);
	memset(&o, 0, sizeof o);
	c.hardware_id = "FUZZ-1", c.model = "F", c.firmware = "1", c.kind = 1, c.boot = 7, c.caps = 0x3f;
	c.rx = rx, c.rx_cap = sizeof rx, c.tx = tx, c.tx_cap = sizeof tx, c.ctl = ctl, c.ctl_cap = sizeof ctl;
	/* The enrollment secret costs an X25519 per input at init: only every
	 * 64th input offers one, so the rest run at speed. */
	if (keyed)
		c.key = k, c.key_epoch = 1;
	else if (size % 64 == 17)
		c.enroll_secret = secret;
	/* No vendor key: a completed image is hashed and refused without the
	 * Ed25519 check, which the vectors cover and which would cost the fuzzer
	 * most of its time. */
	c.fw_slot = sizeof slot;
	o.write = w, o.store.append = app, o.store.peek = peek, o.store.drop = drop, o.command = cmd, o.config = cfg;
	o.save_key = key, o.fw_erase = fe, o.fw_write = fwr, o.fw_read = frd, o.fw_save = fsv, o.fw_activate = fac;
	nrec = 0;
	if (og_link_init(&l, &c, &o) != OG_OK)
		__builtin_trap();
	og_link_event(&l, "punch", NULL, 0, NULL);
	/* The first byte picks the read size, so frames straddle polls. */
	step = size ? (size_t)(data[0] % 64) + 1 : 1;
	for (i = 0; i < size; i += step)
		og_link_poll(&l, (uint32_t)(i * 37), data + i, size - i < step ? size - i : step);
	og_link_poll(&l, 100000, NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, 0);
	run(data, size, 1);
	return 0;
}
