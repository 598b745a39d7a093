package people

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// File is the directory's file name in its directory (doc.go, "File").
const File = "people.reg"

const (
	magic         = "officegate-people"
	formatVersion = 1
	// maxBody bounds what a header may announce: 64 MiB is some 300 000
	// people, far above one site.
	maxBody = 64 << 20
)

// ErrCorrupt is wrapped by the error for a directory file that is damaged.
var ErrCorrupt = errors.New("people: directory file damaged")

type fileDir struct {
	People []filePerson `json:"people"`
}

type filePerson struct {
	ID       string    `json:"person"`
	CardHash string    `json:"card_hash,omitempty"`
	Name     string    `json:"name,omitempty"`
	Lang     string    `json:"lang,omitempty"`
	DingTalk string    `json:"dingtalk,omitempty"`
	WeCom    string    `json:"wecom,omitempty"`
	Feishu   string    `json:"feishu,omitempty"`
	Employee string    `json:"employee,omitempty"`
	Updated  time.Time `json:"updated"`
}

// encode returns the file for people (any order; the file is sorted).
func encode(ps map[string]Person) []byte {
	f := fileDir{People: []filePerson{}}
	for _, id := range slices.Sorted(maps.Keys(ps)) {
		p := ps[id]
		f.People = append(f.People, filePerson(p))
	}
	body, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		panic("people: encoding the directory: " + err.Error()) // only plain types: cannot fail
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	out := fmt.Appendf(nil, "%s %d %d %s\n", magic, formatVersion, len(body), hex.EncodeToString(sum[:]))
	return append(out, body...)
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// decode checks the framing (provisioning/FORMAT.md §2) and every rule.
func decode(data []byte) (map[string]Person, error) {
	if len(data) == 0 {
		return nil, corrupt("empty file (0 bytes): a write was lost")
	}
	if bytes.Count(data, []byte{0}) == len(data) {
		return nil, corrupt("torn write: all %d bytes are zero", len(data))
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 200 {
		return nil, corrupt("no header line: the file does not start with %q", magic)
	}
	f := strings.Split(string(data[:nl]), " ")
	if len(f) != 4 || f[0] != magic {
		return nil, corrupt("header %q: want %q, version, length, sha-256", data[:nl], magic)
	}
	if f[1] != strconv.Itoa(formatVersion) {
		return nil, corrupt("format version %q, this build reads %d", f[1], formatVersion)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n < 0 || n > maxBody || strconv.Itoa(n) != f[2] {
		return nil, corrupt("header length %q is not a decimal in 0..%d", f[2], maxBody)
	}
	want, err := hex.DecodeString(f[3])
	if err != nil || len(want) != sha256.Size || f[3] != strings.ToLower(f[3]) {
		return nil, corrupt("header checksum %q is not 64 lower-case hex digits", f[3])
	}
	body := data[nl+1:]
	switch {
	case len(body) < n:
		return nil, corrupt("truncated: header says %d body bytes, %d follow", n, len(body))
	case len(body) > n:
		return nil, corrupt("%d bytes after the %d-byte body", len(body)-n, n)
	}
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, corrupt("checksum mismatch: header says %s, body hashes to %x", f[3], got)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var fd fileDir
	if err := dec.Decode(&fd); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, corrupt("body at offset %d: %v", int64(nl+1)+se.Offset, err)
		}
		return nil, corrupt("body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, corrupt("body: data after the JSON value")
	}
	if fd.People == nil {
		return nil, corrupt("body: no \"people\" list")
	}
	out := make(map[string]Person, len(fd.People))
	for i, fp := range fd.People {
		p := Person(fp)
		if err := p.Check(); err != nil {
			return nil, corrupt("people[%d]: %v", i, err)
		}
		if i > 0 && fd.People[i-1].ID >= p.ID {
			return nil, corrupt("people[%d]: %q is out of order or repeated", i, p.ID)
		}
		out[p.ID] = p
	}
	if err := checkUnique(out); err != nil {
		return nil, corrupt("%v", err)
	}
	return out, nil
}

// checkUnique finds a card hash or a platform id held by two people.
func checkUnique(ps map[string]Person) error {
	_, err := owners(ps)
	return err
}

// owners indexes ps by card hash and by platform id.
func owners(ps map[string]Person) (map[string]string, error) {
	own := map[string]string{} // claims() key → person
	for _, id := range slices.Sorted(maps.Keys(ps)) {
		for _, k := range claims(ps[id]) {
			if o, dup := own[k]; dup {
				what, v, _ := strings.Cut(k, ":")
				return nil, fmt.Errorf("%s %q belongs to both %q and %q", what, v, o, id)
			}
			own[k] = id
		}
	}
	return own, nil
}
