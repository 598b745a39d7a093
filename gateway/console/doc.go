// Package console owns the facilities web console, the gateway's pages for people.
// Devices, enrollment, firmware rollouts, reception, rooms, live events,
// people and sinks are served over HTTPS on the LAN by a stage of the daemon.
//
// Every operation is the admin service's (provisioning/admin), the one the
// CLI and the MQTT gateway commands use; the console only renders and
// asks. Pages are server-rendered html/template with one small script
// (static/app.js) for live parts, countdowns, the event stream and the
// badge preview; everything is embedded in the binary, nothing is fetched
// from the network, nothing needs a build step.
//
// # Security
//
//   - Users and roles: a users file of "NAME ROLE BCRYPT-HASH" lines
//     (users.go), managed by officegate console user; roles viewer <
//     operator < admin, checked at every state change, and read again from
//     the file at every request, so a removed user is out at once.
//   - Sessions: a random 256-bit token in a cookie (HttpOnly, SameSite=
//     Strict, Secure over HTTPS), kept in memory, ended after the idle
//     timeout.
//   - CSRF: every state change is a POST carrying the session's token; a
//     browser-sent Origin must be the console's own. The login form has a
//     token of its own in a short-lived cookie.
//   - Logins: 5 failures for a name or from an address within 15 minutes
//     lock it out for 15 minutes (counted on /metrics); an unknown name
//     costs the same bcrypt time as a wrong password.
//   - Content-Security-Policy: scripts, styles and images from the console
//     only; no inline script; no framing.
//   - Audit: every action and login, refused ones included, is a
//     console.audit event (gateway/MQTT.md §5.10), journaled like any other.
//
// Plain HTTP is for a loopback address only (the configuration refuses
// anything else). With no certificate configured, a self-signed one is made
// once in the state directory and its SHA-256 fingerprint logged.
//
// # Routes
//
//	GET  /login, POST /login, POST /logout, GET /lang/{en|zh-CN}
//	GET  /  /devices  /devices/{id}  /enrollment  /firmware  /reception  /rooms  /events  /people  /sinks
//	GET  /events/stream                         Server-Sent Events (type, device filters; "missed" when the page fell behind)
//	POST /devices/{id}/command                  operator: door.pulse, time.set
//	POST /devices/{id}/push                     operator: push its profile's configuration
//	POST /devices/{id}/rename|retire|replace    admin
//	POST /enrollment/approve|reject             operator
//	POST /enrollment/window|close|import        admin
//	POST /firmware/rollout                      admin: image + signature upload, devices, canary
//	POST /reception/approve                     operator: a walk-in, within the kiosk's window
//	POST /people/import|remove                  admin: the person directory (a viewer sees no card hash or platform id)
//	POST /sinks/replay                          admin: a sink's dead letters
//
// A page's live part is fetched again with the header X-Partial every few
// seconds (the page's data-refresh element); the rest stays.
package console
