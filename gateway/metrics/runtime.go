package metrics

import (
	"runtime"
	rtmetrics "runtime/metrics"
)

// The Go and process families keep the names, types and help texts that
// client_golang's Go collector and process collector (registered with
// Namespace) gave them, so dashboards and alerts built on them keep working.
// Only the few an operator of a small box watches are kept: goroutines and
// threads, heap and memory from the OS, GC settings, and the process's CPU,
// memory, descriptors and start time.
var (
	dGoroutines = desc{"go_goroutines", "Number of goroutines that currently exist.", typeGauge}
	dThreads    = desc{"go_threads", "Number of OS threads created.", typeGauge}
	dGoInfo     = desc{"go_info", "Information about the Go environment.", typeGauge}
	dAlloc      = desc{"go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", typeGauge}
	dAllocTotal = desc{"go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", typeCounter}
	dHeapAlloc  = desc{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", typeGauge}
	dHeapInuse  = desc{"go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", typeGauge}
	dHeapObjs   = desc{"go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", typeGauge}
	dNextGC     = desc{"go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", typeGauge}
	dSys        = desc{"go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", typeGauge}
	dGOGC       = desc{"go_gc_gogc_percent", "Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable, and the runtime/debug.SetGCPercent function. Sourced from /gc/gogc:percent.", typeGauge}
	dMemLimit   = desc{"go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function. Sourced from /gc/gomemlimit:bytes.", typeGauge}
	dMaxProcs   = desc{"go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously. Sourced from /sched/gomaxprocs:threads.", typeGauge}

	dCPU       = desc{Namespace + "_process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", typeCounter}
	dOpenFDs   = desc{Namespace + "_process_open_fds", "Number of open file descriptors.", typeGauge}
	dMaxFDs    = desc{Namespace + "_process_max_fds", "Maximum number of open file descriptors.", typeGauge}
	dRSS       = desc{Namespace + "_process_resident_memory_bytes", "Resident memory size in bytes.", typeGauge}
	dVSize     = desc{Namespace + "_process_virtual_memory_bytes", "Virtual memory size in bytes.", typeGauge}
	dStartTime = desc{Namespace + "_process_start_time_seconds", "Start time of the process since unix epoch in seconds.", typeGauge}

	runtimeNames = []string{dGoroutines.name, dThreads.name, dGoInfo.name, dAlloc.name, dAllocTotal.name,
		dHeapAlloc.name, dHeapInuse.name, dHeapObjs.name, dNextGC.name, dSys.name, dGOGC.name, dMemLimit.name,
		dMaxProcs.name, dCPU.name, dOpenFDs.name, dMaxFDs.name, dRSS.name, dVSize.name, dStartTime.name}
)

// The runtime/metrics samples read at each scrape, in this order. Reading
// them does not stop the world, unlike runtime.ReadMemStats.
var runtimeSamples = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/gc/heap/allocs:bytes",
	"/gc/heap/objects:objects",
	"/gc/heap/goal:bytes",
	"/memory/classes/total:bytes",
	"/gc/gogc:percent",
	"/gc/gomemlimit:bytes",
	"/sched/gomaxprocs:threads",
}

// collectRuntime is the collector of the Go and process families.
func collectRuntime(dst []family) []family {
	one := func(d desc, v float64) { dst = append(dst, family{d, []sample{{v: v}}}) }
	one(dGoroutines, float64(runtime.NumGoroutine()))
	threads, _ := runtime.ThreadCreateProfile(nil) // what client_golang reported
	one(dThreads, float64(threads))
	dst = append(dst, family{dGoInfo, []sample{{label: "version", value: runtime.Version(), v: 1}}})

	s := make([]rtmetrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		s[i].Name = name
	}
	rtmetrics.Read(s)
	v := make([]float64, len(s))
	for i := range s {
		// Every name above is a uint64 metric in the Go versions this builds
		// with; one that is not (KindBadValue) reads as 0 rather than panic.
		if s[i].Value.Kind() == rtmetrics.KindUint64 {
			v[i] = float64(s[i].Value.Uint64())
		}
	}
	one(dAlloc, v[0])
	one(dHeapAlloc, v[0])
	one(dHeapInuse, v[0]+v[1])
	one(dAllocTotal, v[2])
	one(dHeapObjs, v[3])
	one(dNextGC, v[4])
	one(dSys, v[5])
	one(dGOGC, v[6])
	one(dMemLimit, v[7])
	one(dMaxProcs, v[8])
	return appendProcess(dst)
}
