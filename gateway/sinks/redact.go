package sinks

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// WithoutCard returns an envelope (JSON, as Event.Payload) without a clear
// card number in its data: no sink sends one (a punch keeps card_hash, the
// HMAC of the card under the site key, which identifies the card to whoever
// holds the key and to nobody else). An envelope without one is returned as
// it is; one that is rewritten keeps every other field (keys sorted).
func WithoutCard(payload []byte) ([]byte, error) {
	// Only a key is followed by a colon: inside a string value the quotes
	// are escaped. Most punches carry "card" as a value (credential) only.
	if !bytes.Contains(payload, []byte(`"card":`)) && !bytes.Contains(payload, []byte(`"card" :`)) {
		return payload, nil
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(payload, &env); err != nil {
		return nil, fmt.Errorf("sinks: envelope: %w", err)
	}
	var data map[string]json.RawMessage
	if raw, ok := env["data"]; !ok || json.Unmarshal(raw, &data) != nil {
		return payload, nil
	}
	if _, ok := data["card"]; !ok {
		return payload, nil
	}
	delete(data, "card")
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("sinks: envelope data: %w", err)
	}
	env["data"] = b
	return json.Marshal(env)
}

// DataWithoutCard is WithoutCard for an envelope's data object alone
// (JSON): the same bytes WithoutCard leaves in the envelope's data.
func DataWithoutCard(data []byte) ([]byte, error) {
	if !bytes.Contains(data, []byte(`"card":`)) && !bytes.Contains(data, []byte(`"card" :`)) {
		return data, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return data, nil
	}
	if _, ok := m["card"]; !ok {
		return data, nil
	}
	delete(m, "card")
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sinks: envelope data: %w", err)
	}
	return b, nil
}
