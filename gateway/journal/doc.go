// Package journal owns the gateway's store-and-forward log on local disk. Every
// event a device reports is appended here, made durable (fdatasync) before the
// device is acknowledged, and kept until the uplink's broker acknowledged it.
//
// The log is a directory of preallocated segment files holding 8-byte-aligned
// records framed with a length and a CRC-32C (FORMAT.md §2–§3; etcd's WAL is the
// model). Concurrent appenders share group commits: Append returns only when its
// record is durable, and commits happen at most once per Options.SyncWindow
// whatever the load (§6). Records belong to named streams with priorities; a
// consumer reads a stream in order through a Reader and acknowledges records in
// any order, and the stream's cursor advances over the acknowledged prefix and is
// persisted lazily, so a crash may redeliver but never skips (§5.2). Named
// consumers (Options.Consumers, ConsumerReader) read with cursors of their own.
//
// Retention deletes whole segments once every stream is past them; a disk cap
// sheds the least important streams first, compacting segments they share
// with more important records, and refuses protected streams with ErrFull
// (backpressure, never silent loss); a per-stream maximum age expires records
// for privacy (§7).
//
// Open recovers: it truncates a torn tail, skips corruption without losing the
// good records after it, keeps a .broken copy, and returns exactly what was lost
// (Recovery). It reads only the active segment, so a large backlog opens fast and
// memory does not grow with it (§4.4).
package journal
