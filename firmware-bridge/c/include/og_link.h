/* og_link.h — the device side of the officegate firmware-bridge link, in C99.
 *
 * One og_link is one device's end of the serial link (PROTOCOL.md). The
 * library owns no memory and no state outside the og_link the application
 * allocates, never blocks and never allocates: the application calls
 * og_link_poll with the bytes its UART received and the time, from one
 * thread (its main loop), and the library calls back into the application
 * for what only it can do (write bytes, keep records in flash, run commands).
 *
 * Features are chosen at compile time (the same value for every file):
 *   OG_WITH_AUTH      HMAC-SHA256 tags and X25519 + HKDF enrollment (§2.5, §6.7)
 *   OG_WITH_FIRMWARE  firmware transfer with SHA-256 + Ed25519 checks (§10)
 *   OG_WITH_CONFIG    configuration push by hash (§9.3; needs SHA-256)
 * All default to 1. The README tells how to integrate it; every call below
 * says which section of PROTOCOL.md it implements.
 */
#ifndef OG_LINK_H
#define OG_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "og_cbor.h"

#ifndef OG_WITH_AUTH
#define OG_WITH_AUTH 1
#endif
#ifndef OG_WITH_FIRMWARE
#define OG_WITH_FIRMWARE 1
#endif
#ifndef OG_WITH_CONFIG
#define OG_WITH_CONFIG 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Normative numbers, PROTOCOL.md §13. */
#define OG_FRAME_MAX 1024 /* decoded frame cap, §2.4 */
#define OG_MTU_MIN 256
#define OG_WINDOW_MAX 16
#define OG_HEADER 13
#define OG_TAGGED 18 /* key epoch + tag, §2.5 */
#define OG_COMMANDS 32 /* command ids remembered, §9.2 */

/* OG_RXBUF(mtu) is the receive buffer a device of that mtu needs: the largest
 * COBS encoding of an mtu-byte frame (§2.1). */
#define OG_RXBUF(mtu) ((mtu) + (mtu) / 254 + 1)

/* Capability bits, §7. */
enum {
	OG_CAP_EVENTS = 1 << 0,
	OG_CAP_COMMANDS = 1 << 1,
	OG_CAP_TIME = 1 << 2,
	OG_CAP_CONFIG = 1 << 3,
	OG_CAP_FIRMWARE = 1 << 4,
	OG_CAP_AUTH = 1 << 5,
	OG_CAP_RTC = 1 << 6
};

/* Frame types, §3. */
enum {
	OG_HELLO = 0x01, OG_WELCOME = 0x02, OG_CLOSE = 0x03, OG_HEARTBEAT = 0x04,
	OG_ACK = 0x05, OG_BUSY = 0x06, OG_TIME_REQ = 0x07, OG_TIME_RESP = 0x08,
	OG_EVENT = 0x10, OG_COMMAND = 0x11, OG_RESULT = 0x12, OG_CONFIG = 0x13,
	OG_CONFIG_STATUS = 0x14, OG_FW_OFFER = 0x20, OG_FW_CHUNK = 0x21,
	OG_FW_STATUS = 0x22, OG_FW_ACTIVATE = 0x23
};

/* Flags, §2.3. */
#define OG_FLAG_AUTH 0x01
#define OG_FLAG_FROM_DEVICE 0x02

/* Error codes, §11. */
enum {
	OG_ERR_OK = 0, OG_ERR_PENDING = 5, OG_ERR_RETIRED = 6, OG_ERR_AUTH_REQUIRED = 7,
	OG_ERR_NO_SESSION = 12, OG_ERR_ENROLLED = 13, OG_ERR_TOO_LARGE = 20,
	OG_ERR_BAD_OFFSET = 21, OG_ERR_BAD_HASH = 22, OG_ERR_BAD_SIGNATURE = 23,
	OG_ERR_FLASH = 24, OG_ERR_UNKNOWN_IMAGE = 26, OG_ERR_DOWNGRADE = 28,
	OG_ERR_CONFIG_INVALID = 30
};

/* RESULT status, §4.11. */
enum { OG_RESULT_OK = 0, OG_RESULT_ERROR = 1, OG_RESULT_UNSUPPORTED = 2, OG_RESULT_BUSY = 3, OG_RESULT_EXPIRED = 4 };

/* Why received frames were dropped (§2.6), counted in og_stats. */
enum {
	OG_DROP_OVERSIZE, OG_DROP_BAD_COBS, OG_DROP_SHORT, OG_DROP_BAD_CRC, OG_DROP_BAD_VERSION,
	OG_DROP_BAD_LENGTH, OG_DROP_BAD_MAC, OG_DROP_ECHO, OG_DROP_BAD_BODY, OG_DROP_REASONS
};

/* Results of the library's calls. */
enum {
	OG_OK = 0,
	OG_EFULL = -1,  /* the record store refused the record (full or flash error) */
	OG_EARG = -2,   /* a bad argument: named in the call's comment */
	OG_ESPACE = -3  /* a buffer is too small for it */
};

/* An event id [boot, n], §6.4. */
typedef struct og_event_id {
	uint32_t boot;
	uint32_t n;
} og_event_id;

/* og_store is the device's non-volatile record store (§9.1). The library
 * gives each event its id, appends it here before anything is sent, and
 * deletes records only when the gateway has committed them: losing one
 * takes a store that lies about append. Records are opaque bytes (the EVENT
 * body) of at most mtu - 35 bytes, kept in order. */
typedef struct og_store {
	/* append keeps rec durably (it survives a power loss once this returns
	 * 0). Non-zero: full or a flash error; the event's id is used up anyway
	 * (§9.1: the gateway sees the gap). */
	int (*append)(void *ctx, const uint8_t *rec, size_t len);
	/* peek copies the i-th oldest record (0 = oldest) into buf and returns
	 * its length, or -1 when there are not that many. */
	int (*peek)(void *ctx, uint32_t i, uint8_t *buf, size_t cap);
	/* drop deletes the n oldest records (they are committed). It may be
	 * lazy: a record the gateway sees again is dropped there by its id. */
	void (*drop)(void *ctx, uint32_t n);
} og_store;

/* A COMMAND as the application sees it (§9.2), after the library's duplicate
 * and deadline checks. Strings point into the receive buffer, are not
 * NUL-terminated, and live only during the call. */
typedef struct og_command {
	const char *id;
	size_t id_len;
	const char *name;
	size_t name_len;
	const uint8_t *args; /* a CBOR data map, or NULL */
	size_t args_len;
} og_command;

/* The application's answer to a command. data is a buffer of data_cap bytes
 * the application may fill with a CBOR data map (og_cbor_wr) and set
 * data_len; text is an optional error text (NUL-terminated, ≤ 200 bytes). */
typedef struct og_result {
	uint8_t status;
	const char *text;
	uint8_t *data;
	size_t data_cap;
	size_t data_len;
} og_result;

#if OG_WITH_FIRMWARE
/* What the device holds of a firmware transfer (§10), kept in flash by the
 * application through fw_save so a transfer resumes after a reboot. */
typedef struct og_fw_state {
	uint32_t size;     /* image size, 0 = nothing held */
	uint32_t held;     /* bytes held contiguously from 0 */
	uint8_t sha[32];   /* SHA-256 of the image */
	uint8_t sig[64];   /* its Ed25519 signature, checked when complete */
	uint8_t verified;  /* 1 once hash and signature matched */
	char version[33];  /* the offer's version, NUL-terminated */
} og_fw_state;
#endif

/* og_ops is what the application does for the library. ctx is passed back.
 * Every function is called from og_link_poll or og_link_event, never from
 * elsewhere, and must not call back into the library. */
typedef struct og_ops {
	void *ctx;
	/* write queues n bytes for the UART. It must take them all; tx_room
	 * (optional) says how many it can take now, and the library starts a
	 * frame only when the whole frame fits. */
	void (*write)(void *ctx, const uint8_t *b, size_t n);
	size_t (*tx_room)(void *ctx);
	/* random returns 32 random bits (HELLO jitter, §6.3). Optional. */
	uint32_t (*random)(void *ctx);
	og_store store;
	/* command runs a command and fills res (status defaults to ok); NULL
	 * answers every command unsupported. */
	void (*command)(void *ctx, const og_command *cmd, og_result *res);
#if OG_WITH_CONFIG
	/* config applies a configuration whose hash checked out, storing bytes
	 * and hash atomically; returns 0 (applied) or OG_ERR_CONFIG_INVALID with
	 * *text naming the key. NULL refuses configurations. */
	int (*config)(void *ctx, const uint8_t *cfg, size_t len, const uint8_t hash[32], const char **text);
#endif
#if OG_WITH_AUTH
	/* save_key stores the agreed link key and epoch durably (§6.7); 0 only
	 * once it is in flash. */
	int (*save_key)(void *ctx, const uint8_t key[32], uint16_t epoch);
#endif
#if OG_WITH_FIRMWARE
	/* The spare slot (§10): erase it, write and read bytes at an offset
	 * (0 = ok), and keep st in flash (called on every offer and status). */
	int (*fw_erase)(void *ctx);
	int (*fw_write)(void *ctx, uint32_t off, const uint8_t *b, size_t n);
	int (*fw_read)(void *ctx, uint32_t off, uint8_t *b, size_t n);
	int (*fw_save)(void *ctx, const og_fw_state *st);
	/* fw_activate: confirm = 0, mark the verified image for a test boot and
	 * reboot (the library calls it once FW_STATUS rebooting is acknowledged
	 * or after 1 s); confirm = 1, make the running image permanent (0 = ok). */
	int (*fw_activate)(void *ctx, const uint8_t sha[32], int confirm);
#endif
} og_ops;

/* og_config is the device's identity and the caller's buffers. Strings are
 * NUL-terminated and must outlive the link. */
typedef struct og_config {
	const char *hardware_id; /* 1..64 bytes, stable per unit (§4.2 key 1) */
	const char *model;       /* 1..64 */
	const char *firmware;    /* running image's version, 1..32 */
	uint8_t kind;            /* 0 other, 1 terminal, 2 kiosk, 3 room panel */
	uint32_t boot;           /* ≠ 0: the flash counter, incremented before this boot sent anything (§6.4) */
	uint32_t caps;           /* OG_CAP_*; the library clears what is compiled out */
	uint32_t baud;           /* the UART's rate; 0 = 115200 (§5.4) */
	uint8_t window;          /* frames it can hold unacknowledged, 1..16; 0 = §5.4 default */
	uint8_t image_state;     /* §4.2 key 14: 0 confirmed, 1 testing, 2 reverted */
	const char *reverted;    /* key 15 when image_state is 2 */
	uint16_t revert_code;    /* key 16 */
	const uint8_t *config_hash; /* 32 bytes: the configuration in force, or NULL */
	uint64_t clock_ms;       /* the wall clock now (ms since 1970); trusted if clock_set (an RTC) */
	uint8_t clock_set;
	/* Buffers. rx: at least OG_RXBUF(256) bytes, mtu follows from its size.
	 * tx: the largest frame it sends, at least 256 bytes. ctl: sequenced
	 * replies (RESULT, CONFIG_STATUS, FW_STATUS) until acknowledged, at least
	 * 600 bytes; 1024
	 * bytes hold several. */
	uint8_t *rx;
	size_t rx_cap;
	uint8_t *tx;
	size_t tx_cap;
	uint8_t *ctl;
	size_t ctl_cap;
#if OG_WITH_AUTH
	const uint8_t *key; /* 32 bytes: the link key, or NULL before enrollment */
	uint16_t key_epoch;
	/* 32 random bytes: this boot's X25519 enrollment secret (§6.7), used
	 * while there is no key; NULL offers no enrollment key. */
	const uint8_t *enroll_secret;
#endif
#if OG_WITH_FIRMWARE
	const uint8_t *fw_pubkey; /* 32 bytes: the vendor's Ed25519 key (§10.1) */
	uint32_t fw_slot;         /* spare slot size in bytes */
	og_fw_state fw;           /* what fw_save last stored */
#endif
} og_config;

typedef struct og_stats {
	uint32_t frames_in, frames_out, retransmits, busy_in, busy_out, dups_in;
	uint32_t dropped[OG_DROP_REASONS];
	uint32_t sessions, resumes, link_downs;
} og_stats;

/* One in-flight sequenced frame. */
typedef struct og_inflight {
	uint32_t seq;
	uint8_t type;
	uint16_t ctl; /* offset in the ctl queue, for a non-EVENT */
} og_inflight;

/* og_link is the whole state. Allocate it (statically is fine) and treat it
 * as opaque: the fields are here only so its size is known. */
typedef struct og_link {
	og_config cfg;
	og_ops ops;
	og_stats stats;
	uint16_t mtu;          /* largest frame we accept */
	uint8_t state;         /* §6.8 */
	uint8_t win;           /* window: offered, then the session's */
	/* time */
	uint32_t now;          /* the caller's ms, wrapping: timers compare differences */
	uint64_t mono;         /* ms since init, for the wall clock */
	uint8_t started;
	int64_t wall_off;      /* wall clock = now + wall_off */
	uint8_t clock_set;
	/* session */
	uint32_t gw_boot;      /* the session's gateway boot, 0 = none yet */
	uint32_t hb_ms, rto_init, rto, rto_cap;
	/* deadlines in the caller's ms; 0 = not armed */
	uint32_t hello_at, hello_wait, last_rx, last_tx, ack_at, rto_at, busy_at, reboot_at;
	uint32_t busy_wait, busy_seq;
	uint32_t fast_seq;     /* oldest frame last fast-retransmitted */
	uint8_t dup_acks;      /* standalone ACKs in a row that did not advance */
	/* our stream */
	uint32_t snd_next;     /* seq of the next new sequenced frame */
	og_inflight fl[OG_WINDOW_MAX];
	uint8_t nfl;           /* frames in flight */
	uint8_t nfl_ev;        /* of which EVENTs (the oldest records of the store) */
	uint16_t ctl_head, ctl_tail, ctl_sent; /* ctl queue: [head, sent) in flight, [sent, tail) waiting */
	/* the gateway's stream */
	uint32_t rcv_next, rcv_ack;
	uint8_t ack_now;
	/* events */
	uint32_t ev_n;         /* last event number of this boot */
	/* commands: hashes of the last 32 ids and their status */
	uint32_t cmd_hash[OG_COMMANDS];
	uint8_t cmd_status[OG_COMMANDS];
	uint8_t cmd_next;
	/* receive */
	uint16_t rx_len;
	uint8_t rx_skip;
	uint32_t prng;
#if OG_WITH_CONFIG
	uint8_t cfg_hash[32];
	uint8_t has_cfg;
#endif
#if OG_WITH_AUTH
	uint8_t key[32];
	uint16_t epoch;
	uint8_t has_key;
	uint8_t enroll_pub[32];
#endif
#if OG_WITH_FIRMWARE
	og_fw_state fw;
	uint32_t fw_xfer;
	uint8_t fw_chunks;
	uint8_t fw_reboot_sha[32];
#endif
} og_link;

/* Link states, §6.8. */
enum { OG_ST_HELLO_SENT, OG_ST_WAITING, OG_ST_ESTABLISHED };

/* og_link_init checks cfg and prepares l; nothing is sent until the first
 * poll. OG_EARG: a missing string or callback, boot 0, a buffer too small.
 * With enrollment it computes the X25519 public key (≈ 1 s on a 48 MHz
 * Cortex-M0+). */
int og_link_init(og_link *l, const og_config *cfg, const og_ops *ops);

/* og_link_poll feeds n received bytes (n may be 0) at time now (monotonic
 * ms, any origin, wrapping at 2^32), runs the timers, and writes what is due.
 * Call it whenever bytes arrive and at least every 10 ms. */
void og_link_poll(og_link *l, uint32_t now, const uint8_t *in, size_t n);

/* og_link_event records an event (§9.1): type is a §4.1 name, data a CBOR
 * data map (NULL for none). It is appended to the store with its id before
 * this returns, and sent when the window allows. OG_EFULL: not stored (the
 * id is used up, so the gateway sees the gap). */
int og_link_event(og_link *l, const char *type, const uint8_t *data, size_t data_len, og_event_id *id);

/* og_link_clock returns the wall clock (ms since the Unix epoch) and
 * whether it is set (§8). */
uint64_t og_link_clock(const og_link *l, int *set);

/* og_link_established says whether a session is up. */
int og_link_established(const og_link *l);

/* og_link_held returns how many records the store holds (by peeking). */
uint32_t og_link_held(og_link *l);

/* Building blocks, exported for tests and for firmware that wants them. */
typedef struct og_header {
	uint8_t type, flags;
	uint32_t seq, ack;
	uint16_t len;
} og_header;
/* og_frame_parse checks a decoded frame by §2.6 steps 3–6: -1 if it passes
 * (h is filled), else the OG_DROP_ reason. */
int og_frame_parse(const uint8_t *f, size_t n, og_header *h);
/* og_frame_seal completes a frame whose type, flags, seq and ack are in
 * f[1..10] and whose body follows the header: version, length, with key the
 * key epoch and tag (AUTH is set), and the CRC. Returns the frame length. */
size_t og_frame_seal(uint8_t *f, size_t body_len, const uint8_t *key, uint16_t epoch, uint32_t dev_boot,
                     uint32_t gw_boot);
#if OG_WITH_AUTH
/* og_frame_tag computes the tag of §2.5 over the frame's first n bytes. */
void og_frame_tag(const uint8_t key[32], uint32_t dev_boot, uint32_t gw_boot, const uint8_t *f, size_t n,
                  uint8_t t[16]);
#endif
uint32_t og_crc32c(uint32_t crc, const uint8_t *p, size_t n);
size_t og_cobs_decode(uint8_t *buf, size_t n); /* in place; (size_t)-1 on error */
/* og_cobs_encode writes COBS(src) through write, without the delimiter. */
void og_cobs_encode(const uint8_t *src, size_t n, void (*write)(void *ctx, const uint8_t *b, size_t n), void *ctx);

#ifdef __cplusplus
}
#endif
#endif
