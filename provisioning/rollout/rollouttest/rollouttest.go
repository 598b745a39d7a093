// Package rollouttest provides a fake rollout.Device, an in-memory device with
// a spare slot. It keeps what it received, has a bootloader that can be told to
// revert test images, and a transfer that can be made to stall.
package rollouttest

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning/rollout"
)

// Chunk is how many bytes the fake takes per step of a transfer.
const Chunk = 512

// Device is a fake device. The zero value is not usable; call New.
type Device struct {
	mu sync.Mutex // guards everything below
	// Knobs.
	failTestBoot bool
	stallAt      int64 // Transfer waits once it holds this many bytes; 0: never
	offline      bool
	// The device.
	firmware string
	image    msg.ImageState
	boot     uint32
	reverted string
	slotSHA  []byte
	slot     []byte // bytes held of slotSHA's image
	// Observations.
	starts  []int64 // offset each Transfer started from
	active  int     // calls in progress
	overlap bool    // two calls were ever in progress at once
	calls   []string
	changed chan struct{} // closed and replaced at every change
}

var _ rollout.Device = (*Device)(nil)

// New returns an online device running version, confirmed.
func New(version string) *Device {
	return &Device{firmware: version, boot: 1, changed: make(chan struct{})}
}

// FailTestBoot makes every test boot revert (the image crashes).
func (d *Device) FailTestBoot(fail bool) { d.mu.Lock(); d.failTestBoot = fail; d.mu.Unlock() }

// StallAt makes Transfer stop once the device holds n bytes until its
// context ends; 0 lets it finish.
func (d *Device) StallAt(n int64) { d.mu.Lock(); d.stallAt = n; d.changedLocked(); d.mu.Unlock() }

// SetOnline plugs or unplugs the device.
func (d *Device) SetOnline(on bool) { d.mu.Lock(); d.offline = !on; d.changedLocked(); d.mu.Unlock() }

// Held is how many bytes of the image being sent the device holds.
func (d *Device) Held() int64 { d.mu.Lock(); defer d.mu.Unlock(); return int64(len(d.slot)) }

// Starts returns the offsets the transfers started from.
func (d *Device) Starts() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int64(nil), d.starts...)
}

// Calls returns the methods called, in order ("transfer", "testboot",
// "confirm").
func (d *Device) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// Overlapped reports whether two calls were ever in progress at once.
func (d *Device) Overlapped() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.overlap }

func (d *Device) changedLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

func (d *Device) enter(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, name)
	d.active++
	if d.active > 1 {
		d.overlap = true
	}
}

func (d *Device) leave() { d.mu.Lock(); d.active--; d.mu.Unlock() }

// Transfer keeps the bytes it held of the same image and takes the rest
// in chunks, reporting each.
func (d *Device) Transfer(ctx context.Context, img rollout.Image, progress func(int64)) error {
	d.enter("transfer")
	defer d.leave()
	d.mu.Lock()
	if !bytes.Equal(d.slotSHA, img.SHA256) {
		d.slotSHA, d.slot = bytes.Clone(img.SHA256), nil
	}
	d.starts = append(d.starts, int64(len(d.slot)))
	d.mu.Unlock()
	for {
		d.mu.Lock()
		held := int64(len(d.slot))
		if held == int64(len(img.Data)) {
			d.mu.Unlock()
			return nil
		}
		if d.offline || (d.stallAt > 0 && held >= d.stallAt) {
			ch := d.changed
			d.mu.Unlock()
			select {
			case <-ctx.Done():
				return fmt.Errorf("rollouttest: transfer at %d: %w", held, ctx.Err())
			case <-ch:
				continue
			}
		}
		n := min(Chunk, int64(len(img.Data))-held)
		d.slot = append(d.slot, img.Data[held:held+n]...)
		d.changedLocked()
		d.mu.Unlock()
		progress(held + n)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// TestBoot "reboots" into the slot's image: testing, or reverted if told
// to fail.
func (d *Device) TestBoot(ctx context.Context, sha []byte) error {
	d.enter("testboot")
	defer d.leave()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !bytes.Equal(sha, d.slotSHA) || len(d.slot) == 0 {
		return fmt.Errorf("rollouttest: unknown image %x: %w", sha[:4], rollout.ErrRefused)
	}
	d.boot++
	version := string(d.slot[:bytes.IndexByte(append(d.slot, 0), 0)])
	if d.failTestBoot {
		d.boot++
		d.image, d.reverted = msg.ImageReverted, version
		d.changedLocked()
		return fmt.Errorf("rollouttest: %s: %w", version, rollout.ErrReverted)
	}
	d.firmware, d.image = version, msg.ImageTesting
	d.changedLocked()
	return nil
}

// Confirm makes the test image permanent.
func (d *Device) Confirm(ctx context.Context, sha []byte) error {
	d.enter("confirm")
	defer d.leave()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.image != msg.ImageTesting || !bytes.Equal(sha, d.slotSHA) {
		return fmt.Errorf("rollouttest: confirm %x: no such test image: %w", sha[:4], rollout.ErrRefused)
	}
	d.image = msg.ImageConfirmed
	d.changedLocked()
	return nil
}

// Status reports the device.
func (d *Device) Status() rollout.DeviceStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := rollout.DeviceStatus{Online: !d.offline, Firmware: d.firmware, Image: d.image, Boot: d.boot, Reverted: d.reverted}
	if d.image == msg.ImageReverted {
		st.Reason = "test_boot_failed"
	}
	return st
}

// Fleet is a set of fake devices by id.
type Fleet map[string]*Device

// Device returns the fake with that id.
func (f Fleet) Device(id string) (rollout.Device, error) {
	if d, ok := f[id]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("rollouttest: no device %q", id)
}

// Image makes an image whose bytes start with its version and a zero byte
// (the fake reads the version from there when it boots it), size bytes in
// all, signed with sign.
func Image(version string, size int, sign func(sha []byte) []byte) rollout.Image {
	data := make([]byte, size)
	copy(data, version)
	for i := len(version) + 1; i < size; i++ {
		data[i] = byte(i*7 + 1)
	}
	img := rollout.NewImage("/images/"+version+".bin", version, data, nil)
	img.Signature = sign(img.SHA256)
	return img
}
