/* og_fw.c — firmware transfer on the device (PROTOCOL.md §10): offer,
 * chunks with resume from the bytes held, SHA-256 and Ed25519 checks, test
 * boot and confirm. */
#include <string.h>

#include "og_crypto.h"
#include "og_internal.h"

#if OG_WITH_FIRMWARE

enum { FW_IDLE, FW_RECEIVING, FW_READY, FW_REJECTED, FW_REBOOTING, FW_CONFIRMED };

static void status(og_link *l, uint8_t state, uint16_t code)
{
	og_cbor_wr w;
	og_ctl_begin(l, &w);
	og_cbor_map(&w, 3u + (code != 0));
	og_cbor_uint(&w, 1), og_cbor_uint(&w, l->fw_xfer);
	og_cbor_uint(&w, 2), og_cbor_uint(&w, l->fw.held);
	og_cbor_uint(&w, 3), og_cbor_uint(&w, state);
	if (code)
		og_cbor_uint(&w, 4), og_cbor_uint(&w, code);
	og_ctl_push(l, OG_FW_STATUS, &w);
	l->fw_chunks = 0;
}

static void forget(og_link *l)
{
	memset(&l->fw, 0, sizeof l->fw);
	if (l->ops.fw_save)
		l->ops.fw_save(l->ops.ctx, &l->fw);
}

/* verify hashes the slot and checks the vendor's signature over
 * "officegate/fw/v1" ‖ SHA-256(image) (§10.1). */
static uint16_t verify(og_link *l)
{
	og_sha256 s;
	uint8_t got[32], m[48], *buf = OG_BODY(l);
	uint32_t off = 0;
	og_sha256_init(&s);
	while (off < l->fw.size) {
		uint32_t k = l->fw.size - off > 256 ? 256 : l->fw.size - off;
		if (l->ops.fw_read(l->ops.ctx, off, buf, k) != 0)
			return OG_ERR_FLASH;
		og_sha256_update(&s, buf, k);
		off += k;
	}
	og_sha256_final(&s, got);
	if (!og_ct_equal(got, l->fw.sha, 32))
		return OG_ERR_BAD_HASH;
	memcpy(m, "officegate/fw/v1", 16);
	memcpy(m + 16, got, 32);
	if (!l->cfg.fw_pubkey || og_ed25519_verify(l->fw.sig, m, 48, l->cfg.fw_pubkey) != 0)
		return OG_ERR_BAD_SIGNATURE;
	return 0;
}

static void complete(og_link *l)
{
	uint16_t code = verify(l);
	if (code) {
		forget(l);
		if (l->ops.fw_erase)
			l->ops.fw_erase(l->ops.ctx);
		status(l, FW_REJECTED, code);
		return;
	}
	l->fw.verified = 1;
	l->ops.fw_save(l->ops.ctx, &l->fw);
	status(l, FW_READY, 0);
}

static void offer(og_link *l, const uint8_t **v)
{
	uint64_t xfer, size;
	const uint8_t *sha, *sig, *ver;
	size_t shan, sign, vern;
	if (og_cbor_get_uint(v[1], 0xffffffffu, &xfer) || xfer == 0 || og_cbor_get_uint(v[2], 0xffffffffu, &size) ||
	    size == 0 || og_cbor_get_bytes(v[3], &sha, &shan) || shan != 32 || og_cbor_get_bytes(v[4], &sig, &sign) ||
	    sign != 64 || og_cbor_get_text(v[5], 1, 32, &ver, &vern))
		return;
	l->fw_xfer = (uint32_t)xfer;
	if (size > l->cfg.fw_slot) {
		l->fw.held = 0;
		status(l, FW_REJECTED, OG_ERR_TOO_LARGE);
		return;
	}
	if (l->fw.size == size && memcmp(l->fw.sha, sha, 32) == 0) {
		/* The same image: resume from what is held, or it is ready. */
		status(l, l->fw.verified ? FW_READY : FW_RECEIVING, 0);
		return;
	}
	forget(l);
	if (l->ops.fw_erase(l->ops.ctx) != 0) {
		status(l, FW_REJECTED, OG_ERR_FLASH);
		return;
	}
	l->fw.size = (uint32_t)size;
	memcpy(l->fw.sha, sha, 32);
	memcpy(l->fw.sig, sig, 64);
	memcpy(l->fw.version, ver, vern);
	l->ops.fw_save(l->ops.ctx, &l->fw);
	status(l, FW_RECEIVING, 0);
}

static void chunk(og_link *l, const uint8_t **v)
{
	uint64_t xfer, off;
	const uint8_t *d;
	size_t n;
	if (og_cbor_get_uint(v[1], 0xffffffffu, &xfer) || og_cbor_get_uint(v[2], 0xffffffffu, &off) ||
	    og_cbor_get_bytes(v[3], &d, &n) || n < 1 || n > 512)
		return;
	if (xfer != l->fw_xfer || l->fw.size == 0 || l->fw.verified) {
		status(l, l->fw.verified ? FW_READY : FW_IDLE, 0);
		return;
	}
	if (off + n <= l->fw.held)
		return; /* a retransmission of what is held */
	if (off != l->fw.held || off + n > l->fw.size) {
		status(l, FW_RECEIVING, OG_ERR_BAD_OFFSET); /* a gap: continue from here */
		return;
	}
	if (l->ops.fw_write(l->ops.ctx, (uint32_t)off, d, n) != 0) {
		status(l, FW_REJECTED, OG_ERR_FLASH);
		return;
	}
	l->fw.held += (uint32_t)n;
	if (l->fw.held == l->fw.size) {
		complete(l);
		return;
	}
	if (++l->fw_chunks >= 16) { /* progress at least every 16 chunks (§10.2) */
		l->ops.fw_save(l->ops.ctx, &l->fw);
		status(l, FW_RECEIVING, 0);
	}
}

static void activate(og_link *l, const uint8_t **v)
{
	const uint8_t *sha;
	size_t n;
	int confirm;
	if (og_cbor_get_bytes(v[1], &sha, &n) || n != 32 || og_cbor_get_bool(v[2], &confirm))
		return;
	if (confirm) {
		if (l->ops.fw_activate(l->ops.ctx, sha, 1) == 0)
			status(l, FW_CONFIRMED, 0);
		else
			status(l, FW_REJECTED, OG_ERR_UNKNOWN_IMAGE);
		return;
	}
	if (!l->fw.verified || memcmp(sha, l->fw.sha, 32) != 0) {
		status(l, FW_REJECTED, OG_ERR_UNKNOWN_IMAGE);
		return;
	}
	status(l, FW_REBOOTING, 0);
	/* Reboot once the status is acknowledged, or after 1 s (§10.3). */
	memcpy(l->fw_reboot_sha, sha, 32);
	l->reboot_at = og_at(l, 1000);
}

int og_fw_deliver(og_link *l, uint8_t type, const uint8_t *body, size_t n)
{
	const uint8_t *v[6];
	if (!l->ops.fw_erase || !l->ops.fw_write || !l->ops.fw_read || !l->ops.fw_save || !l->ops.fw_activate)
		return 0;
	og_cbor_index(body, n, v, 6);
	if (type == OG_FW_OFFER)
		offer(l, v);
	else if (type == OG_FW_CHUNK)
		chunk(l, v);
	else if (type == OG_FW_ACTIVATE)
		activate(l, v);
	return 0;
}

void og_fw_timers(og_link *l)
{
	/* The rebooting status has left the ctl queue (acknowledged), or 1 s. */
	if (l->reboot_at && (l->ctl_tail == 0 || og_due(l, l->reboot_at))) {
		l->reboot_at = 0;
		l->ops.fw_activate(l->ops.ctx, l->fw_reboot_sha, 0);
	}
}

#endif
