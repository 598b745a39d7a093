// Package devices defines the contract between the gateway and its hardware
// drivers. It holds events, commands, the driver interfaces and a registry.
//
// # Drivers
//
// A Driver runs with a context and emits Events to a Sink until the context
// is cancelled; Run returns nil then, because cancellation is how the gateway
// stops a driver, not a failure. Extra abilities are optional interfaces: a
// driver that takes commands also implements Commander, one that can report
// its health implements Statuser. Drivers know nothing of MQTT, the journal
// or configuration files: the gateway hands them a decoded Options and a
// Sink.
//
// # Custody of events
//
// Sink.Emit returns only once the event is durable on the gateway. Until it
// returns nil, the event is the driver's: an error wrapping ErrBusy is
// back-pressure (the disk is full or the journal is behind), and the driver
// keeps the event and retries, or leaves it in the device's memory and asks
// again later. A driver whose hardware has no memory (a Wiegand reader, a
// button) that cannot keep an event any longer logs the loss and counts it in
// Status.Counters ("events_lost"); it never drops one silently.
//
// An event the device can re-send carries an EventSource (hardware id, boot
// counter, sequence) from which the gateway derives an id that is the same on
// every retry, so consumers deduplicate. An event the gateway originates (a
// card read on GPIO) has a zero EventSource: the gateway draws a random id
// once, when it journals the event, and that id is then as stable as the
// other kind.
//
// # Privacy
//
// No biometric material enters an event: CheckData refuses templates,
// photos, images and raw fingerprint data at any depth, and byte strings too
// large to be anything but such material. Event.Check applies it, and the
// gateway checks every event again before it journals it.
//
// # Registry
//
// A Registry maps a kind ("terminal", "wiegand", "kiosk") to the Factory
// that builds its driver. It is a plain value, not a package global: the
// gateway's main builds the one with every driver, tests build their own.
package devices
