/* og_internal.h — what the link's files share (not part of the API). */
#ifndef OG_INTERNAL_H
#define OG_INTERNAL_H

#include "og_link.h"

static inline void og_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void og_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline uint16_t og_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t og_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* og_at returns the deadline ms from now (never 0, which means unarmed);
 * og_due says whether deadline t is armed and has come. Differences, not
 * values, are compared: the caller's clock wraps every 49 days. */
static inline uint32_t og_at(const og_link *l, uint32_t ms)
{
	uint32_t t = l->now + ms;
	return t ? t : 1;
}
static inline int og_due(const og_link *l, uint32_t t) { return t && (int32_t)(l->now - t) >= 0; }

/* The body of a frame being built starts after the header in cfg.tx. */
#define OG_BODY(l) ((l)->cfg.tx + OG_HEADER)
/* The largest body the link sends: tx buffer less header, tag and CRC. */
#define OG_BODY_CAP(l) ((l)->cfg.tx_cap - OG_HEADER - OG_TAGGED - 4)

/* og_ctl_push queues a sequenced reply whose body the writer w built in the
 * free part of the ctl queue (started by og_ctl_begin). */
int og_ctl_begin(og_link *l, og_cbor_wr *w);
int og_ctl_push(og_link *l, uint8_t type, og_cbor_wr *w);
size_t og_ctl_free(const og_link *l);

#if OG_WITH_FIRMWARE
/* og_fw_deliver handles FW_OFFER, FW_CHUNK, FW_ACTIVATE (§10); it returns 1
 * to refuse the frame with BUSY. */
int og_fw_deliver(og_link *l, uint8_t type, const uint8_t *body, size_t n);
void og_fw_timers(og_link *l);
#endif

#endif
