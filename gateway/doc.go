// Package gateway holds the tests that keep the module's import graph one-way.
// Its subpackages are the daemon: they wire the journal, the device drivers,
// provisioning and the MQTT uplink together. The layers are in README.md
// ("Layout") and in layers_test.go.
package gateway
