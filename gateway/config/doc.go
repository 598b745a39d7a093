// Package config owns the gateway's TOML configuration file: keys, defaults and
// validation. Validation is done once here so the rest of the daemon receives
// typed values it can trust.
//
// Every problem is reported with the file, the line and the canonical key
// (`config.toml:12: mqtt.qos: unknown key`, `config.toml:7: journal.max_bytes
// = "12XB": not a size`), and every problem in a file is reported at once,
// except after a syntax error or a value of the wrong TOML type, which stop
// decoding. Canonical keys are dotted, with an element index after an array
// name: devices[2].port.
//
// Devices are an array of tables, [[devices]], with a table per kind for the
// driver, [devices.<kind>]. The config package checks the common keys (id,
// kind, port, baud) and keeps the kind table as a Section the driver decodes
// later, still with line numbers. The keys are documented in CONFIG.md and in
// Example, which a test parses.
//
// Parse reads no files (but time zone data) and no environment: paths are resolved against the
// configuration file's directory but not opened, so check-config on another
// machine reports the same problems.
package config
