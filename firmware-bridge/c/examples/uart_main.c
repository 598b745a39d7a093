/* uart_main.c — the device side on a bare-metal Cortex-M0+: one UART, a 1 ms
 * tick, a record store in flash, one button that records a punch.
 *
 * The registers are those of a generic part (UART_* and SYSTICK below):
 * replace the few lines marked PORT with your MCU's. The main loop never
 * blocks: it hands og_link_poll what the UART received and the time, and
 * the library calls back to write, to keep records and to run commands.
 *
 * The record store here is a ring in a flash sector pair, written one record
 * at a time (flash_program and flash_erase are the PORT's): append returns
 * only once the record is programmed, and drop moves a head pointer that is
 * itself kept in flash lazily (a record seen again is dropped by the gateway
 * by its id, PROTOCOL.md §9.1). */
#include <stdint.h>
#include <string.h>

#include "og_link.h"

/* ---- PORT: registers and flash ---- */
#define UART_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART_BASE + 0x00))
#define UART_STAT (*(volatile uint32_t *)(UART_BASE + 0x04))
#define UART_RXNE 0x01u
#define UART_TXE 0x02u
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define BUTTON (*(volatile uint32_t *)0x48000010u)
#define CPU_HZ 48000000u

extern int flash_program(uint32_t addr, const void *src, uint32_t n); /* 0 = ok */
extern int flash_erase(uint32_t addr, uint32_t n);
extern void flash_read(uint32_t addr, void *dst, uint32_t n);
extern uint32_t boot_counter_increment(void); /* in its own flash word; never 0 */
extern void reboot_into(const uint8_t sha[32], int confirm);
#define STORE_ADDR 0x0003C000u /* 16 KiB of records */
#define STORE_SIZE 0x4000u
#define SLOT_ADDR 0x00020000u /* spare firmware slot */
#define SLOT_SIZE 0x10000u

/* ---- the tick: SysTick at 1 kHz ---- */
static volatile uint32_t ticks;
void SysTick_Handler(void) { ticks++; }

/* ---- the UART: a small transmit ring drained when TXE is set ---- */
typedef struct {
	uint8_t buf[256];
	uint16_t head, tail; /* head: next to send; tail: next free */
	uint32_t store_head, store_tail, store_count; /* record ring in flash */
} board;

static void uart_drain(board *b)
{
	while (b->head != b->tail && (UART_STAT & UART_TXE)) {
		UART_DATA = b->buf[b->head];
		b->head = (uint16_t)((b->head + 1) % sizeof b->buf);
	}
}

static size_t tx_room(void *ctx)
{
	board *b = ctx;
	return sizeof b->buf - 1 - (size_t)((b->tail + sizeof b->buf - b->head) % sizeof b->buf);
}

static void tx_write(void *ctx, const uint8_t *p, size_t n)
{
	board *b = ctx; /* the library asked tx_room first: it fits */
	while (n--) {
		b->buf[b->tail] = *p++;
		b->tail = (uint16_t)((b->tail + 1) % sizeof b->buf);
	}
}

/* ---- the record store: [len (2 bytes)][record] in a ring ---- */
static int st_append(void *ctx, const uint8_t *rec, size_t n)
{
	board *b = ctx;
	uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	if (b->store_tail + 2 + n > STORE_SIZE)
		return -1; /* full: the id is used up, the gateway sees the gap */
	if (flash_program(STORE_ADDR + b->store_tail, hdr, 2) || flash_program(STORE_ADDR + b->store_tail + 2, rec, (uint32_t)n))
		return -1;
	b->store_tail += 2 + (uint32_t)n;
	b->store_count++;
	return 0;
}

static int st_peek(void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
	board *b = ctx;
	uint32_t off = b->store_head;
	uint8_t hdr[2];
	uint16_t n;
	if (i >= b->store_count)
		return -1;
	for (;;) {
		flash_read(STORE_ADDR + off, hdr, 2);
		n = (uint16_t)(hdr[0] << 8 | hdr[1]);
		if (i-- == 0)
			break;
		off += 2u + n;
	}
	if (n > cap)
		return -1;
	flash_read(STORE_ADDR + off + 2, buf, n);
	return n;
}

static void st_drop(void *ctx, uint32_t k)
{
	board *b = ctx;
	while (k-- && b->store_count) {
		uint8_t hdr[2];
		flash_read(STORE_ADDR + b->store_head, hdr, 2);
		b->store_head += 2u + (uint32_t)(hdr[0] << 8 | hdr[1]);
		b->store_count--;
	}
	if (b->store_count == 0) { /* everything committed: start the ring over */
		flash_erase(STORE_ADDR, STORE_SIZE);
		b->store_head = b->store_tail = 0;
	}
}

/* ---- the application ---- */
static void command(void *ctx, const og_command *c, og_result *r)
{
	(void)ctx;
	if (c->name_len == 10 && !memcmp(c->name, "door_pulse", 10)) {
		/* drive the relay here */
		r->status = OG_RESULT_OK;
	} else
		r->status = OG_RESULT_UNSUPPORTED;
}

#if OG_WITH_CONFIG
static int config(void *ctx, const uint8_t *cfg, size_t n, const uint8_t hash[32], const char **text)
{
	(void)ctx, (void)cfg, (void)n, (void)hash, (void)text;
	return 0; /* apply and store bytes and hash atomically here */
}
#endif

#if OG_WITH_AUTH
static int save_key(void *ctx, const uint8_t key[32], uint16_t epoch)
{
	(void)ctx, (void)epoch;
	return flash_program(STORE_ADDR - 64, key, 32);
}
#endif

#if OG_WITH_FIRMWARE
static int fw_erase(void *ctx) { (void)ctx; return flash_erase(SLOT_ADDR, SLOT_SIZE); }
static int fw_write(void *ctx, uint32_t off, const uint8_t *p, size_t n) { (void)ctx; return flash_program(SLOT_ADDR + off, p, (uint32_t)n); }
static int fw_read(void *ctx, uint32_t off, uint8_t *p, size_t n) { (void)ctx; flash_read(SLOT_ADDR + off, p, (uint32_t)n); return 0; }
static int fw_save(void *ctx, const og_fw_state *s) { (void)ctx; return flash_program(STORE_ADDR - 256, s, sizeof *s); }
static int fw_activate(void *ctx, const uint8_t sha[32], int confirm) { (void)ctx; reboot_into(sha, confirm); return 0; }
static const uint8_t vendor_key[32] = {0x29, 0xac, 0xba, 0xe1}; /* PORT: your signing key */
#endif

int main(void)
{
	/* The caller's buffers: a 512-byte mtu keeps RAM small. */
	static uint8_t rx[OG_RXBUF(512)], tx[512], ctl[640];
	static og_link link;
	static board b;
	og_config c;
	og_ops o;
	uint32_t last_button = 0;
	memset(&c, 0, sizeof c);
	memset(&o, 0, sizeof o);
	SYST_RVR = CPU_HZ / 1000 - 1;
	SYST_CSR = 7;
	c.hardware_id = "TERM-0001"; /* PORT: the MCU's unique id */
	c.model = "OG-TERM-M0";
	c.firmware = "1.0.0";
	c.kind = 1;
	c.boot = boot_counter_increment(); /* before anything is sent (§6.4) */
	c.caps = OG_CAP_EVENTS | OG_CAP_COMMANDS | OG_CAP_TIME | OG_CAP_CONFIG | OG_CAP_FIRMWARE | OG_CAP_AUTH;
	c.rx = rx, c.rx_cap = sizeof rx;
	c.tx = tx, c.tx_cap = sizeof tx;
	c.ctl = ctl, c.ctl_cap = sizeof ctl;
	o.ctx = &b;
	o.write = tx_write;
	o.tx_room = tx_room;
	o.store.append = st_append;
	o.store.peek = st_peek;
	o.store.drop = st_drop;
	o.command = command;
#if OG_WITH_CONFIG
	o.config = config;
#endif
#if OG_WITH_AUTH
	{
		static uint8_t key[32], secret[32];
		flash_read(STORE_ADDR - 64, key, 32);
		if (key[0] != 0xff)
			c.key = key, c.key_epoch = 1;
		else
			c.enroll_secret = secret; /* PORT: fill from the TRNG */
		o.save_key = save_key;
	}
#endif
#if OG_WITH_FIRMWARE
	c.fw_pubkey = vendor_key;
	c.fw_slot = SLOT_SIZE;
	flash_read(STORE_ADDR - 256, &c.fw, sizeof c.fw);
	o.fw_erase = fw_erase;
	o.fw_write = fw_write;
	o.fw_read = fw_read;
	o.fw_save = fw_save;
	o.fw_activate = fw_activate;
#endif
	if (og_link_init(&link, &c, &o) != OG_OK)
		for (;;)
			;
	for (;;) {
		uint8_t in[16];
		size_t n = 0;
		while (n < sizeof in && (UART_STAT & UART_RXNE))
			in[n++] = (uint8_t)UART_DATA;
		og_link_poll(&link, ticks, in, n);
		uart_drain(&b);
		if ((BUTTON & 1) && ticks - last_button > 300) { /* a card at the reader */
			uint8_t d[24];
			og_cbor_wr w;
			last_button = ticks;
			og_cbor_wr_init(&w, d, sizeof d);
			og_cbor_map(&w, 1);
			og_cbor_textz(&w, "user"), og_cbor_textz(&w, "10234");
			og_link_event(&link, "punch", d, (size_t)(w.p - d), NULL);
		}
	}
}
