package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// errDuplicate is returned when a collector would add a family name the
// registry already serves.
var errDuplicate = errors.New("metrics: family already registered")

// A collector appends its families to dst at each scrape. It must be quick
// and must not block: it runs in the /metrics handler.
type collector interface {
	collect(dst []family) []family
}

// registry is the set of collectors /metrics serves.
type registry struct {
	mu sync.Mutex
	// Guarded by mu.
	collectors []collector
	names      map[string]bool
}

// register adds c, which promises to collect exactly the families named.
func (r *registry) register(c collector, names ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		if !validName(n) {
			return fmt.Errorf("metrics: invalid family name %q", n)
		}
		if r.names[n] {
			return fmt.Errorf("%w: %q", errDuplicate, n)
		}
	}
	if r.names == nil {
		r.names = map[string]bool{}
	}
	for _, n := range names {
		r.names[n] = true
	}
	r.collectors = append(r.collectors, c)
	return nil
}

// mustRegister is register for the fixed metrics of New, where an error is a
// bug in this package.
func (r *registry) mustRegister(c collector, names ...string) {
	if err := r.register(c, names...); err != nil {
		panic(err)
	}
}

// appendText appends every collector's families in the text format, sorted
// by name (expose.go).
func (r *registry) appendText(dst []byte) []byte {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	var fams []family
	for _, c := range cs {
		fams = c.collect(fams)
	}
	slices.SortFunc(fams, func(a, b family) int { return strings.Compare(a.name, b.name) })
	for i := range fams {
		dst = appendFamily(dst, &fams[i])
	}
	return dst
}

// scalar is a counter or a gauge without labels.
type scalar struct {
	desc               // Immutable.
	bits atomic.Uint64 // math.Float64bits of the value
}

func newScalar(typ, name, help string) *scalar {
	return &scalar{desc: desc{name, help, typ}}
}

// inc adds 1.
func (s *scalar) inc() {
	for {
		old := s.bits.Load()
		if s.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+1)) {
			return
		}
	}
}

func (s *scalar) set(v float64) { s.bits.Store(math.Float64bits(v)) }

func (s *scalar) collect(dst []family) []family {
	return append(dst, family{s.desc, []sample{{v: math.Float64frombits(s.bits.Load())}}})
}

// vec is a counter or gauge family with one label; a series exists once
// reported.
type vec struct {
	desc         // Immutable.
	label string // Immutable.

	mu sync.Mutex
	// Guarded by mu.
	series map[string]float64
}

func newVec(typ, name, help, label string) *vec {
	return &vec{desc: desc{name, help, typ}, label: label, series: map[string]float64{}}
}

func (v *vec) inc(value string) {
	v.mu.Lock()
	v.series[value]++
	v.mu.Unlock()
}

func (v *vec) set(value string, x float64) {
	v.mu.Lock()
	v.series[value] = x
	v.mu.Unlock()
}

func (v *vec) get(value string) float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.series[value]
}

func (v *vec) total() float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := 0.0
	for _, x := range v.series {
		t += x
	}
	return t
}

func (v *vec) delete(value string) {
	v.mu.Lock()
	delete(v.series, value)
	v.mu.Unlock()
}

func (v *vec) collect(dst []family) []family {
	v.mu.Lock()
	samples := make([]sample, 0, len(v.series))
	for value, x := range v.series {
		samples = append(samples, sample{label: v.label, value: value, v: x})
	}
	v.mu.Unlock()
	slices.SortFunc(samples, func(a, b sample) int { return strings.Compare(a.value, b.value) })
	return append(dst, family{v.desc, samples})
}

// histogram counts observations into fixed buckets.
type histogram struct {
	desc            // Immutable.
	upper []float64 // Immutable: ascending upper bounds, +Inf implied.

	mu sync.Mutex
	// Guarded by mu, so a scrape sees count, sum and buckets of the same
	// observations.
	counts []uint64 // per bucket, not cumulative; the last is +Inf's
	sum    float64
}

func newHistogram(name, help string, upper []float64) *histogram {
	if !slices.IsSorted(upper) {
		panic(fmt.Sprintf("metrics: %s: buckets not ascending", name))
	}
	return &histogram{desc: desc{name, help, typeHistogram}, upper: upper, counts: make([]uint64, len(upper)+1)}
}

func (h *histogram) observe(v float64) {
	// le is "less than or equal": v lands in the first bucket whose bound is
	// ≥ v, past the end (+Inf) if none; NaN lands in +Inf as with
	// client_golang.
	i, _ := slices.BinarySearch(h.upper, v)
	if math.IsNaN(v) {
		i = len(h.upper)
	}
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.mu.Unlock()
}

func (h *histogram) collect(dst []family) []family {
	samples := make([]sample, 0, len(h.upper)+3)
	h.mu.Lock()
	var n uint64
	for i, c := range h.counts {
		n += c
		le := math.Inf(1)
		if i < len(h.upper) {
			le = h.upper[i]
		}
		samples = append(samples, sample{suffix: "_bucket", label: "le", value: string(appendFloat(nil, le)), v: float64(n)})
	}
	samples = append(samples, sample{suffix: "_sum", v: h.sum}, sample{suffix: "_count", v: float64(n)})
	h.mu.Unlock()
	return append(dst, family{h.desc, samples})
}

// funcCollector collects by calling a function, for figures read at scrape
// time (the journal's, the runtime's).
type funcCollector func(dst []family) []family

func (f funcCollector) collect(dst []family) []family { return f(dst) }
