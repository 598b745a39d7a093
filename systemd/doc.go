// Package systemd holds the files that install officegate on a Debian or
// Raspberry Pi OS box: the service unit, sysusers.d and tmpfiles.d snippets
// and udev rules, and the tests that hold them (and the binary) to their
// promises. It has no Go code to import.
package systemd
