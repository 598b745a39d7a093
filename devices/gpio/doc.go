// Package gpio drives the gateway's GPIO pins through periph.io's conn/v3
// interfaces. The pins are door relays, LEDs, PIR sensors and buttons; every
// output has a safe level and every input is debounced.
//
// # Pins
//
// Open returns a pin of this board through periph.io host/v3, which uses the
// GPIO character device (/dev/gpiochip*). Tests and the demo use the
// simulated pins of package gpiosim instead; both are periph gpio.PinIO, and
// drivers take the narrowest interface they need (PinIn or PinOut), so a
// driver never knows which it has. Wiegand readers need the kernel's edge
// timestamps, which periph drops: they do not use this package.
//
// # Outputs and the safe level
//
// An Output is declared with its safe level: the level that leaves a door
// locked, a relay released, an LED off. It drives that level when it is
// opened, when it is closed and when its context is cancelled, and a Pulse
// always ends on it, even when cancelled half-way. Pulses longer than the
// configured maximum (default 5 s, the longest unlock vendors use) are
// refused, not shortened: a caller asking for a minute has a bug worth
// seeing.
//
// Software only covers the time the program runs. Between power-up and the
// moment the gateway opens the pin, and after a crash or a kernel panic, the
// pin is an input and only the board's pull resistor sets the line: on a
// Raspberry Pi, GPIO 0–8 are pulled up and GPIO 9–27 pulled down (and GPIO14,
// the UART transmit pin, is briefly driven high at boot: never use it for a
// relay). So wire the hardware so that the pin's reset level is the safe
// level:
//
//   - A fail-secure strike (locked without power) on a relay module that
//     energises on High: use a pin from 9–27 (pulled down) with safe level
//     Low, and add an external 10 kΩ pull-down so a floating line cannot
//     unlock the door either.
//   - A relay module that energises on Low (many opto-isolated boards): use a
//     pin from 0–8 (pulled up) with safe level High, or invert the logic with
//     a transistor stage and follow the rule above.
//   - Never rely on a fail-safe lock (unlocked without power) for security;
//     fire-alarm release stays hard-wired and outside the gateway.
//
// # Inputs
//
// An Input debounces a pin in software (default 50 ms) and reports each
// settled change as an Edge on a channel. It waits for edges with a
// positive timeout and reads the level after every wake-up, because
// periph's drivers disagree on what a zero or negative timeout means and the
// kernel drops edges when its small per-line buffer overflows: the level
// read is the truth, the edge only a hint to look.
package gpio
