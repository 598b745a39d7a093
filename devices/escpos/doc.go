// Package escpos owns the reception kiosk's badge printer and its ESC/POS byte
// stream. It holds the stream that prints a visitor's badge, the real-time
// status the printer answers, a client that polls and prints over a serial
// port, and a preview renderer of the stream.
//
// The bytes are specified in FORMAT.md beside this file, with golden vectors in testdata/;
// the code cites its sections. The hardware facts come from the ESC/POS reference (Epson,
// "ESC/POS Command Reference for TM printers": ESC @, ESC a, ESC E, GS !, FS &, FS .,
// GS ( k for QR codes, GS V, DLE EOT) and the project's research notes.
//
// # Badges
//
// AppendBadge appends the stream for a Badge. Text is cleaned (control and format
// characters removed, white space folded) and printed in ASCII, or in GB18030 inside
// Chinese mode for anything else, so Chinese names print. A name the printer's font
// cannot show, or too long for its line, is refused with ErrUnprintable: a badge is never
// printed with a mangled name. The QR code carries an opaque visit token (printable
// ASCII), never the visitor's details.
//
// # Status and printing
//
// DecodeStatus reads the four one-byte answers to DLE EOT 1–4 and Classify turns a Status
// into the Outcome of a print. A Client runs over any Conn (a *serialport.Port in the
// gateway, a PTY in tests; escpossim emulates the printer): Poll asks for the status,
// Print polls, refuses a printer that is out of paper, open, faulty or silent, writes the
// badge and polls again. Every wait is bounded by the caller's context and a timeout.
//
// # Preview
//
// Render interprets exactly the commands AppendBadge emits and draws them (a 5×7 font for
// ASCII, a box per Chinese character, the QR code from its stored data) on a 384- or
// 576-dot roll; WritePNG saves the image. The stream is untrusted input: anything else is
// a *StreamError with the offset, and the image is bounded by Renderer.MaxHeight.
package escpos
