// Package webhook POSTs events to an HTTP endpoint, in signed JSON batches.
//
// # Request
//
// Each request is a POST to the configured url with Content-Type
// application/json and this body (§1):
//
//	{"events": [{"topic": "officegate/gw1/devices/t1/events/attendance.punch",
//	             "message": {"v": 1, "id": "…", "type": "attendance.punch", …}}, …]}
//
// message is the envelope (or command result) as the MQTT uplink
// publishes it on topic (gateway/MQTT.md), except that a clear card number
// (data.card) is never sent (sinks.WithoutCard; card_hash is); events are in journal order,
// which keeps each device's order. A request holds at most `batch` events
// (default 100): what the journal already holds when the sink looks, so
// events that trickle in go one per request, at once, and a backlog goes
// in full batches.
//
// # Headers (§2)
//
//   - Idempotency-Key: the event's id when the request holds one event;
//     for several, "<first id>..<last id>". A retried request carries the
//     same key. After a gateway restart a backlog may be cut into batches
//     differently, so a receiver taking batches deduplicates by each
//     message's id (stable across every retry, MQTT.md), not by the key.
//   - Officegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>, present
//     when a secret is configured (secret_file).
//   - User-Agent: officegate-webhook/1.
//
// # Verifying a request (§3)
//
// The receiver holds the same secret (the bytes of secret_file, without
// a trailing newline). For each request:
//
//  1. Read the raw body as bytes, before any JSON parsing.
//  2. Split Officegate-Signature on "," into key=value pairs; take t (a
//     decimal Unix time in seconds) and every v1 (a receiver may be sent
//     several v1 during a key rotation; one matching is enough).
//  3. Compute HMAC-SHA256 with the secret as key over the bytes of t, a
//     "." and the raw body: HMAC(secret, t + "." + body); hex-encode it in
//     lower case.
//  4. Compare it with v1 in constant time (hmac.Equal). No match: reject
//     with 401 (the gateway dead-letters on a 4xx: nothing is retried, the
//     operator sees an alarm).
//  5. Reject a t more than 5 minutes from the receiver's clock (replay
//     protection); the signature covers t, so it cannot be changed.
//
// In Go (webhooktest.Verify is this recipe, and the test
// TestSignatureRecipe checks the sink against it):
//
//	mac := hmac.New(sha256.New, secret)
//	mac.Write([]byte(t + "." + string(body)))
//	ok := hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(v1))
//
// A retry is signed again with its own t.
//
// # Answers (§4)
//
//   - 2xx: every event of the request is delivered.
//   - 408, 429, 5xx, no answer (a network error, a timeout): retried, the
//     whole request, after a jittered exponential backoff, never before
//     a Retry-After the answer gives (seconds or an HTTP date).
//   - 3xx: retried, never followed: a redirect would turn the POST into a
//     GET without its body (301, 302, 303) or send the events and their
//     signature to another place; the operator sets url to where it points.
//   - any other 4xx: refused for good. A one-event request's event goes to
//     the dead-letter stream; a batch is resent one event per request so
//     that only the event the receiver refuses is dead-lettered.
//
// The sink never logs or returns the secret, the url's credentials or
// query, or the answer's body: errors name the status and the event ids.
package webhook
