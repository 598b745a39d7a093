#!/usr/bin/env bash
# run.sh — fuzz the C device's decoders with libFuzzer for a while each:
#   fuzz/run.sh [seconds]      (default 10)
# Seeds are the wire bytes and bodies of testvectors.txt. A crash, a
# sanitizer report or a timeout fails the run and leaves the input in the
# working directory (crash-*, timeout-*). Needs clang with libFuzzer
# (Debian: clang, libclang-rt-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v clang >/dev/null || { echo "fuzz: clang is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seed-link" "$work/seed-cbor" "$work/corpus-link" "$work/corpus-cbor"
# One seed per vector: the wire bytes for the link, the body for CBOR.
awk -v d="$work" '
	function flush() { if (name != "") {
		if (wire != "") print wire > (d "/seed-link/" name ".hex")
		if (body != "") print body > (d "/seed-cbor/" name ".hex") }
		wire = ""; body = ""; field = "" }
	/^vector:/ { flush(); name = $2; next }
	/^[a-z]+:/ { field = $1; sub(/^[a-z]+:[ ]*/, ""); if (field == "wire:") wire = $0; else if (field == "body:") body = $0; next }
	/^[ \t]/ { if (field == "wire:") wire = wire " " $0; else if (field == "body:") body = body " " $0 }
	END { flush() }' ../testvectors.txt
for f in "$work"/seed-*/*.hex; do
	xxd -r -p "$f" "${f%.hex}" 2>/dev/null || perl -ne 's/\s+//g; print pack("H*", $_)' "$f" >"${f%.hex}"
	rm "$f"
done
flags=(-g -O1 -std=c99 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -Isrc)
for t in link cbor; do
	clang "${flags[@]}" "fuzz/fuzz_$t.c" src/*.c -o "$work/fuzz_$t"
	echo "fuzz C $t (${secs}s)"
	"$work/fuzz_$t" -max_total_time="$secs" -timeout=10 -print_final_stats=0 "$work/corpus-$t" "$work/seed-$t" 2>"$work/log-$t" \
		|| { tail -n 40 "$work/log-$t"; exit 1; }
	grep -E '^#[0-9]+.*DONE' "$work/log-$t" | tail -n 1 || tail -n 2 "$work/log-$t"
done
