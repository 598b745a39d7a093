package intake

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestMarkRecordEncoding: a mark record written by hand is the reflective
// encoder's bytes (journal/FORMAT.md's marks stream is unchanged), for ids
// and ids of every head length, and decodes back.
func TestMarkRecordEncoding(t *testing.T) {
	for _, hw := range []string{"", "EMU-term-00", strings.Repeat("h", 23), strings.Repeat("h", 24), strings.Repeat("h", 300), "é-1", "\xff"} {
		for _, n := range []uint32{0, 1, 23, 24, 255, 256, 65535, 65536, math.MaxUint32} {
			id := msg.EventID{Boot: n, Seq: math.MaxUint32 - n}
			got, err := encodeMarkRecord(hw, id)
			if err != nil {
				t.Fatal(err)
			}
			want, err := marksEnc.Marshal(markRecord{HW: hw, Boot: id.Boot, Seq: id.Seq})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%q %v: %x, the encoder writes %x (%v)", hw, id, got, want, err)
			}
		}
	}
}

// TestMarkEntriesOneDevice: a device's batch gets one mark, its highest
// event's, whatever the order of the batch; several devices' records one
// each, in the order they first appear.
func TestMarkEntriesOneDevice(t *testing.T) {
	rec := func(hw string, boot, seq uint32) link.Record {
		return link.Record{Kind: link.RecordEvent, HardwareID: hw, Received: time.Unix(0, 0),
			Event: &msg.Event{ID: msg.EventID{Boot: boot, Seq: seq}, Kind: "punch"}}
	}
	for _, tt := range []struct {
		recs []link.Record
		want []markRecord
	}{
		{[]link.Record{rec("a", 1, 5), rec("a", 2, 1), rec("a", 1, 9)}, []markRecord{{HW: "a", Boot: 2, Seq: 1}}},
		{[]link.Record{rec("a", 1, 5), rec("b", 1, 2), rec("a", 1, 7)}, []markRecord{{HW: "a", Boot: 1, Seq: 7}, {HW: "b", Boot: 1, Seq: 2}}},
	} {
		es, err := markEntries(tt.recs)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != len(tt.want) {
			t.Fatalf("%d entries, want %d", len(es), len(tt.want))
		}
		for i, e := range es {
			m, err := decodeMarkRecord(e.Body)
			if err != nil || e.Stream != StreamMarks || m.HW != tt.want[i].HW || m.Boot != tt.want[i].Boot || m.Seq != tt.want[i].Seq {
				t.Errorf("entry %d: %s %+v (%v), want %+v", i, e.Stream, m, err, tt.want[i])
			}
		}
	}
}
