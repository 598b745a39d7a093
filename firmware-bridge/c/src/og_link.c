/* og_link.c — the device's session (PROTOCOL.md §5, §6), events (§9.1),
 * commands (§9.2), configuration (§9.3) and time sync (§8). */
#include <string.h>

#include "og_crypto.h"
#include "og_internal.h"

/* Room a reply needs in the ctl queue before the frame it answers is
 * taken: otherwise the frame is refused with BUSY (§5.5), not lost. */
#define REPLY_MIN 300

/* ---- sequence numbers, §5.1 ---- */

static uint32_t seq_next(uint32_t s) { return s == 0xffffffffu ? 1 : s + 1; }
/* before: a is before b in RFC 1982 serial arithmetic. */
static int before(uint32_t a, uint32_t b) { return (uint32_t)(b - a) - 1u < 0x7fffffffu; }

/* ---- time ---- */

/* The wall clock is mono + wall_off modulo 2^64: the gateway's times and
 * steps are any 64-bit values, and a signed sum of them could overflow. */
static uint64_t wall(const og_link *l) { return l->mono + (uint64_t)l->wall_off; }

uint64_t og_link_clock(const og_link *l, int *set)
{
	if (set)
		*set = l->clock_set;
	return wall(l);
}

int og_link_established(const og_link *l) { return l->state == OG_ST_ESTABLISHED; }

static uint32_t jitter(og_link *l, uint32_t ms)
{
	uint32_t r;
	if (l->ops.random)
		r = l->ops.random(l->ops.ctx);
	else { /* xorshift32, seeded from the boot id: no global state */
		l->prng ^= l->prng << 13;
		l->prng ^= l->prng >> 17;
		l->prng ^= l->prng << 5;
		r = l->prng;
	}
	return ms / 100 * (80 + r % 41); /* ±20 %, §6.3 */
}

/* ---- writing frames, §2 ---- */

static void out(void *ctx, const uint8_t *b, size_t n)
{
	og_link *l = ctx;
	l->ops.write(l->ops.ctx, b, n);
}

/* send_frame frames the body of n bytes waiting at OG_BODY(l) and writes
 * it; 0, or -1 when the UART cannot take it now (nothing written). */
static int send_frame(og_link *l, uint8_t type, uint32_t seq, size_t n)
{
	uint8_t *f = l->cfg.tx, z = 0;
	size_t len = OG_HEADER + n, total;
	int tagged = 0;
#if OG_WITH_AUTH
	tagged = l->has_key;
#endif
	total = len + (tagged ? OG_TAGGED : 0) + 4;
	if (total > l->cfg.tx_cap)
		return -1;
	if (l->ops.tx_room && l->ops.tx_room(l->ops.ctx) < total + total / 254 + 2)
		return -1;
	f[1] = type;
	f[2] = OG_FLAG_FROM_DEVICE;
	og_be32(f + 3, seq);
	/* HELLO names its ack in its body (key 10); the header's is 0. */
	og_be32(f + 7, type == OG_HELLO ? 0 : l->rcv_ack);
#if OG_WITH_AUTH
	len = og_frame_seal(f, n, tagged ? l->key : NULL, l->epoch, l->cfg.boot, l->gw_boot);
#else
	len = og_frame_seal(f, n, NULL, 0, 0, 0);
#endif
	og_cobs_encode(f, len, out, l);
	l->ops.write(l->ops.ctx, &z, 1);
	l->stats.frames_out++;
	l->last_tx = l->now;
	if (type != OG_HELLO) { /* the frame carried the ack */
		l->ack_at = 0;
		l->ack_now = 0;
	}
	return 0;
}

/* ---- the ctl queue: sequenced replies until acknowledged ---- */

/* Entries are [type, length (2 bytes), body]; the first ctl_sent of them
 * are in flight, in the order of their seq. */
#define CTL_USED(l) ((l)->ctl_tail)

size_t og_ctl_free(const og_link *l)
{
	size_t used = CTL_USED(l) + 3;
	return used >= l->cfg.ctl_cap ? 0 : l->cfg.ctl_cap - used;
}

int og_ctl_begin(og_link *l, og_cbor_wr *w)
{
	og_cbor_wr_init(w, l->cfg.ctl + CTL_USED(l) + 3, og_ctl_free(l));
	return og_ctl_free(l) ? 0 : -1;
}

int og_ctl_push(og_link *l, uint8_t type, og_cbor_wr *w)
{
	uint8_t *e = l->cfg.ctl + CTL_USED(l);
	size_t n;
	if (w->err)
		return -1;
	n = (size_t)(w->p - (e + 3));
	e[0] = type;
	og_be16(e + 1, (uint16_t)n);
	l->ctl_tail = (uint16_t)(l->ctl_tail + 3 + n);
	return 0;
}

/* ctl_entry returns the i-th entry, or NULL. */
static const uint8_t *ctl_entry(const og_link *l, unsigned i)
{
	size_t off = 0;
	while (off < CTL_USED(l)) {
		if (i-- == 0)
			return l->cfg.ctl + off;
		off += 3 + og_rd16(l->cfg.ctl + off + 1);
	}
	return NULL;
}

static void ctl_pop(og_link *l, unsigned k)
{
	const uint8_t *e = ctl_entry(l, k);
	size_t off = e ? (size_t)(e - l->cfg.ctl) : CTL_USED(l);
	memmove(l->cfg.ctl, l->cfg.ctl + off, CTL_USED(l) - off);
	l->ctl_tail = (uint16_t)(l->ctl_tail - off);
}

/* ---- sending the stream ---- */

/* load puts in-flight frame i's body at OG_BODY(l): an EVENT is the
 * store's record, anything else an entry of the ctl queue. Returns the body
 * length, or -1. */
static int load(og_link *l, unsigned i)
{
	unsigned k, ev = 0, ctl = 0;
	for (k = 0; k < i; k++) {
		if (l->fl[k].type == OG_EVENT)
			ev++;
		else
			ctl++;
	}
	if (l->fl[i].type == OG_EVENT)
		return l->ops.store.peek(l->ops.ctx, ev, OG_BODY(l), OG_BODY_CAP(l));
	{
		const uint8_t *e = ctl_entry(l, ctl);
		size_t n;
		if (!e)
			return -1;
		n = og_rd16(e + 1);
		if (n > OG_BODY_CAP(l))
			return -1;
		memcpy(OG_BODY(l), e + 3, n);
		return (int)n;
	}
}

static uint32_t wire_ms(const og_link *l, size_t bytes)
{
	return (uint32_t)(bytes * 10000u / l->cfg.baud + 1);
}

/* retransmit resends every frame in flight with its seq (go-back-N, §5.4). */
static void retransmit(og_link *l)
{
	unsigned i;
	for (i = 0; i < l->nfl; i++) {
		int n = load(l, i);
		if (n < 0 || send_frame(l, l->fl[i].type, l->fl[i].seq, (size_t)n) != 0)
			break;
		l->stats.retransmits++;
	}
	l->rto_at = og_at(l, l->rto + wire_ms(l, l->cfg.tx_cap));
}

/* pump sends new sequenced frames while the window allows: replies first,
 * then the store's records in the order recorded. */
static void pump(og_link *l)
{
	while (l->nfl < l->win && !l->busy_at) {
		unsigned ctl = (unsigned)(l->nfl - l->nfl_ev);
		const uint8_t *e = ctl_entry(l, ctl);
		uint8_t type;
		int n;
		if (e) {
			type = e[0];
			n = og_rd16(e + 1);
			if ((size_t)n > OG_BODY_CAP(l))
				n = -1;
			else
				memcpy(OG_BODY(l), e + 3, (size_t)n);
		} else {
			type = OG_EVENT;
			n = l->ops.store.peek(l->ops.ctx, l->nfl_ev, OG_BODY(l), OG_BODY_CAP(l));
		}
		if (n < 0 || send_frame(l, type, l->snd_next, (size_t)n) != 0)
			return;
		l->fl[l->nfl].seq = l->snd_next;
		l->fl[l->nfl].type = type;
		l->nfl++;
		if (type == OG_EVENT)
			l->nfl_ev++;
		l->snd_next = seq_next(l->snd_next);
		if (l->nfl == 1)
			l->rto_at = og_at(l, l->rto + wire_ms(l, (size_t)n + 40));
	}
}

/* on_ack processes a cumulative ack (§5.3): what it covers leaves the
 * window, the store (records, now committed) and the ctl queue. */
static int on_ack(og_link *l, uint32_t a)
{
	unsigned k = 0, ev = 0, i;
	if (a == 0 || l->nfl == 0 || before(a, l->fl[0].seq) || !before(a, l->snd_next))
		return 0;
	while (k < l->nfl && !before(a, l->fl[k].seq)) {
		if (l->fl[k].type == OG_EVENT)
			ev++;
		k++;
	}
	if (ev)
		l->ops.store.drop(l->ops.ctx, ev);
	ctl_pop(l, k - ev);
	for (i = k; i < l->nfl; i++)
		l->fl[i - k] = l->fl[i];
	l->nfl = (uint8_t)(l->nfl - k);
	l->nfl_ev = (uint8_t)(l->nfl_ev - ev);
	l->rto = l->rto_init;
	l->rto_at = l->nfl ? og_at(l, l->rto + wire_ms(l, l->cfg.tx_cap)) : 0;
	if (l->busy_at && (l->nfl == 0 || before(l->busy_seq, l->fl[0].seq)))
		l->busy_at = 0;
	l->dup_acks = 0;
	return 1;
}

/* ---- HELLO, §4.2 ---- */

static void send_hello(og_link *l)
{
	og_cbor_wr w;
	unsigned pairs = 13; /* keys 1–12 and 17 */
	const char *rev = l->cfg.reverted;
	int clk;
	uint64_t c = og_link_clock(l, &clk);
	int has_cfg = 0, enroll = 0;
#if OG_WITH_CONFIG
	has_cfg = l->has_cfg;
#endif
#if OG_WITH_AUTH
	enroll = !l->has_key && l->cfg.enroll_secret && (l->cfg.caps & OG_CAP_AUTH);
#endif
	pairs += (unsigned)has_cfg + (l->cfg.image_state != 0) + (l->cfg.image_state == 2 && rev) +
	         (l->cfg.revert_code != 0) + (clk != 0) + (unsigned)enroll;
	og_cbor_wr_init(&w, OG_BODY(l), OG_BODY_CAP(l));
	og_cbor_map(&w, pairs);
	og_cbor_uint(&w, 1), og_cbor_textz(&w, l->cfg.hardware_id);
	og_cbor_uint(&w, 2), og_cbor_textz(&w, l->cfg.model);
	og_cbor_uint(&w, 3), og_cbor_uint(&w, l->cfg.kind);
	og_cbor_uint(&w, 4), og_cbor_textz(&w, l->cfg.firmware);
	og_cbor_uint(&w, 5), og_cbor_uint(&w, l->cfg.boot);
	og_cbor_uint(&w, 6), og_cbor_uint(&w, l->cfg.caps);
	og_cbor_uint(&w, 7), og_cbor_uint(&w, 1);
	og_cbor_uint(&w, 8), og_cbor_uint(&w, 1);
	og_cbor_uint(&w, 9), og_cbor_uint(&w, l->gw_boot);
	og_cbor_uint(&w, 10), og_cbor_uint(&w, l->gw_boot ? l->rcv_ack : 0);
	og_cbor_uint(&w, 11), og_cbor_uint(&w, l->mtu);
	og_cbor_uint(&w, 12), og_cbor_uint(&w, l->cfg.window);
#if OG_WITH_CONFIG
	if (has_cfg)
		og_cbor_uint(&w, 13), og_cbor_bytes(&w, l->cfg_hash, 32);
#endif
	if (l->cfg.image_state)
		og_cbor_uint(&w, 14), og_cbor_uint(&w, l->cfg.image_state);
	if (l->cfg.image_state == 2 && rev)
		og_cbor_uint(&w, 15), og_cbor_textz(&w, rev);
	if (l->cfg.revert_code)
		og_cbor_uint(&w, 16), og_cbor_uint(&w, l->cfg.revert_code);
	og_cbor_uint(&w, 17), og_cbor_uint(&w, c);
	if (clk)
		og_cbor_uint(&w, 18), og_cbor_uint(&w, 1);
#if OG_WITH_AUTH
	if (enroll)
		og_cbor_uint(&w, 19), og_cbor_bytes(&w, l->enroll_pub, 32);
#endif
	if (!w.err)
		send_frame(l, OG_HELLO, 0, (size_t)(w.p - OG_BODY(l)));
}

/* ---- init ---- */

int og_link_init(og_link *l, const og_config *cfg, const og_ops *ops)
{
	size_t mtu;
	memset(l, 0, sizeof *l);
	if (!cfg->hardware_id || !cfg->model || !cfg->firmware || cfg->boot == 0 || !ops->write ||
	    !ops->store.append || !ops->store.peek || !ops->store.drop || !cfg->rx || !cfg->tx || !cfg->ctl ||
	    cfg->rx_cap < OG_RXBUF(OG_MTU_MIN) || cfg->tx_cap < OG_MTU_MIN || cfg->ctl_cap < 2 * REPLY_MIN ||
	    cfg->window > OG_WINDOW_MAX)
		return OG_EARG;
	l->cfg = *cfg;
	l->ops = *ops;
	if (!l->cfg.baud)
		l->cfg.baud = 115200;
	if (!l->cfg.window)
		l->cfg.window = l->cfg.baud <= 9600 ? 4 : 8; /* §5.2 default */
	/* The largest frame whose encoding fits the receive buffer. */
	mtu = l->cfg.rx_cap - l->cfg.rx_cap / 255 - 1;
	l->mtu = (uint16_t)(mtu > OG_FRAME_MAX ? OG_FRAME_MAX : mtu);
	l->cfg.caps &= ~(uint32_t)(1u << 7); /* no SACK: out-of-order frames are dropped */
#if !OG_WITH_AUTH
	l->cfg.caps &= ~(uint32_t)OG_CAP_AUTH;
#endif
#if !OG_WITH_FIRMWARE
	l->cfg.caps &= ~(uint32_t)OG_CAP_FIRMWARE;
#endif
#if !OG_WITH_CONFIG
	l->cfg.caps &= ~(uint32_t)OG_CAP_CONFIG;
#endif
	l->clock_set = cfg->clock_set;
	l->wall_off = (int64_t)cfg->clock_ms;
	l->state = OG_ST_HELLO_SENT;
	l->hello_wait = 1000;
	l->win = 1;
	l->rto_init = l->rto = 500;
	l->hb_ms = 2000;
	l->snd_next = 1;
	l->rcv_next = 1;
	l->prng = cfg->boot * 2654435761u | 1;
#if OG_WITH_CONFIG
	if (cfg->config_hash) {
		memcpy(l->cfg_hash, cfg->config_hash, 32);
		l->has_cfg = 1;
	}
#endif
#if OG_WITH_AUTH
	if (cfg->key) {
		memcpy(l->key, cfg->key, 32);
		l->epoch = cfg->key_epoch;
		l->has_key = 1;
	} else if (cfg->enroll_secret)
		og_x25519(l->enroll_pub, cfg->enroll_secret, NULL);
#endif
#if OG_WITH_FIRMWARE
	l->fw = cfg->fw;
#endif
	return OG_OK;
}

/* ---- events, §9.1 ---- */

static int valid_name(const char *s)
{
	size_t n = strlen(s), i;
	if (n < 1 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int og_link_event(og_link *l, const char *type, const uint8_t *data, size_t data_len, og_event_id *id)
{
	og_cbor_wr w;
	uint32_t n;
	if (!valid_name(type))
		return OG_EARG;
	/* The id is used up whatever happens next: never reused (§9.1). */
	n = ++l->ev_n;
	if (id) {
		id->boot = l->cfg.boot;
		id->n = n;
	}
	og_cbor_wr_init(&w, OG_BODY(l), OG_BODY_CAP(l));
	og_cbor_map(&w, 3u + (l->clock_set != 0) + (data != NULL));
	og_cbor_uint(&w, 1), og_cbor_array(&w, 2), og_cbor_uint(&w, l->cfg.boot), og_cbor_uint(&w, n);
	og_cbor_uint(&w, 2), og_cbor_textz(&w, type);
	og_cbor_uint(&w, 3), og_cbor_uint(&w, wall(l));
	if (l->clock_set)
		og_cbor_uint(&w, 4), og_cbor_uint(&w, 1);
	if (data)
		og_cbor_uint(&w, 5), og_cbor_raw(&w, data, data_len);
	if (w.err)
		return OG_ESPACE;
	if (l->ops.store.append(l->ops.ctx, OG_BODY(l), (size_t)(w.p - OG_BODY(l))) != 0)
		return OG_EFULL;
	return OG_OK;
}

uint32_t og_link_held(og_link *l)
{
	uint32_t i = 0;
	while (l->ops.store.peek(l->ops.ctx, i, OG_BODY(l), OG_BODY_CAP(l)) >= 0)
		i++;
	return i;
}

/* record_id reads a stored record's event id. */
static int record_id(const uint8_t *b, int n, og_event_id *id)
{
	const uint8_t *v[2];
	uint64_t x;
	if (n < 0 || og_cbor_check(b, (size_t)n))
		return -1;
	og_cbor_index(b, (size_t)n, v, 2);
	if (!v[1] || *v[1] != 0x82)
		return -1;
	og_cbor_get_uint(v[1] + 1, 0xffffffffu, &x);
	id->boot = (uint32_t)x;
	og_cbor_get_uint(og_cbor_skip(v[1] + 1, b + n), 0xffffffffu, &x);
	id->n = (uint32_t)x;
	return 0;
}

/* drop_committed deletes the records the WELCOME high-water mark covers
 * (§6.4): committed, their ack lost. */
static void drop_committed(og_link *l, og_event_id hw)
{
	uint32_t k = 0;
	og_event_id id;
	if (hw.boot == 0)
		return;
	while (record_id(OG_BODY(l), l->ops.store.peek(l->ops.ctx, k, OG_BODY(l), OG_BODY_CAP(l)), &id) == 0 &&
	       (id.boot < hw.boot || (id.boot == hw.boot && id.n <= hw.n)))
		k++;
	if (k)
		l->ops.store.drop(l->ops.ctx, k);
}

/* ---- receiving, §5.3 ---- */

static void send_empty(og_link *l, uint8_t type) { send_frame(l, type, 0, 0); }

static void send_busy(og_link *l, uint32_t seq)
{
	og_cbor_wr w;
	og_cbor_wr_init(&w, OG_BODY(l), OG_BODY_CAP(l));
	og_cbor_map(&w, 2);
	og_cbor_uint(&w, 1), og_cbor_uint(&w, seq);
	og_cbor_uint(&w, 2), og_cbor_uint(&w, 1000);
	send_frame(l, OG_BUSY, 0, (size_t)(w.p - OG_BODY(l)));
	l->stats.busy_out++;
}

static uint32_t fnv1a(const uint8_t *s, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--)
		h = (h ^ *s++) * 16777619u;
	return h | 1; /* 0 marks an empty slot */
}

/* result queues RESULT {id, status, text, data} (§4.11). */
static void result(og_link *l, const uint8_t *id, size_t idn, uint8_t status, const char *text, const uint8_t *data,
                   size_t dn)
{
	og_cbor_wr w;
	size_t tn = text ? strlen(text) : 0;
	if (tn > 200)
		tn = 200;
	og_ctl_begin(l, &w);
	og_cbor_map(&w, 2u + (tn != 0) + (data != NULL));
	og_cbor_uint(&w, 1), og_cbor_text(&w, (const char *)id, idn);
	og_cbor_uint(&w, 2), og_cbor_uint(&w, status);
	if (tn)
		og_cbor_uint(&w, 3), og_cbor_text(&w, text, tn);
	if (data)
		og_cbor_uint(&w, 4), og_cbor_raw(&w, data, dn);
	if (og_ctl_push(l, OG_RESULT, &w) != 0 && data)
		result(l, id, idn, OG_RESULT_ERROR, "result too large", NULL, 0);
}


static int on_command(og_link *l, const uint8_t *b, size_t n)
{
	const uint8_t *v[5], *id, *name;
	size_t idn, namen, i;
	uint64_t deadline;
	uint32_t h;
	og_command cmd;
	og_result res;
	og_cbor_index(b, n, v, 5);
	if (og_cbor_get_text(v[1], 1, 64, &id, &idn))
		return 0; /* no id to answer: acknowledged, dropped (§5.7) */
	h = fnv1a(id, idn);
	for (i = 0; i < OG_COMMANDS; i++)
		if (l->cmd_hash[i] == h) { /* a duplicate: the stored outcome, nothing else (§9.2) */
			result(l, id, idn, l->cmd_status[i], NULL, NULL, 0);
			return 0;
		}
	memset(&res, 0, sizeof res);
	if (og_cbor_get_text(v[2], 1, 32, &name, &namen) || (v[3] && og_cbor_check_data(v[3], b + n)) ||
	    og_cbor_get_uint(v[4], UINT64_MAX, &deadline)) {
		res.status = OG_RESULT_ERROR;
		res.text = "invalid command";
	} else if (deadline && l->clock_set && wall(l) > deadline)
		res.status = OG_RESULT_EXPIRED;
	else if (!l->ops.command)
		res.status = OG_RESULT_UNSUPPORTED;
	else {
		size_t room = og_ctl_free(l);
		cmd.id = (const char *)id;
		cmd.id_len = idn;
		cmd.name = (const char *)name;
		cmd.name_len = namen;
		cmd.args = v[3];
		cmd.args_len = v[3] ? (size_t)(og_cbor_skip(v[3], b + n) - v[3]) : 0;
		res.data = OG_BODY(l);
		res.data_cap = OG_BODY_CAP(l);
		if (room < res.data_cap + REPLY_MIN)
			res.data_cap = room > REPLY_MIN ? room - REPLY_MIN : 0;
		l->ops.command(l->ops.ctx, &cmd, &res);
		if (res.data_len > res.data_cap)
			res.data_len = 0;
	}
	l->cmd_hash[l->cmd_next] = h;
	l->cmd_status[l->cmd_next] = res.status;
	l->cmd_next = (uint8_t)((l->cmd_next + 1) % OG_COMMANDS);
	result(l, id, idn, res.status, res.text, res.data_len ? res.data : NULL, res.data_len);
	return 0;
}

#if OG_WITH_CONFIG
static int on_config(og_link *l, const uint8_t *b, size_t n)
{
	const uint8_t *v[3], *sha, *cfg;
	size_t shan, cfgn;
	uint8_t got[32], status = 0;
	uint16_t code = 0;
	const char *text = NULL;
	og_cbor_wr w;
	og_cbor_index(b, n, v, 3);
	if (og_cbor_get_bytes(v[1], &sha, &shan) || shan != 32 || og_cbor_get_bytes(v[2], &cfg, &cfgn))
		return 0;
	og_sha256_once(cfg, cfgn, got);
	if (l->has_cfg && memcmp(sha, l->cfg_hash, 32) == 0)
		status = 1; /* unchanged */
	else if (memcmp(sha, got, 32) != 0)
		status = 2, code = OG_ERR_BAD_HASH;
	else if (!l->ops.config)
		status = 2, code = OG_ERR_CONFIG_INVALID, text = "not configurable";
	else if ((code = (uint16_t)l->ops.config(l->ops.ctx, cfg, cfgn, got, &text)) != 0)
		status = 2;
	else {
		memcpy(l->cfg_hash, got, 32);
		l->has_cfg = 1;
	}
	og_ctl_begin(l, &w);
	og_cbor_map(&w, 2u + (code != 0) + (text != NULL));
	og_cbor_uint(&w, 1), og_cbor_bytes(&w, sha, 32);
	og_cbor_uint(&w, 2), og_cbor_uint(&w, status);
	if (code)
		og_cbor_uint(&w, 3), og_cbor_uint(&w, code);
	if (text)
		og_cbor_uint(&w, 4), og_cbor_text(&w, text, strlen(text) > 200 ? 200 : strlen(text));
	og_ctl_push(l, OG_CONFIG_STATUS, &w);
	return 0;
}
#endif

/* deliver hands a sequenced frame to its handler; 1 refuses it with BUSY. */
static int deliver(og_link *l, uint8_t type, const uint8_t *b, size_t n)
{
	if (type != OG_COMMAND && type != OG_CONFIG && (type < OG_FW_OFFER || type > OG_FW_ACTIVATE))
		return 0; /* unknown sequenced type: acknowledged, discarded (§3) */
	if (og_ctl_free(l) < REPLY_MIN)
		return 1;
	if (og_cbor_check(b, n)) {
		l->stats.dropped[OG_DROP_BAD_BODY]++;
		return 0; /* a peer bug, not noise: acknowledged, not acted on (§5.7) */
	}
	if (type == OG_COMMAND)
		return on_command(l, b, n);
#if OG_WITH_CONFIG
	if (type == OG_CONFIG)
		return on_config(l, b, n);
#endif
#if OG_WITH_FIRMWARE
	if (type >= OG_FW_OFFER)
		return og_fw_deliver(l, type, b, n);
#endif
	return 0;
}

static void on_sequenced(og_link *l, uint8_t type, uint32_t seq, const uint8_t *b, size_t n)
{
	if (seq == 0)
		return;
	if (seq != l->rcv_next) {
		/* A duplicate (§5.6) or a frame after a gap: say where we stand. */
		if (before(seq, l->rcv_next))
			l->stats.dups_in++;
		l->ack_now = 1;
		return;
	}
	if (deliver(l, type, b, n)) {
		send_busy(l, seq);
		return;
	}
	l->rcv_ack = seq;
	l->rcv_next = seq_next(seq);
	if (!l->ack_at) /* §5.4: the ack delay, max(20 ms, 96 bytes' time) */
		l->ack_at = og_at(l, l->cfg.baud >= 48000 ? 20 : 960000u / l->cfg.baud + 1);
}

static void on_time(og_link *l, const uint8_t *b, size_t n)
{
	const uint8_t *v[4];
	uint64_t id, t1, t;
	int64_t adj;
	og_cbor_wr w;
	if (og_cbor_check(b, n))
		return;
	og_cbor_index(b, n, v, 4);
	if (og_cbor_get_uint(v[1], 0xffffffffu, &id) || og_cbor_get_uint(v[2], UINT64_MAX, &t1) ||
	    og_cbor_get_int(v[3], &adj))
		return;
	if (v[3]) { /* step first, then read the clock (§8 step 2) */
		l->wall_off = (int64_t)((uint64_t)l->wall_off + (uint64_t)adj);
		l->clock_set = 1;
	}
	t = wall(l);
	og_cbor_wr_init(&w, OG_BODY(l), OG_BODY_CAP(l));
	og_cbor_map(&w, 4u + (l->clock_set != 0) + (v[3] != NULL));
	og_cbor_uint(&w, 1), og_cbor_uint(&w, id);
	og_cbor_uint(&w, 2), og_cbor_uint(&w, t1);
	og_cbor_uint(&w, 3), og_cbor_uint(&w, t);
	og_cbor_uint(&w, 4), og_cbor_uint(&w, t);
	if (l->clock_set)
		og_cbor_uint(&w, 5), og_cbor_uint(&w, 1);
	if (v[3]) /* the seq of the next event, read with the step */
		og_cbor_uint(&w, 6), og_cbor_uint(&w, l->ev_n + 1);
	send_frame(l, OG_TIME_RESP, 0, (size_t)(w.p - OG_BODY(l)));
}

static void on_busy(og_link *l, const uint8_t *b, size_t n)
{
	const uint8_t *v[3];
	uint64_t seq, ms;
	if (og_cbor_check(b, n))
		return;
	og_cbor_index(b, n, v, 3);
	if (og_cbor_get_uint(v[1], 0xffffffffu, &seq) || og_cbor_get_uint(v[2], 0xffffffffu, &ms) || l->nfl == 0 ||
	    before((uint32_t)seq, l->fl[0].seq) || !before((uint32_t)seq, l->snd_next))
		return;
	l->stats.busy_in++;
	if (ms == 0)
		ms = 1000;
	/* Refused again: double the wait, up to 30 s (§5.5). */
	if (l->busy_seq == seq && l->busy_wait && ms < 2u * l->busy_wait)
		ms = 2u * l->busy_wait;
	if (ms > 30000)
		ms = 30000;
	l->busy_seq = (uint32_t)seq;
	l->busy_wait = (uint32_t)ms;
	l->busy_at = og_at(l, (uint32_t)ms);
}

/* ---- handshake, §6 ---- */

static void schedule_hello(og_link *l, uint32_t at)
{
	l->hello_at = at;
}

static void on_welcome(og_link *l, const uint8_t *b, size_t n)
{
	const uint8_t *v[14], *s;
	size_t sn;
	uint64_t t, win, hb, gw, ack, mtu, rto, x;
	int resume;
	og_event_id hw = {0, 0};
	if (og_cbor_check(b, n))
		goto bad;
	og_cbor_index(b, n, v, 14);
	if (og_cbor_get_text(v[1], 1, 64, &s, &sn) || og_cbor_get_uint(v[2], UINT64_MAX, &t) ||
	    og_cbor_get_uint(v[4], 16, &win) || win < 1 || og_cbor_get_uint(v[5], 60000, &hb) || hb < 100 ||
	    og_cbor_get_uint(v[8], 0xffffffffu, &gw) || gw == 0 || og_cbor_get_bool(v[9], &resume) ||
	    og_cbor_get_uint(v[10], 0xffffffffu, &ack) || og_cbor_get_uint(v[12], 1024, &mtu) || mtu < 256 ||
	    og_cbor_get_uint(v[13], 60000, &rto) || rto < 10)
		goto bad;
	if (v[11]) {
		const uint8_t *e = og_cbor_skip(v[11], b + n);
		if (*v[11] != 0x82 || og_cbor_get_uint(v[11] + 1, 0xffffffffu, &x))
			goto bad;
		hw.boot = (uint32_t)x;
		if (og_cbor_get_uint(og_cbor_skip(v[11] + 1, e), 0xffffffffu, &x))
			goto bad;
		hw.n = (uint32_t)x;
	}
	if (gw == l->gw_boot && !resume && l->state == OG_ST_ESTABLISHED)
		return; /* answers a HELLO sent before our session began (§6.2) */
	if (gw == l->gw_boot && resume) {
		l->stats.resumes++;
		on_ack(l, (uint32_t)ack);
		l->busy_at = 0;
		l->rto_at = og_at(l, 0); /* retransmit the rest, same seqs (§6.4) */
	} else if (gw == l->gw_boot) {
		/* The WELCOME of our session again, repeated for a HELLO that
		 * crossed it: the session's streams stand. */
	} else {
		/* A new session: streams restart at 1; what the mark covers is
		 * committed; the rest is sent again in order (§6.4). */
		l->stats.sessions++;
		l->gw_boot = (uint32_t)gw;
		l->snd_next = 1;
		l->rcv_next = 1;
		l->rcv_ack = 0;
		l->nfl = l->nfl_ev = 0;
		l->busy_at = 0;
		l->rto_at = 0;
		drop_committed(l, hw);
	}
	l->win = (uint8_t)(win < l->cfg.window ? win : l->cfg.window);
	l->hb_ms = (uint32_t)hb;
	l->rto_init = l->rto = (uint32_t)rto;
	l->rto_cap = 8 * l->rto_init < 16000 ? 8 * l->rto_init : (l->rto_init > 16000 ? l->rto_init : 16000);
	if (!l->clock_set) { /* §8: a device with an unset clock MAY take WELCOME's */
		l->wall_off = (int64_t)(t - l->mono);
		l->clock_set = 1;
	}
	l->state = OG_ST_ESTABLISHED;
	l->hello_at = 0;
	l->hello_wait = 1000;
	l->ack_now = 1; /* tell the gateway where our side stands at once */
	return;
bad:
	l->stats.dropped[OG_DROP_BAD_BODY]++;
}

static void on_close(og_link *l, const uint8_t *b, size_t n)
{
	const uint8_t *v[5];
	uint64_t code, retry;
	if (og_cbor_check(b, n))
		return;
	og_cbor_index(b, n, v, 5);
	if (og_cbor_get_uint(v[1], 0xffff, &code) || og_cbor_get_uint(v[3], 0xffffffffu, &retry))
		return;
#if OG_WITH_AUTH
	if (code == OG_ERR_ENROLLED && v[4] && !l->has_key && l->cfg.enroll_secret && l->ops.save_key) {
		const uint8_t *k[3], *pub, *e = og_cbor_skip(v[4], b + n);
		size_t pn;
		uint64_t epoch;
		uint8_t z[32], info[24], key[32], zero[32] = {0};
		if (*v[4] >> 5 != 5)
			return;
		og_cbor_index(v[4], (size_t)(e - v[4]), k, 3);
		if (og_cbor_get_bytes(k[1], &pub, &pn) || pn != 32 || og_cbor_get_uint(k[2], 0xffff, &epoch) ||
		    epoch == 0)
			return;
		og_x25519(z, l->cfg.enroll_secret, pub);
		if (og_ct_equal(z, zero, 32))
			return; /* a low-order key (§6.7) */
		memcpy(info, "officegate link key v1", 22);
		og_be16(info + 22, (uint16_t)epoch);
		og_hkdf(z, 32, (const uint8_t *)l->cfg.hardware_id, strlen(l->cfg.hardware_id), info, 24, key, 32);
		if (l->ops.save_key(l->ops.ctx, key, (uint16_t)epoch) != 0)
			return; /* not durable: the gateway will offer again */
		memcpy(l->key, key, 32);
		l->epoch = (uint16_t)epoch;
		l->has_key = 1;
		l->state = OG_ST_HELLO_SENT;
		schedule_hello(l, og_at(l, 0)); /* at once, tagged (§6.7 step 3) */
		return;
	}
#endif
	if (code == OG_ERR_NO_SESSION && !retry) {
		l->state = OG_ST_HELLO_SENT;
		schedule_hello(l, og_at(l, 0));
		return;
	}
	l->state = OG_ST_WAITING;
	if (!retry)
		retry = code == OG_ERR_RETIRED ? 3600000u : jitter(l, l->hello_wait);
	schedule_hello(l, og_at(l, (uint32_t)retry));
}

/* ---- a decoded frame, §2.6 ---- */

static void on_frame(og_link *l, uint8_t *f, size_t n)
{
	og_header h;
	size_t blen;
	uint8_t type;
	uint32_t seq, ack;
	int why = og_frame_parse(f, n, &h);
	if (why >= 0) {
		l->stats.dropped[why]++;
		return;
	}
	type = h.type;
	seq = h.seq;
	ack = h.ack;
	blen = h.len;
#if OG_WITH_AUTH
	if (l->has_key && type != OG_HELLO) {
		uint8_t t[16];
		if (!(h.flags & OG_FLAG_AUTH) || og_rd16(f + OG_HEADER + blen) != l->epoch) {
			l->stats.dropped[OG_DROP_BAD_MAC]++;
			return;
		}
		og_frame_tag(l->key, l->cfg.boot, l->gw_boot, f, OG_HEADER + blen + 2, t);
		if (!og_ct_equal(t, f + OG_HEADER + blen + 2, 16)) {
			l->stats.dropped[OG_DROP_BAD_MAC]++;
			return;
		}
	}
#endif
	if (h.flags & OG_FLAG_FROM_DEVICE) {
		l->stats.dropped[OG_DROP_ECHO]++;
		return;
	}
	l->stats.frames_in++;
	f += OG_HEADER;
	if (type == OG_WELCOME) {
		if (l->state != OG_ST_WAITING)
			on_welcome(l, f, blen);
		l->last_rx = l->now;
		return;
	}
	if (type == OG_CLOSE) {
		on_close(l, f, blen);
		return;
	}
	if (l->state != OG_ST_ESTABLISHED) {
		/* §6.1: only WELCOME and CLOSE count; a sequenced frame or a
		 * heartbeat says the gateway thinks we have a session. */
		if (l->state == OG_ST_HELLO_SENT && (type >= 0x10 || type == OG_HEARTBEAT) &&
		    (int32_t)(l->hello_at - l->now) > 250)
			schedule_hello(l, og_at(l, 250));
		return;
	}
	l->last_rx = l->now;
	if (!on_ack(l, ack) && type == OG_ACK && l->nfl && !l->busy_at) {
		/* Fast retransmit (§5.4): the second standalone ACK in a row that
		 * does not advance means the oldest frame was lost; once per
		 * oldest frame, the timer covers the rest. */
		if (++l->dup_acks >= 2 && l->fast_seq != l->fl[0].seq) {
			l->fast_seq = l->fl[0].seq;
			retransmit(l);
		}
	}
	switch (type) {
	case OG_HEARTBEAT:
	case OG_ACK:
		break;
	case OG_BUSY:
		on_busy(l, f, blen);
		break;
	case OG_TIME_REQ:
		on_time(l, f, blen);
		break;
	default:
		if (type >= 0x10 && type < 0x80)
			on_sequenced(l, type, seq, f, blen);
		/* unknown unsequenced types are ignored (§3) */
	}
}

/* ---- poll ---- */

static void timers(og_link *l)
{
	if (l->state != OG_ST_ESTABLISHED) {
		if (og_due(l, l->hello_at)) {
			uint32_t max = l->cfg.baud <= 9600 ? 16000 : 8000; /* §6.3 */
			if (l->stats.frames_out == 0) {
				uint8_t z = 0; /* ends whatever garbage is on the line (§2.1) */
				l->ops.write(l->ops.ctx, &z, 1);
			}
			l->state = OG_ST_HELLO_SENT;
			send_hello(l);
			l->hello_at = og_at(l, jitter(l, l->hello_wait));
			l->hello_wait = l->hello_wait * 2 > max ? max : l->hello_wait * 2;
		}
		return;
	}
	if ((uint32_t)(l->now - l->last_rx) >= 3u * l->hb_ms) { /* link down (§6.3): keep everything */
		l->stats.link_downs++;
		l->state = OG_ST_HELLO_SENT;
		l->hello_wait = 1000;
		l->hello_at = og_at(l, jitter(l, 1000));
		return;
	}
#if OG_WITH_FIRMWARE
	og_fw_timers(l);
#endif
	if (og_due(l, l->busy_at)) {
		l->busy_at = 0;
		retransmit(l);
	} else if (!l->busy_at && l->nfl && og_due(l, l->rto_at)) {
		retransmit(l);
		l->rto = 2 * l->rto > l->rto_cap ? l->rto_cap : 2 * l->rto;
		l->rto_at = og_at(l, l->rto);
	}
	pump(l);
	if (l->ack_now || og_due(l, l->ack_at))
		send_empty(l, OG_ACK);
	if ((uint32_t)(l->now - l->last_tx) >= l->hb_ms)
		send_empty(l, OG_HEARTBEAT);
}

void og_link_poll(og_link *l, uint32_t now, const uint8_t *in, size_t n)
{
	size_t i, cap = l->cfg.rx_cap < OG_RXBUF(OG_FRAME_MAX) ? l->cfg.rx_cap : OG_RXBUF(OG_FRAME_MAX);
	if (!l->started) { /* the first poll: the clock's origin, HELLO at once */
		l->started = 1;
		l->now = now;
		l->last_rx = l->last_tx = now;
		l->hello_at = og_at(l, 0);
	}
	l->mono += (uint32_t)(now - l->now);
	l->now = now;
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (c == 0) {
			if (!l->rx_skip && l->rx_len) {
				size_t m = og_cobs_decode(l->cfg.rx, l->rx_len);
				if (m == (size_t)-1)
					l->stats.dropped[OG_DROP_BAD_COBS]++;
				else
					on_frame(l, l->cfg.rx, m);
			}
			l->rx_len = 0;
			l->rx_skip = 0;
		} else if (!l->rx_skip) {
			if (l->rx_len >= cap) { /* §2.4: the 1030th byte; skip to the next 0x00 */
				l->stats.dropped[OG_DROP_OVERSIZE]++;
				l->rx_skip = 1;
			} else
				l->cfg.rx[l->rx_len++] = c;
		}
	}
	timers(l);
}
