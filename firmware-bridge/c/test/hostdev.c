/* hostdev.c — the C device built for a POSIX host, for the Go tests and for
 * trying the library without hardware. It is a small attendance terminal:
 * its flash is a directory (boot counter, record store, link key, config,
 * firmware slot), its UART the master end of a PTY it opens itself (the
 * gateway opens the slave, named on stdout), its application a few commands.
 *
 * usage: hostdev -d DIR [-i HWID] [-k KIND] [-e] [-p FWPUBHEX] [-r] [-s SKEW] [-c CAP] [-b BAUD] [-t TTY]
 *   -e  offer enrollment (X25519 key from /dev/urandom)   -r  an RTC: the clock starts set
 *   -s  with -r, the RTC is off by this many ms
 *   -c  record store capacity (default 100000)             -t  use TTY instead of a new PTY
 * stdin, one command a line: "emit N" (N punches), "status", "quit".
 * stdout: "tty PATH" once, then one "status ..." line per status request,
 * "reboot" before exiting for a firmware test boot (exit status 3).
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "og_crypto.h"
#include "og_link.h"

static char dir[512];

static void path(char *o, size_t n, const char *name) { snprintf(o, n, "%s/%s", dir, name); }

static int read_file(const char *name, void *buf, size_t n)
{
	char p[600];
	int fd, k;
	path(p, sizeof p, name);
	if ((fd = open(p, O_RDONLY)) < 0)
		return -1;
	k = (int)read(fd, buf, n);
	close(fd);
	return k;
}

/* write_file replaces a file durably: temp, fsync, rename. */
static int write_file(const char *name, const void *buf, size_t n)
{
	char p[600], t[620];
	int fd;
	path(p, sizeof p, name);
	snprintf(t, sizeof t, "%s.tmp", p);
	if ((fd = open(t, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	if (write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(t, p);
}

/* ---- the record store: an append-only file and a count of records
 * dropped from its front (written lazily: §9.1 lets the gateway drop what
 * it sees again by id) ---- */

#define MAXREC 1100
typedef struct {
	int fd;
	uint32_t cap;
	uint32_t dropped; /* records deleted from the front */
	uint32_t count;   /* records in the file */
	off_t *offs;      /* offset of each record in the file */
	uint32_t noffs;
} store;

static store st;

static void store_open(uint32_t cap)
{
	char p[600];
	uint8_t hdr[2];
	off_t off = 0;
	st.cap = cap;
	st.offs = calloc(cap + 1, sizeof *st.offs);
	path(p, sizeof p, "records");
	st.fd = open(p, O_RDWR | O_CREAT, 0600);
	if (read_file("dropped", &st.dropped, sizeof st.dropped) != (int)sizeof st.dropped)
		st.dropped = 0;
	while (pread(st.fd, hdr, 2, off) == 2) {
		uint16_t n = (uint16_t)(hdr[0] << 8 | hdr[1]);
		if (st.count >= cap)
			break;
		st.offs[st.count++] = off;
		off += 2 + n;
	}
	ftruncate(st.fd, off); /* a torn last record was never acknowledged: append failed */
	if (st.dropped > st.count)
		st.dropped = st.count;
}

static int s_append(void *ctx, const uint8_t *rec, size_t n)
{
	uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	off_t off = st.count ? st.offs[st.count - 1] : 0;
	(void)ctx;
	if (st.count - st.dropped >= st.cap)
		return -1;
	if (st.count == st.cap) { /* compact: keep what is not dropped */
		uint32_t i;
		uint8_t buf[MAXREC];
		off_t w = 0;
		for (i = st.dropped; i < st.count; i++) {
			uint8_t h[2];
			uint16_t k;
			pread(st.fd, h, 2, st.offs[i]);
			k = (uint16_t)(h[0] << 8 | h[1]);
			pread(st.fd, buf, k, st.offs[i] + 2);
			pwrite(st.fd, h, 2, w);
			pwrite(st.fd, buf, k, w + 2);
			st.offs[i - st.dropped] = w;
			w += 2 + k;
		}
		st.count -= st.dropped;
		st.dropped = 0;
		ftruncate(st.fd, w);
		fsync(st.fd);
		write_file("dropped", &st.dropped, sizeof st.dropped);
	}
	if (st.count) {
		uint8_t h[2];
		pread(st.fd, h, 2, off);
		off += 2 + (h[0] << 8 | h[1]);
	}
	if (pwrite(st.fd, hdr, 2, off) != 2 || pwrite(st.fd, rec, n, off + 2) != (ssize_t)n || fdatasync(st.fd) != 0)
		return -1;
	st.offs[st.count++] = off;
	return 0;
}

static int s_peek(void *ctx, uint32_t i, uint8_t *buf, size_t cap)
{
	uint8_t h[2];
	uint16_t n;
	(void)ctx;
	if (st.dropped + i >= st.count)
		return -1;
	pread(st.fd, h, 2, st.offs[st.dropped + i]);
	n = (uint16_t)(h[0] << 8 | h[1]);
	if (n > cap)
		return -1;
	pread(st.fd, buf, n, st.offs[st.dropped + i] + 2);
	return n;
}

static void s_drop(void *ctx, uint32_t n)
{
	(void)ctx;
	st.dropped += n;
	if (st.dropped > st.count)
		st.dropped = st.count;
	if (st.dropped == st.count) {
		ftruncate(st.fd, 0);
		st.count = st.dropped = 0;
	}
	write_file("dropped", &st.dropped, sizeof st.dropped);
}

/* ---- the UART ---- */

static int tty = -1;

static void u_write(void *ctx, const uint8_t *b, size_t n)
{
	(void)ctx;
	while (n) {
		ssize_t k = write(tty, b, n);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				struct pollfd p = {tty, POLLOUT, 0};
				poll(&p, 1, 10);
				continue;
			}
			return; /* the other end went away: the link's timers recover */
		}
		b += k;
		n -= (size_t)k;
	}
}

static uint32_t u_random(void *ctx)
{
	(void)ctx;
	return (uint32_t)random();
}

/* ---- the application ---- */

static void command(void *ctx, const og_command *c, og_result *r)
{
	(void)ctx;
	if (c->name_len == 4 && !memcmp(c->name, "ping", 4)) {
		og_cbor_wr w;
		og_cbor_wr_init(&w, r->data, r->data_cap);
		og_cbor_map(&w, 1);
		og_cbor_textz(&w, "pong"), og_cbor_bool(&w, 1);
		if (!w.err)
			r->data_len = (size_t)(w.p - r->data);
	} else if (c->name_len == 4 && !memcmp(c->name, "echo", 4)) {
		if (c->args && c->args_len <= r->data_cap) {
			memcpy(r->data, c->args, c->args_len);
			r->data_len = c->args_len;
		}
	} else if (c->name_len == 4 && !memcmp(c->name, "fail", 4)) {
		r->status = OG_RESULT_ERROR;
		r->text = "asked to fail";
	} else
		r->status = OG_RESULT_UNSUPPORTED;
}

static int config(void *ctx, const uint8_t *cfg, size_t n, const uint8_t hash[32], const char **text)
{
	(void)ctx;
	if (og_cbor_check(cfg, n) != 0) {
		*text = "not a CBOR map";
		return OG_ERR_CONFIG_INVALID;
	}
	if (write_file("config", cfg, n) || write_file("config.sha", hash, 32))
		return OG_ERR_CONFIG_INVALID;
	return 0;
}

static int save_key(void *ctx, const uint8_t key[32], uint16_t epoch)
{
	uint8_t b[34];
	(void)ctx;
	memcpy(b, key, 32);
	b[32] = (uint8_t)(epoch >> 8), b[33] = (uint8_t)epoch;
	return write_file("key", b, 34);
}

static int slot_fd = -1;
/* The lowest slot offset written in this life (UINT32_MAX: none): a test
 * tells a resumed transfer from one started over by it. */
static uint32_t fw_low = UINT32_MAX;
static int fw_erase(void *ctx)
{
	(void)ctx;
	return ftruncate(slot_fd, 0);
}
static int fw_write(void *ctx, uint32_t off, const uint8_t *b, size_t n)
{
	(void)ctx;
	if (off < fw_low)
		fw_low = off;
	return pwrite(slot_fd, b, n, off) == (ssize_t)n ? 0 : -1;
}
static int fw_read(void *ctx, uint32_t off, uint8_t *b, size_t n)
{
	(void)ctx;
	return pread(slot_fd, b, n, off) == (ssize_t)n ? 0 : -1;
}
static int fw_save(void *ctx, const og_fw_state *s)
{
	(void)ctx;
	fdatasync(slot_fd);
	return write_file("fwstate", s, sizeof *s);
}
static int want_reboot;
static char running[40] = "1.0.0";
static og_fw_state fwst;
static int fw_activate(void *ctx, const uint8_t sha[32], int confirm)
{
	(void)ctx;
	if (confirm) { /* the running (test) image becomes permanent */
		char v[40], p[600];
		int n = read_file("testing", v, sizeof v);
		if (n <= 0 || write_file("version", v, (size_t)n))
			return -1;
		path(p, sizeof p, "testing");
		unlink(p);
		return 0;
	}
	if (memcmp(sha, fwst.sha, 32) != 0 && (read_file("fwstate", &fwst, sizeof fwst) < 0 || memcmp(sha, fwst.sha, 32)))
		return -1;
	/* The bootloader boots the new image once: the version it runs. */
	write_file("testing", fwst.version, strlen(fwst.version) + 1);
	want_reboot = 1;
	return 0;
}

static uint32_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static int hexkey(const char *h, uint8_t *o, size_t n)
{
	size_t i;
	unsigned v;
	if (strlen(h) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		o[i] = (uint8_t)v;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t rx[OG_RXBUF(1024)], tx[1100], ctl[4096];
	static og_link l;
	og_config c;
	og_ops o;
	uint8_t key[34], secret[32], pub[32], cfgsha[32];
	char hwid[65] = "HOSTDEV-1", *ttypath = NULL, line[256];
	size_t linelen = 0;
	uint32_t boot = 0, cap = 100000;
	int opt, kind = 1, enroll = 0, rtc = 0, have_pub = 0, hold = -1;
	long baud = 115200, skew = 0;
	memset(&c, 0, sizeof c);
	memset(&o, 0, sizeof o);
	while ((opt = getopt(argc, argv, "d:i:k:ep:rs:c:b:t:")) != -1) {
		switch (opt) {
		case 'd': snprintf(dir, sizeof dir, "%s", optarg); break;
		case 'i': snprintf(hwid, sizeof hwid, "%s", optarg); break;
		case 'k': kind = atoi(optarg); break;
		case 'e': enroll = 1; break;
		case 'p': have_pub = hexkey(optarg, pub, 32) == 0; break;
		case 'r': rtc = 1; break;
		case 's': skew = atol(optarg); break;
		case 'c': cap = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': baud = atol(optarg); break;
		case 't': ttypath = optarg; break;
		default: fprintf(stderr, "usage: see hostdev.c\n"); return 2;
		}
	}
	if (!dir[0]) {
		fprintf(stderr, "hostdev: -d DIR is required\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	srandom((unsigned)getpid() ^ now_ms());
	/* The boot counter goes up before anything is sent (§6.4). */
	read_file("boot", &boot, sizeof boot);
	boot++;
	if (write_file("boot", &boot, sizeof boot)) {
		perror("hostdev: boot counter");
		return 1;
	}
	store_open(cap);
	{
		char p[600];
		path(p, sizeof p, "slot");
		slot_fd = open(p, O_RDWR | O_CREAT, 0600);
	}
	if (read_file("fwstate", &fwst, sizeof fwst) != (int)sizeof fwst)
		memset(&fwst, 0, sizeof fwst);
	{
		char v[40];
		int n = read_file("testing", v, sizeof v);
		if (n > 0) { /* a test boot (§10.3): the new version, not yet confirmed */
			v[sizeof v - 1] = 0;
			snprintf(running, sizeof running, "%s", v);
			c.image_state = 1;
		} else if (read_file("version", v, sizeof v) > 0) {
			v[sizeof v - 1] = 0;
			snprintf(running, sizeof running, "%s", v);
		}
	}
	if (ttypath) {
		tty = open(ttypath, O_RDWR | O_NOCTTY | O_NONBLOCK);
	} else {
		tty = posix_openpt(O_RDWR | O_NOCTTY);
		if (tty >= 0 && (grantpt(tty) || unlockpt(tty)))
			tty = -1;
		if (tty >= 0) {
			/* Hold the slave open so the PTY outlives the gateway's re-opens. */
			hold = open(ptsname(tty), O_RDWR | O_NOCTTY);
			printf("tty %s\n", ptsname(tty));
		}
		fcntl(tty, F_SETFL, O_NONBLOCK);
	}
	if (tty < 0) {
		perror("hostdev: tty");
		return 1;
	}
	{
		struct termios t;
		int fd = hold >= 0 ? hold : tty;
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
	}
	c.hardware_id = hwid;
	c.model = "OG-HOSTDEV";
	c.firmware = running;
	c.kind = (uint8_t)kind;
	c.boot = boot;
	c.caps = OG_CAP_EVENTS | OG_CAP_COMMANDS | OG_CAP_TIME | OG_CAP_CONFIG | OG_CAP_FIRMWARE |
	         (enroll ? OG_CAP_AUTH : 0) | (rtc ? OG_CAP_RTC : 0);
	c.baud = (uint32_t)baud;
	if (rtc) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		c.clock_ms = (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + skew);
		c.clock_set = 1;
	}
	if (read_file("config.sha", cfgsha, 32) == 32)
		c.config_hash = cfgsha;
	if (read_file("key", key, 34) == 34) {
		c.key = key;
		c.key_epoch = (uint16_t)(key[32] << 8 | key[33]);
	} else if (enroll) {
		int fd = open("/dev/urandom", O_RDONLY);
		if (fd < 0 || read(fd, secret, 32) != 32) {
			perror("hostdev: random");
			return 1;
		}
		close(fd);
		c.enroll_secret = secret;
	}
	c.rx = rx, c.rx_cap = sizeof rx;
	c.tx = tx, c.tx_cap = sizeof tx;
	c.ctl = ctl, c.ctl_cap = sizeof ctl;
	if (have_pub)
		c.fw_pubkey = pub;
	c.fw_slot = 1 << 20;
	c.fw = fwst;
	o.write = u_write;
	o.random = u_random;
	o.store.append = s_append;
	o.store.peek = s_peek;
	o.store.drop = s_drop;
	o.command = command;
	o.config = config;
	o.save_key = save_key;
	o.fw_erase = fw_erase;
	o.fw_write = fw_write;
	o.fw_read = fw_read;
	o.fw_save = fw_save;
	o.fw_activate = fw_activate;
	if (og_link_init(&l, &c, &o) != OG_OK) {
		fprintf(stderr, "hostdev: og_link_init refused the configuration\n");
		return 1;
	}
	for (;;) {
		struct pollfd p[2] = {{tty, POLLIN, 0}, {0, POLLIN, 0}};
		uint8_t buf[512];
		ssize_t n = 0;
		poll(p, 2, 5);
		if (p[0].revents & POLLIN) {
			n = read(tty, buf, sizeof buf);
			if (n < 0)
				n = 0;
		}
		og_link_poll(&l, now_ms(), buf, (size_t)n);
		if (want_reboot) {
			printf("reboot\n");
			return 3;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			char ch;
			ssize_t k = read(0, &ch, 1);
			if (k <= 0)
				return 0; /* stdin closed: power off */
			if (ch != '\n') {
				if (linelen < sizeof line - 1)
					line[linelen++] = ch;
				continue;
			}
			line[linelen] = 0;
			linelen = 0;
			if (!strncmp(line, "emit ", 5)) {
				long i, k2 = atol(line + 5);
				for (i = 0; i < k2; i++) {
					uint8_t d[64];
					char user[16];
					og_cbor_wr w;
					og_event_id id;
					static unsigned long punches;
					og_cbor_wr_init(&w, d, sizeof d);
					snprintf(user, sizeof user, "%05lu", punches % 100000);
					og_cbor_map(&w, 2);
					og_cbor_textz(&w, "user"), og_cbor_textz(&w, user);
					og_cbor_textz(&w, "state"), og_cbor_uint(&w, punches % 2);
					punches++;
					if (og_link_event(&l, "punch", d, (size_t)(w.p - d), &id) != OG_OK)
						printf("emit failed\n");
				}
				printf("emitted %ld\n", k2);
			} else if (!strcmp(line, "status")) {
				int set;
				uint64_t clk = og_link_clock(&l, &set);
				printf("status held=%u established=%d boot=%u sessions=%u resumes=%u keyed=%d "
				       "retransmits=%u busy_in=%u frames_in=%u frames_out=%u bad_crc=%u bad_mac=%u "
				       "clock=%llu clock_set=%d firmware=%s fw_low=%lld\n",
				       og_link_held(&l), og_link_established(&l), boot, l.stats.sessions, l.stats.resumes,
				       l.has_key, l.stats.retransmits, l.stats.busy_in, l.stats.frames_in, l.stats.frames_out,
				       l.stats.dropped[OG_DROP_BAD_CRC], l.stats.dropped[OG_DROP_BAD_MAC],
				       (unsigned long long)clk, set, running,
				       fw_low == UINT32_MAX ? -1LL : (long long)fw_low);
			} else if (!strcmp(line, "quit"))
				return 0;
		}
	}
}
