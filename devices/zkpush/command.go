package zkpush

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxCmdID is the longest command id (§12: "not over 16 digits", letters
// and digits).
const MaxCmdID = 16

// Terminal replies (§12.4.3 Return codes, Appendix 1) the gateway maps.
const (
	ReturnOK           = 0
	ReturnBadParameter = -1
	ReturnNoSuchUser   = -10
	ReturnCapacity     = -1001
	ReturnUnsupported  = -1002
	ReturnTimeout      = -1003
	ReturnBusy         = -1005
)

// CheckCmdID reports whether id can be a command id.
func CheckCmdID(id string) error {
	if _, err := checkToken("CmdID", []byte(id), MaxCmdID, false); err != nil {
		return err
	}
	return nil
}

// AppendCommand appends one command line "C:<id>:<desc>" and its LF (§12).
// desc holds the command word(s) and its arguments ("DATA DELETE USERINFO
// PIN=7"); it must not hold a line break, which would start another command.
func AppendCommand(dst []byte, id, desc string) ([]byte, error) {
	if err := CheckCmdID(id); err != nil {
		return dst, err
	}
	if desc == "" || strings.ContainsAny(desc, "\r\n\x00") {
		return dst, fmt.Errorf("zkpush: command %s: description %q is empty or holds a line break", id, desc)
	}
	dst = append(dst, "C:"...)
	dst = append(dst, id...)
	dst = append(dst, ':')
	dst = append(dst, desc...)
	return append(dst, '\n'), nil
}

// ParseCommand reads one command line (without LF) as a terminal does.
func ParseCommand(line []byte) (id, desc string, err error) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	rest, ok := bytes.CutPrefix(line, []byte("C:"))
	if !ok {
		return "", "", fmt.Errorf("%w: command line does not start with C:", ErrLine)
	}
	idb, d, ok := bytes.Cut(rest, []byte(":"))
	if !ok || len(d) == 0 {
		return "", "", fmt.Errorf("%w: command line without C:<id>:<desc>", ErrLine)
	}
	if id, err = checkToken("CmdID", idb, MaxCmdID, false); err != nil {
		return "", "", err
	}
	return id, string(d), nil
}

// Result is one command result (§13).
type Result struct {
	ID     string
	Return int
	Cmd    string            // the command word(s) the terminal echoes: DATA, CHECK, INFO, REBOOT, SET OPTION…
	Info   map[string]string // key=value lines after an INFO result (§12.4.3)
}

// MaxInfo bounds the key=value lines kept after one INFO result.
const MaxInfo = 64

// ParseResults parses a devicecmd body: LF-joined "ID=..&Return=..&CMD=.."
// lines, each an entry in results; the key=value lines following an INFO
// result go to its Info. A line that fits neither gives an error in bad with
// its line number and costs no other result.
func ParseResults(body []byte) (results []Result, bad []error) {
	Lines(body, func(n int, line []byte) error {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if bytes.HasPrefix(line, []byte("ID=")) && bytes.Contains(line, []byte("&")) {
			r, err := parseResult(line)
			if err != nil {
				bad = append(bad, fmt.Errorf("line %d: %w", n, err))
				return nil
			}
			results = append(results, r)
			return nil
		}
		if last := len(results) - 1; last >= 0 && results[last].Cmd == "INFO" {
			k, v, ok := bytes.Cut(line, []byte("="))
			if ok && len(k) > 0 && len(k) <= 64 && len(v) <= 256 && len(results[last].Info) < MaxInfo {
				if results[last].Info == nil {
					results[last].Info = map[string]string{}
				}
				results[last].Info[strings.ToValidUTF8(string(k), "?")] = strings.ToValidUTF8(string(v), "?")
				return nil
			}
		}
		bad = append(bad, fmt.Errorf("line %d: %w: not a command result", n, ErrLine))
		return nil
	})
	return results, bad
}

func parseResult(line []byte) (Result, error) {
	if len(line) > MaxLine {
		return Result{}, fmt.Errorf("%w: %d bytes, at most %d", ErrLine, len(line), MaxLine)
	}
	q, err := url.ParseQuery(string(line))
	if err != nil {
		return Result{}, fmt.Errorf("%w: result is not ID=..&Return=..&CMD=..: %v", ErrLine, err)
	}
	var r Result
	if r.ID, err = checkToken("ID", []byte(q.Get("ID")), MaxCmdID, false); err != nil {
		return Result{}, err
	}
	ret := q.Get("Return")
	n, err := strconv.Atoi(ret)
	if err != nil || len(ret) > 11 {
		return Result{}, fmt.Errorf("%w: command %s: Return %q is not an integer", ErrLine, r.ID, clip([]byte(ret)))
	}
	r.Return = n
	r.Cmd = q.Get("CMD")
	if len(r.Cmd) > 64 {
		return Result{}, fmt.Errorf("%w: command %s: CMD is %d bytes, at most 64", ErrLine, r.ID, len(r.Cmd))
	}
	r.Cmd = strings.ToValidUTF8(r.Cmd, "?")
	return r, nil
}

// AppendResult appends one result line as a terminal sends it.
func AppendResult(dst []byte, r Result) []byte {
	dst = fmt.Appendf(dst, "ID=%s&Return=%d&CMD=%s\n", r.ID, r.Return, r.Cmd)
	for k, v := range r.Info {
		dst = fmt.Appendf(dst, "%s=%s\n", k, v)
	}
	return dst
}
