package zkpush

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ServerVersion is the PUSH protocol version the gateway answers with
// (PushProtVer, Appendix 6): the version of the specification it follows.
const ServerVersion = "2.4.1"

// Options is the handshake reply (§5).
type Options struct {
	ATTLOGStamp, OPERLOGStamp, ATTPHOTOStamp string // "" is sent as "None"
	ErrorDelay                               int    // seconds
	Delay                                    int    // seconds between command polls
	TransTimes                               string // "HH:MM;HH:MM"
	TransInterval                            int    // minutes
	TransFlag                                string // format II, e.g. "TransData AttLog\tOpLog"
	TimeZone                                 int    // hours when -12 < n < 12, else minutes (§5)
	Realtime                                 bool
}

// DefaultOptions answers a terminal: upload each punch as it happens
// (Realtime), poll for commands every 10 s, retry 30 s after a failure
// (the low end of §5's recommendation: a gateway restart should cost
// seconds), and upload attendance and operation logs — never photos.
func DefaultOptions() Options {
	return Options{ErrorDelay: 30, Delay: 10, TransTimes: "00:00;14:05", TransInterval: 1,
		TransFlag: "TransData AttLog\tOpLog\tEnrollUser\tChgUser", Realtime: true}
}

func stamp(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// AppendOptions appends the handshake reply body for the terminal sn (§5).
func AppendOptions(dst []byte, sn string, o Options) []byte {
	rt := 0
	if o.Realtime {
		rt = 1
	}
	dst = fmt.Appendf(dst, "GET OPTION FROM: %s\n", sn)
	dst = fmt.Appendf(dst, "ATTLOGStamp=%s\nOPERLOGStamp=%s\nATTPHOTOStamp=%s\n", stamp(o.ATTLOGStamp), stamp(o.OPERLOGStamp), stamp(o.ATTPHOTOStamp))
	dst = fmt.Appendf(dst, "ErrorDelay=%d\nDelay=%d\nTransTimes=%s\nTransInterval=%d\nTransFlag=%s\n", o.ErrorDelay, o.Delay, o.TransTimes, o.TransInterval, o.TransFlag)
	dst = fmt.Appendf(dst, "TimeZone=%d\nRealtime=%d\nEncrypt=None\nServerVer=%s\nPushProtVer=%s\n", o.TimeZone, rt, ServerVersion, ServerVersion)
	return dst
}

// ParseOptions reads a handshake reply as a terminal does: the first line
// must name sn; unknown keys are ignored (newer servers add some).
func ParseOptions(body []byte, sn string) (Options, error) {
	first, rest, _ := bytes.Cut(body, []byte("\n"))
	if string(bytes.TrimSuffix(first, []byte("\r"))) != "GET OPTION FROM: "+sn {
		return Options{}, fmt.Errorf("zkpush: handshake reply does not start with GET OPTION FROM: %s", sn)
	}
	var o Options
	var bad error
	Lines(rest, func(n int, line []byte) error {
		k, v, ok := strings.Cut(strings.TrimSuffix(string(line), "\r"), "=")
		if !ok {
			bad = fmt.Errorf("zkpush: handshake reply line %d %q is not key=value", n+1, clip(line))
			return bad
		}
		num := func() int {
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil && bad == nil {
				bad = fmt.Errorf("zkpush: handshake reply %s=%q is not a number", k, v)
			}
			return i
		}
		switch k {
		case "ATTLOGStamp":
			o.ATTLOGStamp = v
		case "OPERLOGStamp":
			o.OPERLOGStamp = v
		case "ATTPHOTOStamp":
			o.ATTPHOTOStamp = v
		case "ErrorDelay":
			o.ErrorDelay = num()
		case "Delay":
			o.Delay = num()
		case "TransTimes":
			o.TransTimes = v
		case "TransInterval":
			o.TransInterval = num()
		case "TransFlag":
			o.TransFlag = v
		case "TimeZone":
			o.TimeZone = num()
		case "Realtime":
			o.Realtime = v == "1"
		}
		return nil
	})
	for _, p := range []*string{&o.ATTLOGStamp, &o.OPERLOGStamp, &o.ATTPHOTOStamp} {
		if *p == "None" {
			*p = ""
		}
	}
	return o, bad
}
