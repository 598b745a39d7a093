// Package serialport owns the gateway's serial ports: it opens a tty by name (preferably
// /dev/serial/by-id/…), keeps it raw 8N1 at a standard baud rate, tells a quiet line from
// an unplugged adapter, closes promptly, and re-opens the port when the adapter comes back.
//
// Work in progress: the defects contained are described below once measured.
package serialport
