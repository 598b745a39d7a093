package contract

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/officegate/officegate/internal/cbormode"
)

// Kind names one kind of payload of the contract, and its schema file.
type Kind string

const (
	Event         Kind = "event"          // {root}/{gw}/devices/{device}/events/{type}
	Result        Kind = "result"         // {root}/{gw}/devices/{device}/results, {root}/{gw}/results
	Command       Kind = "command"        // {root}/{gw}/devices/{device}/commands/{name}, {root}/{gw}/commands/{name}
	GatewayStatus Kind = "gateway-status" // {root}/{gw}/status
	DeviceStatus  Kind = "device-status"  // {root}/{gw}/devices/{device}/status
	Enrollment    Kind = "enrollment"     // {root}/{gw}/enrollment
)

// Kinds lists every kind, in the order MQTT.md presents them.
func Kinds() []Kind { return []Kind{Event, Result, Command, GatewayStatus, DeviceStatus, Enrollment} }

// BaseURL is the $id prefix of every schema file. Nothing is fetched from it.
const BaseURL = "https://github.com/officegate/officegate/gateway/contract/schemas/"

//go:embed schemas/*.json
var files embed.FS

// Schemas returns the schema files (common.json, event.json,
// event-{type}.json, result.json, …) at the root of the returned FS.
func Schemas() fs.FS {
	sub, err := fs.Sub(files, "schemas")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// ErrInvalid marks a payload that breaks the contract.
var ErrInvalid = errors.New("contract: invalid payload")

// Error is a payload that breaks the contract: every violation, each with the
// JSON pointer of the offending value.
type Error struct {
	Kind       Kind
	Violations []string // "/time: does not match pattern …"
}

func (e *Error) Error() string {
	return fmt.Sprintf("contract: invalid %s payload: %s", e.Kind, strings.Join(e.Violations, "; "))
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// set is the compiled schemas and what Strict needs to know about them.
type set struct {
	schemas map[Kind]*jsonschema.Schema
	fields  map[Kind][]string // properties named at the top level
	data    map[string][]string
}

var compiled = sync.OnceValues(compile)

func compile() (*set, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	s := &set{schemas: map[Kind]*jsonschema.Schema{}, fields: map[Kind][]string{}, data: map[string][]string{}}
	entries, err := fs.ReadDir(files, "schemas")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		raw, err := files.ReadFile("schemas/" + e.Name())
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("contract: schema %s: %w", e.Name(), err)
		}
		if err := c.AddResource(BaseURL+e.Name(), doc); err != nil {
			return nil, fmt.Errorf("contract: schema %s: %w", e.Name(), err)
		}
		props := propertyNames(doc)
		if typ, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), ".json"), "event-"); ok {
			s.data[typ] = props
		}
		s.fields[Kind(strings.TrimSuffix(e.Name(), ".json"))] = props
	}
	for _, k := range Kinds() {
		sch, err := c.Compile(BaseURL + string(k) + ".json")
		if err != nil {
			return nil, fmt.Errorf("contract: compile %s: %w", k, err)
		}
		s.schemas[k] = sch
	}
	return s, nil
}

func propertyNames(doc any) []string {
	m, _ := doc.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// noLoader refuses to load anything: every schema is embedded, and a $ref to a
// file that is not is a mistake, not a reason to go to the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("contract: schema %s is not embedded", url)
}

// Validate checks a payload of the given kind against its schema. The payload
// is JSON or, when its first byte is not '{', CBOR (MQTT.md "The CBOR
// option"): both must describe the same JSON value. Fields the schema does not
// name are allowed. A violation is reported as an *Error (errors.Is ErrInvalid).
func Validate(k Kind, payload []byte) error {
	_, err := validate(k, payload)
	return err
}

// ValidateEvent, ValidateResult, ValidateCommand, ValidateGatewayStatus and
// ValidateDeviceStatus are Validate for one kind.
func ValidateEvent(payload []byte) error         { return Validate(Event, payload) }
func ValidateResult(payload []byte) error        { return Validate(Result, payload) }
func ValidateCommand(payload []byte) error       { return Validate(Command, payload) }
func ValidateGatewayStatus(payload []byte) error { return Validate(GatewayStatus, payload) }
func ValidateDeviceStatus(payload []byte) error  { return Validate(DeviceStatus, payload) }

// Strict is Validate plus the rule for the gateway's own output: it names no
// field the schema does not, at the top level and, for an event type the
// contract specifies, in data (a free-form object such as punch's raw is not
// looked into).
func Strict(k Kind, payload []byte) error {
	v, err := validate(k, payload)
	if err != nil {
		return err
	}
	s, err := compiled()
	if err != nil {
		return err
	}
	obj, _ := v.(map[string]any)
	var bad []string
	bad = unnamed(bad, "", obj, s.fields[k])
	if k == Event {
		typ, _ := obj["type"].(string)
		if names, ok := s.data[typ]; ok {
			data, _ := obj["data"].(map[string]any)
			bad = unnamed(bad, "/data", data, names)
		}
	}
	if len(bad) > 0 {
		return &Error{Kind: k, Violations: bad}
	}
	return nil
}

func unnamed(bad []string, at string, obj map[string]any, names []string) []string {
	var extra []string
	for key := range obj {
		if !slices.Contains(names, key) {
			extra = append(extra, key)
		}
	}
	slices.Sort(extra)
	for _, key := range extra {
		bad = append(bad, fmt.Sprintf("%s/%s: field not named by the schema", at, key))
	}
	return bad
}

func validate(k Kind, payload []byte) (any, error) {
	s, err := compiled()
	if err != nil {
		return nil, err
	}
	sch, ok := s.schemas[k]
	if !ok {
		return nil, fmt.Errorf("contract: unknown payload kind %q", k)
	}
	v, err := decode(payload)
	if err != nil {
		return nil, &Error{Kind: k, Violations: []string{err.Error()}}
	}
	if err := sch.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("contract: validate %s: %w", k, err)
		}
		v := violations(nil, ve)
		slices.Sort(v) // the library's order is not stable; by location reads best
		return nil, &Error{Kind: k, Violations: slices.Compact(v)}
	}
	return v, nil
}

// cborDec reads the CBOR form into the JSON data model: text-keyed maps, no
// tags, no indefinite lengths, no duplicate keys (byte strings are left to the
// schema to refuse: JSON has none).
var cborDec = cbormode.MustHostile(cbormode.Limits{MaxNestedLevels: 16, MaxArrayElements: 4096, MaxMapPairs: 4096})

func decode(payload []byte) (any, error) {
	if len(payload) == 0 {
		return nil, errors.New("empty payload")
	}
	if payload[0] == '{' {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("not JSON: %v", err)
		}
		return v, nil
	}
	var v any
	if err := cborDec.Unmarshal(payload, &v); err != nil {
		return nil, fmt.Errorf("neither a JSON object nor CBOR: %v", err)
	}
	return v, nil
}

var printer = message.NewPrinter(language.English)

// privacyKey is common.json's privacySafe pattern: a key it matches is refused
// as biometric material.
var privacyKey = regexp.MustCompile(`(^|_)(templates?|photos?|images?|pictures?|biometrics?|fingerprints?_raw)$`)

// violations flattens the error tree into its leaves: the keyword that failed
// and where in the payload.
func violations(out []string, ve *jsonschema.ValidationError) []string {
	if len(ve.Causes) == 0 {
		at := "/" + strings.Join(ve.InstanceLocation, "/") + ": "
		if _, ok := ve.ErrorKind.(*kind.FalseSchema); ok {
			// The schemas use false for a field that must not be there: the
			// privacy rule's keys, and fields another field rules out.
			if n := len(ve.InstanceLocation); n > 0 && privacyKey.MatchString(ve.InstanceLocation[n-1]) {
				return append(out, at+"field not allowed: no biometric templates, photos, images or raw fingerprint data (MQTT.md \"Privacy\")")
			}
			return append(out, at+"field not allowed here (see the schema's description and MQTT.md)")
		}
		return append(out, at+ve.ErrorKind.LocalizedString(printer))
	}
	for _, c := range ve.Causes {
		out = violations(out, c)
	}
	return out
}
