// Package systemd holds the files that install officegate on a Debian or
// Raspberry Pi OS box. They are the service unit, sysusers.d and tmpfiles.d
// snippets and udev rules, with the tests that hold them (and the binary) to
// their promises. It has no Go code to import.
package systemd
