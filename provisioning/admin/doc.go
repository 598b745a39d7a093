// Package admin owns the admin service: the one place where devices are listed
// and changed. Devices are listed, approved, renamed, disabled, retired,
// replaced and configured here, whether a person asks through the CLI (a Unix
// socket) or an admin system through MQTT gateway commands.
//
// The daemon makes one Service (New) over its provisioning.Registry and its
// live links (Links), serves the socket (Serve) and routes
// {root}/{gw}/commands/{name} to Command. Every mutation is the registry's,
// durable before it answers. Errors wrap provisioning's sentinels
// (ErrNotFound, ErrState, ErrConflict, ErrInvalid, ErrManifest) or
// ErrNoProfile, so each caller maps them to its own vocabulary.
//
// # Socket API
//
// HTTP/1.1 on a Unix socket, by default /run/officegate/admin.sock, mode 0660
// whatever the umask, owned by the configured group (provisioning.socket_group)
// or else the daemon's: whoever may use it is in that group (or root); there
// is no other authentication. Request and response bodies are
// JSON (UTF-8), except the manifest of POST /v1/import (text/csv). Unknown
// fields in a request are refused (400), so a misspelt field never goes
// unnoticed. Client reads an answer of at most MaxReply (16 MiB); a longer
// one is an error saying so, never a reply cut short. Device JSON (Device)
// has hardware_id, device_id (absent while pending), name, kind, model,
// room, profile, state (pending, active, disabled, retired), keyed, port,
// online, firmware, clock (synced, drifted, unknown: while its link knows
// it), config_hash (hex),
// refused (why the link last refused its HELLO), last_seen, created, updated.
//
//	GET    /v1/devices                  → {time, devices: [Device…], window?, preapprovals}
//	GET    /v1/devices/{id}             → Device; {id} is a device id or a hardware id
//	POST   /v1/devices/{hw}/approve     {id, name?, room?, profile?} → Device
//	POST   /v1/devices/{id}/rename      {name} → Device
//	POST   /v1/devices/{id}/disable     → Device
//	POST   /v1/devices/{id}/enable      → Device
//	POST   /v1/devices/{id}/retire      → Device
//	POST   /v1/devices/{id}/replace     {hardware_id} → Device (the new unit)
//	POST   /v1/import                   CSV manifest → {approved, waiting, done} (device ids)
//	GET    /v1/enroll                   → {until, rules} (until is zero when closed)
//	POST   /v1/enroll                   {for: "10m", rules: [Rule…]} → {until, rules}
//	DELETE /v1/enroll                   → {}
//	POST   /v1/config/{profile}/push    → {profile, hash, devices: [{device, outcome, code?, error?}…]}
//	POST   /v1/firmware/rollouts        {firmware, version, devices, canary?, parallel?} → Rollout
//	GET    /v1/firmware/rollouts        → [Rollout…]
//	GET    /v1/firmware/rollouts/{id}   → Rollout
//	POST   /v1/people/import[?replace=true]  CSV (provisioning/people, "Import") → {added, updated, unchanged, removed}
//	GET    /v1/people                   → [Person…]
//	GET    /v1/people/{key}             → Person; {key} is a person id or a card hash
//	DELETE /v1/people/{id}              → Person (the record removed)
//	POST   /v1/people/{id}/forget       → {person, erased: [{where, count}…], remains: [text…]}
//	GET    /v1/sinks                    → [SinkStatus…]
//	GET    /v1/sinks/{name}/deadletters → [DeadLetter…] (not replayed, oldest first)
//	POST   /v1/sinks/{name}/replay      → {delivered, failed: [DeadLetter + why…]}
//
// Path elements are URL-escaped (a hardware id may hold '/' or spaces).
// A Rule is {kind?, model?, hardware_id?, port?, name?, room?, profile?}:
// kind is "terminal" (or "attendance"), "kiosk", "room" (or "room-panel");
// model, hardware_id and port are globs; name is a name template
// (provisioning, "{kind}-{n}" if absent). for is a Go duration, more than 0
// and at most 24h.
//
// An error is {error, code} with code and HTTP status:
//
//	not_found  404  no such device (provisioning.ErrNotFound)
//	no_profile 404  no such configuration profile (ErrNoProfile)
//	state      409  not allowed in the device's state (provisioning.ErrState)
//	conflict   409  id or name already in use (provisioning.ErrConflict)
//	invalid    400  bad value or request body (provisioning.ErrInvalid)
//	manifest   400  manifest rejected; the body also has problems: [{line, field?, reason}…]
//	no_firmware 409 firmware rollouts are not configured (ErrNoFirmware)
//	no_person  404  no such person in the directory (people.ErrNotFound)
//	people_rejected 400 person CSV rejected; the body also has problems (people.ErrRejected)
//	person_invalid 400 a bad person id (people.ErrInvalid)
//	no_people  409  no person directory (ErrNoPeople)
//	no_sink    404  the gateway runs no sink of that name (ErrNoSink)
//	internal   500  anything else (a disk error: the registry is unchanged)
//
// A Rollout is the rollout's record (provisioning/rollout, "State file"):
// {id, state (running, done, halted), reason?, firmware {path, version, size,
// sha256, signature}, canary, parallel, devices: [{id, phase, attempts,
// deferrals, reason?, …}…], created, updated}. The request's firmware names
// a file in the gateway's firmware directory (Deps.Images,
// provisioning.firmware_dir), or is an absolute path under it; its signature
// is beside it (IMAGE.sig), checked before anything is sent. Only regular
// files inside that directory within the size cap are read, opened without
// blocking; any other name (missing, elsewhere, "..", a symlink leading out,
// a FIFO, a device) is invalid with one message, the same whatever exists
// outside. Every device must be active; a device already in an unfinished
// rollout is a conflict.
//
// A Person is {person, card_hash?, name?, lang?, dingtalk?, wecom?, feishu?,
// employee?, updated}: the directory's record (provisioning/people). forget
// removes the person from the directory (if there), then, through the
// daemon (Deps.Forget), from every kiosk's invite cache (invites and today's
// visits whose host is the person's id or name) and from the sinks' held
// records; remains lists what stays on the box until its retention passes
// (docs/PRIVACY.md). Forgetting someone twice is not an error.
//
// Sinks: a SinkStatus is {name, streams, backlog, oldest?, backlog_bytes,
// backlog_alarm, down?, error_class?, held?, dead_letters?, delivered,
// retries}: a sink's backlog, the journal bytes it keeps, whether that is
// half the journal's disk cap or more (alarmed), its last error while it is
// failing, and the records delivered and failed deliveries (each retried)
// since the gateway started. A
// DeadLetter is {sink, stream, seq, id?, device?, type?, error, at}. replay
// offers each of the sink's dead letters to its destination once, oldest
// first (after the cause was fixed); a delivered one is no longer listed;
// one refused again stays, with why; a destination that is down stops the
// replay (the rest stay, "not tried").
//
// Client speaks this API; its errors are *Error, matching the sentinels
// with errors.Is, or wrap ErrNotRunning when nothing serves the socket.
//
// # Configuration push outcomes
//
// Per device of the profile in state active: applied (it took the new
// configuration); unchanged (it already had it, nothing sent: pushing the same
// configuration again does nothing); rejected (the device refused it: code is
// the protocol code, error its explanation); offline (not connected: the link
// pushes it at the device's next session); timeout (connected, no answer in
// time: still pushed at the next session); failed (error says why).
//
// # MQTT gateway commands
//
// Published on {root}/{gw}/commands/{name}, answered on {root}/{gw}/results
// (gateway/MQTT.md §6, §7). Arguments a command does not define are refused
// with status error naming the key, before anything is done; so are missing
// or mistyped ones. Failures are status error with the reason; a name not in
// this list is unsupported.
//
//	command         args                                                    result data
//	devices.list    none                                                    {time, devices: [Device…], window?, preapprovals}
//	device.show     device (device id or hardware id)                       {device: Device}
//	device.approve  hardware_id, device, name?, room?, profile?             {device: Device}
//	device.rename   device, name                                            {device: Device}
//	device.disable  device                                                  {device: Device}
//	device.enable   device                                                  {device: Device}
//	device.retire   device                                                  {device: Device}
//	device.replace  device (the old id), hardware_id (the new unit)         {device: Device} (the new unit)
//	devices.import  csv (the manifest's text)                               {approved, waiting, done}; on problems: error, data {problems: [{line, field?, reason}…]}, nothing applied
//	enroll.open     for ("10m" or seconds, ≤ 24h), rule (a Rule object)     {until, rules}
//	enroll.close    none                                                    {}
//	config.push     profile                                                 {profile, hash, devices: [{device, outcome, code?, error?}…]}
//	firmware.rollout firmware (the image's name in the firmware directory), version, devices ([ids], canaries first), canary?, parallel?   Rollout as started
//	firmware.status rollout? (an id; absent: all)                           Rollout, or {rollouts: [Rollout…]}
//
// The firmware commands exist only when the daemon runs a rollout
// orchestrator (Deps.Rollouts); progress events are the orchestrator's to
// publish. Commands lists the names.
package admin
