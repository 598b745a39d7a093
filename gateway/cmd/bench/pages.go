package main

import (
	"bufio"
	"cmp"
	"context"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// pagesMain is the pages command: which pages of the officegate binary are
// resident in a gateway right after its start (no device, its broker
// unreachable), by section of the binary and by package.
func pagesMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pages", flag.ContinueOnError)
	bin := fs.String("officegate", "", "the officegate `binary` to measure (default: built by the bench as a release is); needs -symbols")
	syms := fs.String("symbols", "", "the same build without -s -w, for its symbols (default: built by the bench beside the release build)")
	wait := fs.Duration("wait", 2*time.Second, "how long after the gateway is ready to look")
	dir := fs.String("dir", "", "parent `directory` of the gateway's state (default: the system's temporary directory)")
	top := fs.Int("top", 25, "packages to list")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: bench pages [flags]\n\n"+
			"Starts officegate with no device and its broker unreachable, as the\n"+
			"bench's e2e does (officegate run, ready by sd_notify), and lists the\n"+
			"pages of its executable that are resident: by section and by package\n"+
			"(the symbols of -symbols), and how many 64 KiB blocks they fall in (the\n"+
			"kernel's fault-around maps the cached neighbours of a faulted page, up\n"+
			"to 64 KiB by default). Reads /proc/PID/pagemap.\n\n")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if (*bin == "") != (*syms == "") {
		fmt.Fprintln(os.Stderr, "bench pages: give -officegate and -symbols together, or neither")
		return errUsage
	}
	tmp, err := os.MkdirTemp(*dir, "bench-pages-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *bin == "" {
		*bin, *syms = filepath.Join(tmp, "officegate"), filepath.Join(tmp, "officegate.symbols")
		for _, b := range []struct{ out, ldflags string }{{*bin, "-s -w -X main.version=bench"}, {*syms, "-X main.version=bench"}} {
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", b.ldflags, "-o", b.out, "github.com/officegate/officegate/gateway/cmd/officegate")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("bench pages: building officegate: %w\n%s", err, out)
			}
		}
	}
	img, err := readImage(*bin, *syms)
	if err != nil {
		return err
	}
	// A port nothing listens on: the uplink keeps trying, as at a start
	// with the broker down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	broker := "tcp://" + l.Addr().String()
	l.Close()
	gw, err := startGateway(ctx, e2eConfig{Inflight: 64, SyncWindow: 10 * time.Millisecond},
		gatewaySpec{bin: *bin, broker: broker, state: filepath.Join(tmp, "gateway")})
	if err != nil {
		return err
	}
	defer gw.stop()
	select {
	case <-time.After(*wait):
	case <-ctx.Done():
		return ctx.Err()
	}
	anon, file, err := rssOf(gw.pid())
	if err != nil {
		return err
	}
	res, err := residentPages(gw.pid(), *bin)
	if err != nil {
		return err
	}
	rep := img.account(res)
	fmt.Printf("officegate %s, %.1f s after READY: RssFile %.1f MB, RssAnon %.1f MB\n", *bin, wait.Seconds(), mb(file), mb(anon))
	rep.print(os.Stdout, *top)
	return nil
}

// image is what the accounting needs of a binary: its sections and its
// symbols, from the unstripped twin of the binary that runs.
type image struct {
	sections []imageSection
	syms     []imageSym // by address
}

type imageSection struct {
	name       string
	addr, size uint64
}

type imageSym struct {
	addr, size uint64
	pkg        string
}

// readImage reads the sections of bin and the symbols of syms, which must
// be the same build but for its symbols: their loaded sections must be at
// the same addresses, with the same sizes.
func readImage(bin, syms string) (*image, error) {
	fb, err := elf.Open(bin)
	if err != nil {
		return nil, err
	}
	defer fb.Close()
	fs, err := elf.Open(syms)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	img := &image{}
	for _, s := range fb.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Addr == 0 || s.Type == elf.SHT_NOBITS {
			continue // not loaded, or not in the file (.bss)
		}
		t := fs.Section(s.Name)
		if t == nil || t.Addr != s.Addr || t.Size != s.Size {
			return nil, fmt.Errorf("bench pages: %s and %s are not the same build: section %s differs", bin, syms, s.Name)
		}
		img.sections = append(img.sections, imageSection{s.Name, s.Addr, s.Size})
	}
	ss, err := fs.Symbols()
	if err != nil {
		return nil, fmt.Errorf("bench pages: %s: %w", syms, err)
	}
	for _, s := range ss {
		if s.Value != 0 && s.Size != 0 {
			img.syms = append(img.syms, imageSym{s.Value, s.Size, symbolPackage(s.Name)})
		}
	}
	slices.SortFunc(img.syms, func(a, b imageSym) int { return cmp.Compare(a.addr, b.addr) })
	return img, nil
}

// symbolPackage is the package a Go symbol belongs to: "net/http" of
// "net/http.(*Server).Serve", "type:" of "type:*net/http.Server".
func symbolPackage(name string) string {
	if p, _, ok := strings.Cut(name, ":"); ok && !strings.Contains(p, "/") && !strings.Contains(p, ".") {
		return p + ":" // type:, go:, …: the linker's
	}
	slash := strings.LastIndexByte(name, '/')
	if i := strings.IndexByte(name[slash+1:], '.'); i >= 0 {
		return name[:slash+1+i]
	}
	return name
}

// residentPages lists the addresses of the pages of exe's mappings in
// process pid that are resident and file-backed (not copied on write).
func residentPages(pid int, exe string) ([]uint64, error) {
	exe, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return nil, err
	}
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	defer maps.Close()
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	var pages []uint64
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bench pages: /proc/%d/maps: %q", pid, sc.Text())
		}
		got, err := pagemapResident(pm, start, end)
		if err != nil {
			return nil, fmt.Errorf("bench pages: /proc/%d/pagemap: %w", pid, err)
		}
		pages = append(pages, got...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("bench pages: no resident page of %s in process %d", exe, pid)
	}
	return pages, nil
}

// pagemapResident reads the pagemap entries of [start, end) and returns the
// pages present and file-backed (Documentation/admin-guide/mm/pagemap.rst:
// bit 63 present, bit 61 file page or shared anonymous).
func pagemapResident(pm io.ReaderAt, start, end uint64) ([]uint64, error) {
	const page = 4096
	n := (end - start) / page
	buf := make([]byte, n*8)
	if _, err := pm.ReadAt(buf, int64(start/page*8)); err != nil {
		return nil, err
	}
	var out []uint64
	for i := range n {
		e := binary.LittleEndian.Uint64(buf[i*8:])
		if e&(1<<63) != 0 && e&(1<<61) != 0 {
			out = append(out, start+i*page)
		}
	}
	return out, nil
}

// pagesReport is the resident pages of a binary, accounted.
type pagesReport struct {
	sections []pagesTally // in the binary's order
	packages []pagesTally // most pages first
	pages    int
	blocks   int // distinct 64 KiB blocks with a resident page
}

type pagesTally struct {
	name            string
	resident, total uint64 // bytes
}

// account tallies resident pages by section, and by the package that has
// the most bytes in each page (a page of the sections without symbols, the
// function table, counts for the section).
func (img *image) account(pages []uint64) pagesReport {
	const page = 4096
	var r pagesReport
	r.pages = len(pages)
	blocks := map[uint64]bool{}
	bySec := map[string]uint64{}
	byPkg := map[string]uint64{}
	for _, p := range pages {
		blocks[p>>16] = true
		sec := "(between sections)"
		for _, s := range img.sections {
			if p+page > s.addr && p < s.addr+s.size {
				sec = s.name
				break
			}
		}
		bySec[sec] += page
		byPkg[img.pagePackage(p, sec)] += page
	}
	r.blocks = len(blocks)
	for _, s := range img.sections {
		r.sections = append(r.sections, pagesTally{s.name, bySec[s.name], s.size})
	}
	for k, v := range byPkg {
		r.packages = append(r.packages, pagesTally{name: k, resident: v})
	}
	slices.SortFunc(r.packages, func(a, b pagesTally) int {
		return cmp.Or(cmp.Compare(b.resident, a.resident), strings.Compare(a.name, b.name))
	})
	return r
}

// pagePackage is the package with the most bytes in the page at p, or the
// section's name when no symbol covers it: the function table and most of
// the functions' metadata in .gopclntab, and the type descriptors and
// strings in .rodata, have no symbol of their own.
func (img *image) pagePackage(p uint64, sec string) string {
	const page = 4096
	i, _ := slices.BinarySearchFunc(img.syms, p+page, func(s imageSym, a uint64) int { return cmp.Compare(s.addr, a) })
	bytes := map[string]uint64{}
	for j := i - 1; j >= 0; j-- {
		s := img.syms[j]
		if s.addr+s.size <= p {
			if p-s.addr > 1<<20 { // no symbol is this large: none further covers p
				break
			}
			continue
		}
		bytes[s.pkg] += min(s.addr+s.size, p+page) - max(s.addr, p)
	}
	best, most := "", uint64(0)
	for k, v := range bytes {
		if v > most || v == most && k < best {
			best, most = k, v
		}
	}
	if best == "" {
		return sec + " (no symbol)"
	}
	return sec + " " + best
}

func (r pagesReport) print(w io.Writer, top int) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "section\tresident MB\tof MB\t\n")
	for _, s := range r.sections {
		if s.resident > 0 {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t\n", s.name, mib(s.resident), mib(s.total))
		}
	}
	fmt.Fprintf(tw, "all\t%.2f\t\t\n", mib(uint64(r.pages)*4096))
	tw.Flush()
	fmt.Fprintf(w, "the resident pages fall in %d blocks of 64 KiB (%.2f MB)\n\n", r.blocks, mib(uint64(r.blocks)<<16))
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "resident MB\tsection and package\n")
	for i, p := range r.packages {
		if i == top {
			break
		}
		fmt.Fprintf(tw, "%.2f\t%s\n", mib(p.resident), p.name)
	}
	tw.Flush()
}

// mib is b in MiB, unrounded (the bench's "MB" are MiB).
func mib(b uint64) float64 { return float64(b) / (1 << 20) }
