// Package gateway is the daemon's top layer: it wires the journal, the device
// drivers, provisioning and the MQTT uplink together. Its test keeps the import
// graph one-way (DESIGN.md §3).
package gateway
