// Package metrics owns what the gateway exposes to monitoring on /metrics and
// /healthz. It has its own small metrics registry written in the Prometheus
// text format, the /metrics and /healthz handlers and the loopback server that
// serves them.
//
// It does not use prometheus/client_golang: that library (with protobuf,
// expfmt and procfs) added about 3 MB to a binary meant for a small board,
// for a few counters, gauges and two histograms. What it needs of the format
// is specified in expose.go.
//
// Journal figures are read from journal.Stats at scrape time by a collector,
// so there is no polling goroutine and every scrape is one consistent
// snapshot; so are the serial ports' error counters (WatchSerial: a link's
// dropped frames, a scanner's refused lines, labelled by port, configured
// device and a reason from a fixed set). The uplink and the device drivers
// report through small methods (Published, Reconnected, DeviceSeen …).
// Labels are bounded: a stream name, a device id, a serial port's path or a
// reason, never an event id, a card number or a person reference
// (privacy); device series are capped (MaxDevices) so a bug that passes
// such a value as a device id cannot grow the registry without bound.
package metrics
