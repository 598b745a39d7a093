// Package wiegand decodes Wiegand card readers and keypads wired to GPIO lines.
// It reads their pulse edges from the Linux GPIO character device and turns
// them into card frames and PIN entries, rejecting noise with counted reasons.
//
// # The wire
//
// A reader holds its two data lines, D0 and D1, high when idle. Each bit is a low pulse:
// on D0 for a 0, on D1 for a 1. The SIA timing is a pulse of 20–100 µs every 200 µs–20 ms;
// common readers send 50 µs pulses every 2 ms, some 160 µs pulses with 880 µs between.
// A frame ends when both lines stay quiet: Config.EndGap, 25 ms by default, since the
// 5 ms of pigpio's example splits the frames of readers that use the slow end of the range.
// Frames do not say which layout they use, so each reader's formats are configured and
// told apart by bit count.
//
// Bits are numbered 1..n in transmission order; Frame.Raw holds bit 1 as its most
// significant bit. P marks a parity bit.
//
// §26-bit (H10301): P, 8-bit facility, 16-bit card, P. Bits 1–13 have even parity,
// bits 14–26 odd.
//
// §34-bit (W34, W34Number): P, 32 data bits, P. Bits 1–17 have even parity, bits 18–34
// odd. Readers disagree on the data: a 16-bit facility and a 16-bit card (W34), or one
// 32-bit number (W34Number, as ZKTeco sends it). Configure the one the reader uses;
// Frame.Payload returns the 32 bits either way.
//
// §37-bit (H10304): P, 16-bit facility, 19-bit card, P. Bits 1–19 have even parity,
// bits 19–37 odd: the ranges share bit 19.
//
// §Keypads: one burst per key. Keypad4 sends the key code in 4 bits (0–9, 10 = '*',
// 11 = '#'); Keypad8 sends the code's complement nibble, then the code, which serves as
// its check. Keys gather into a PIN entry: '#' delivers it as a Frame of Format PIN,
// '*' clears it, and Config.KeyTimeout without a key abandons it. PIN digits are never
// logged: Frame.String shows only how many there are.
//
// # Edges and noise
//
// An EdgeSource delivers edges in kernel order. Chip reads the GPIO character device
// (uAPI v2): both lines in one request, so their edges share one queue, numbered by one
// sequence, stamped by the kernel; falling edges only by default; a 512-edge buffer
// where the kernel's default of 16 per line drops the oldest when the process stalls;
// no kernel debounce, which would swallow 50 µs pulses. wiegandsim simulates readers.
//
// The Decoder times everything with the edges' timestamps, never with the time a read
// returned, so a stalled process does not split or merge frames. It rejects, counting
// each in Stats: a pulse count that fits no configured format; a parity error; a jump
// in the sequence numbers (the kernel lost edges, so the frame cannot be trusted);
// D0 and D1 low at once; pulses closer than Config.MinSpacing or further apart than
// Config.MaxSpacing. It does not allocate per edge.
//
// # Performance
//
// Decoding one frame from its edges, including the quiet that completes it: medians of
// six runs on a shared 2-vCPU AMD EPYC virtual machine, amd64, Go 1.26 (not yet measured
// on a Pi; expect several times slower, still microseconds against a frame's 50+ ms):
//
//	go test -run '^$' -bench Decode -benchmem -count 6 ./devices/wiegand
//
//	BenchmarkDecode26   ≈ 140 ns/frame   ≈ 5.4 ns/edge   0 B/op   0 allocs/op
//	BenchmarkDecode34   ≈ 169 ns/frame   ≈ 5.0 ns/edge   0 B/op   0 allocs/op
//	BenchmarkDecode37   ≈ 178 ns/frame   ≈ 4.8 ns/edge   0 B/op   0 allocs/op
package wiegand
