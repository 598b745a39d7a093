#!/usr/bin/env bash
# footprint.sh — the C device library's flash and RAM on a Cortex-M0+, per
# feature set, built with Debian's gcc-arm-none-eabi (-Os, Thumb).
#
# Each set links examples/uart_main.c (a terminal that uses every feature of
# its set) with the library and newlib-nano, with --gc-sections. Reported:
#   lib flash  code + constants of the library's own objects that the link
#              kept (from the link map), the figure to compare with goals;
#   helpers    libgcc/libc functions the whole image pulls in (64-bit
#              arithmetic, memcpy, …), shared with the application;
#   state      sizeof(og_link): the library's RAM besides the caller's
#              buffers (rx, tx, ctl) — the library has no globals (checked);
#   stack      the deepest call chain from og_link_poll / og_link_init /
#              og_link_event, from -fstack-usage and the call graph.
# Goals (issue): core ≤ 8 KB flash and ≤ 2 KB RAM; everything ≤ 24 KB flash.
# With --check it fails when a goal is missed. Needs arm-none-eabi-gcc.
set -euo pipefail
cd "$(dirname "$0")"
check=0
[ "${1:-}" = "--check" ] && check=1
command -v arm-none-eabi-gcc >/dev/null || { echo "footprint: arm-none-eabi-gcc is not installed (Debian: gcc-arm-none-eabi, libnewlib-arm-none-eabi)" >&2; exit 1; }
out=$(mktemp -d)
[ -n "${FOOTPRINT_KEEP:-}" ] || trap 'rm -rf "$out"' EXIT
cflags=(-mcpu=cortex-m0plus -mthumb -Os -std=c99 -ffunction-sections -fdata-sections -fstack-usage -fcallgraph-info=su -Wall -Wextra -Werror -Iinclude -Isrc)

sets=(
	"core|-DOG_WITH_CONFIG=0 -DOG_WITH_AUTH=0 -DOG_WITH_FIRMWARE=0|8192|2048"
	"core+config|-DOG_WITH_CONFIG=1 -DOG_WITH_AUTH=0 -DOG_WITH_FIRMWARE=0|0|0"
	"core+config+auth|-DOG_WITH_CONFIG=1 -DOG_WITH_AUTH=1 -DOG_WITH_FIRMWARE=0|0|0"
	"all|-DOG_WITH_CONFIG=1 -DOG_WITH_AUTH=1 -DOG_WITH_FIRMWARE=1|24576|0"
)
printf '%-18s %10s %9s %9s %9s %s\n' "features" "lib flash" "helpers" "state" "stack" "files"
fail=0
for s in "${sets[@]}"; do
	IFS='|' read -r name defs flashgoal ramgoal <<<"$s"
	d="$out/$name"
	mkdir -p "$d"
	objs=()
	for f in src/*.c examples/uart_main.c examples/port_stubs.c; do
		o="$d/$(basename "${f%.c}").o"
		# shellcheck disable=SC2086
		(cd "$d" && arm-none-eabi-gcc "${cflags[@]/#-I/-I$OLDPWD/}" $defs -c "$OLDPWD/$f" -o "$o")
		objs+=("$o")
	done
	arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections \
		-Wl,-Map="$d/map" "${objs[@]}" -o "$d/elf" 2>"$d/ld.log" || { cat "$d/ld.log"; exit 1; }
	# Sum the kept input sections of our objects, by kind, from the map.
	read -r lib ram helpers < <(awk -v d="$d/" '
		function hex(s,   i, c, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		  for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
		  return v }
		/^Linker script and memory map/ { kept = 1 }
		!kept { next }                                            # discarded sections come first
		/^ \.[a-z]/ && NF == 1 { sec = $1; next }                  # a long section name on its own line
		/^ \.[a-z]/ && NF >= 4 { sec = $1; addr = $2; size = $3; obj = $4 }
		/^                0x/ && NF == 3 && sec != "" { addr = $1; size = $2; obj = $3 }
		{ if (obj == "") next
		  n = hex(size)
		  if (index(obj, d) == 1 && obj !~ /uart_main|port_stubs/) {
			if (sec ~ /^\.(text|rodata)/) lib += n
			else if (sec ~ /^\.(data|bss)/) ram += n
		  } else if (index(obj, d) != 1 && sec ~ /^\.text/ && addr != "0x0000000000000000" && addr != "0x00000000") helpers += n
		  obj = ""; sec = "" }
		END { printf "%d %d %d\n", lib, ram, helpers }' "$d/map")
	state=$(arm-none-eabi-nm -S "$d/elf" | awk 'function hex(s,   i, c, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		  for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
		  return v }
		$4 ~ /^link(\.[0-9]+)?$/ { print hex($2) }' | head -1)
	# The deepest stack: longest path through the call graph from the API.
	stack=$(cat "$d"/*.ci | awk '
		/^node:/ { t = $0; sub(/.*title: "/, "", t); sub(/".*/, "", t); s = $0
		           if (s ~ /label: "[^"]*\\n[0-9]+ bytes/) { sub(/.*\\n/, "", s); sub(/ bytes.*/, "", s); }
		           else s = 0
		           if (!(t in use) || s+0 > use[t]) use[t] = s + 0 }
		/^edge:/ { a = $0; sub(/.*sourcename: "/, "", a); sub(/".*/, "", a)
		           b = $0; sub(/.*targetname: "/, "", b); sub(/".*/, "", b)
		           kids[a] = kids[a] " " b }
		# A self-recursive function (the CBOR walkers) nests at most 9 deep:
		# the 8 levels of §4.1 and the body. Other cycles are cut.
		function deep(f,   m, k, n, i, x, self) {
			if (f in memo) return memo[f]
			if (f in onpath) return 0
			onpath[f] = 1
			m = 0; self = 0; n = split(kids[f], k, " ")
			for (i = 1; i <= n; i++) {
				if (k[i] == f) { self = 1; continue }
				x = deep(k[i]); if (x > m) m = x
			}
			delete onpath[f]
			memo[f] = use[f] * (self ? 9 : 1) + m
			return memo[f]
		}
		END { m = 0
		      for (f in use) if (f ~ /og_link_poll$|og_link_init$|og_link_event$/) { x = deep(f); if (x > m) m = x }
		      print m }')
	printf '%-18s %10d %9d %9d %9d %s\n' "$name" "$lib" "$helpers" "$state" "$stack" "$defs"
	if [ "$ram" -ne 0 ]; then
		echo "footprint: the library has $ram bytes of .data/.bss (globals): it must have none" >&2
		fail=1
	fi
	if [ "$flashgoal" -gt 0 ] && [ "$lib" -gt "$flashgoal" ]; then
		echo "footprint: $name uses $lib bytes of flash, goal $flashgoal" >&2
		fail=1
	fi
	if [ "$ramgoal" -gt 0 ] && [ $((state + stack)) -gt "$ramgoal" ]; then
		echo "footprint: $name uses $((state + stack)) bytes of RAM (state + stack), goal $ramgoal" >&2
		fail=1
	fi
done
if [ "$check" -eq 1 ] && [ "$fail" -ne 0 ]; then
	exit 1
fi
