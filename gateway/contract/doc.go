// Package contract holds the MQTT contract's JSON Schemas and validates
// payloads against them.
//
// The contract itself is prose, in gateway/MQTT.md; the schemas in schemas/
// (JSON Schema draft 2020-12) are its machine-readable half and are embedded
// here, so that the gateway's tests, the uplink's tests and a consumer written
// in Go check payloads against the very files the document describes.
//
// Validate is what a consumer needs: it is forward compatible (fields the
// schema does not name are allowed, MQTT.md "Versioning"). Strict adds the
// check the gateway's own output must pass: no field the schema does not name,
// at the top level and in the data of every event type the contract specifies.
// CheckPublished holds a message to the schema its topic selects (ParseTopic):
// an event by the type level of its topic, which must have a schema of its
// own; the gateway's conformance test runs every published message through it.
package contract
