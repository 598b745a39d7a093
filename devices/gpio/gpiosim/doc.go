// Package gpiosim provides simulated GPIO pins and a manual clock for tests
// and the demo.
//
// A Pin implements periph.io's gpio.PinIO. A test drives its input level as
// the outside world would (Drive), reads back what a driver drove (Level,
// History), and waits on conditions instead of sleeping: WaitIdle returns
// once a reader is blocked in WaitForEdge with nothing pending, WaitChanges
// once the pin has changed level a given number of times. A Clock moves only
// when told to (Advance), so debounce and pulse timings are exact.
//
// periph's own gpiotest.Pin fits simple cases, but its In fails without an
// EdgesChan, it keeps no history and its WaitForEdge reads its clock field
// without a lock; this package exists for those three reasons.
package gpiosim
