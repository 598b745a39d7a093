//go:build benchprofile

// Profiling hooks for the e2e bench (gateway/cmd/bench), compiled in only
// with -tags benchprofile: the bench builds the gateway it measures with
// them, and a release build (systemd/packaging/build-deb) has none of this.
//
// With OFFICEGATE_BENCH_PROFILE set to a file, SIGUSR1 starts a CPU profile
// into it and prints "profiling" on stdout; SIGUSR2 stops it and prints
// "profiled", after saying on stderr where the process's memory is (the
// runtime's own account). With OFFICEGATE_BENCH_HEAP set to a file too, the
// heap is sampled finely (every 4 KiB allocated, which costs some memory
// itself) and SIGUSR2 also writes the heap profile there.
// Without OFFICEGATE_BENCH_PROFILE nothing changes: the signals keep their
// default action.

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

func init() {
	path := os.Getenv("OFFICEGATE_BENCH_PROFILE")
	if path == "" {
		return
	}
	heap := os.Getenv("OFFICEGATE_BENCH_HEAP")
	if heap != "" {
		runtime.MemProfileRate = 4096 // finer than the default 512 KiB: a gateway's heap is a few MB
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	go benchProfiler(sig, path, heap)
}

// benchProfiler answers the bench's signals for the life of the process.
func benchProfiler(sig <-chan os.Signal, path, heap string) {
	var f *os.File
	stop := func() {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
			f = nil
		}
	}
	for s := range sig {
		switch s {
		case syscall.SIGUSR1:
			stop()
			var err error
			if f, err = os.Create(path); err == nil {
				if err = pprof.StartCPUProfile(f); err != nil {
					f.Close()
					f = nil
				}
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "officegate: bench profile:", err)
				fmt.Println("profile failed")
				continue
			}
			fmt.Println("profiling")
		case syscall.SIGUSR2:
			stop()
			printBenchMem()
			if heap != "" {
				if err := writeBenchHeap(heap); err != nil {
					fmt.Fprintln(os.Stderr, "officegate: bench heap profile:", err)
				}
			}
			fmt.Println("profiled")
		}
	}
}

// printBenchMem says on stderr where the process's memory is, as the
// runtime counts it.
func printBenchMem() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(os.Stderr, "officegate: bench: %d goroutines; heap in use %.1f MB (objects %.1f MB, garbage not yet collected included), GC goal %.1f MB; "+
		"stacks %.1f MB; runtime metadata %.1f MB (GC %.1f, spans %.1f, profiling buckets %.1f, other %.1f); mapped %.1f MB, returned to the OS %.1f MB; %d GCs\n",
		runtime.NumGoroutine(), mb(ms.HeapInuse), mb(ms.HeapAlloc), mb(ms.NextGC), mb(ms.StackInuse),
		mb(ms.MSpanInuse+ms.MCacheInuse+ms.BuckHashSys+ms.GCSys+ms.OtherSys), mb(ms.GCSys), mb(ms.MSpanInuse+ms.MCacheInuse), mb(ms.BuckHashSys), mb(ms.OtherSys),
		mb(ms.Sys), mb(ms.HeapReleased), ms.NumGC)
}

// writeBenchHeap writes the heap profile: the live heap of the last
// collection.
func writeBenchHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
