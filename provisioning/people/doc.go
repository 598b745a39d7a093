// Package people is the person directory: a device's person id or card hash to platforms' user ids.
//
// Devices know a person by what they read: a terminal's person id (the PIN
// or user number enrolled on it, "person" in attendance.punch) or a card,
// known on the wire only as its keyed hash ("card_hash", MQTT.md §11). The
// platforms HR works in know the same person by their own user id. A
// Directory maps the first to the second:
//
//	person      the id devices report ("person"); the directory's key
//	card_hash   optional: the keyed hash of their card (64 lower-case hex digits)
//	name        the display name, for messages (≤ 64 characters)
//	lang        the language of messages to them: "zh-CN", "en" or "" (the sink's default)
//	dingtalk    DingTalk userid
//	wecom       WeCom (企业微信) userid
//	feishu      Feishu/Lark user_id
//	employee    HR employee number
//
// # Use by sinks
//
// A sink finds a person with Lookup (by person id, else by card hash) and
// reads the platform's id with Person.UserID. An empty id means the person
// has no mapping for that platform: the sink must not guess one; it returns
// an error wrapping sinks.ErrUnmapped (sinks.Unmapped) and the runner holds
// the record until the mapping arrives. Watch tells of every change (an
// import, a removal), so that the runner retries what it holds:
//
//	p, ok := dir.Lookup(ev.Person)      // or dir.Lookup(cardHash)
//	uid := p.UserID(people.DingTalk)
//	if !ok || uid == "" {
//		return sinks.Unmapped(ev.Person, string(people.DingTalk))
//	}
//
//	ch, stop := dir.Watch()             // a signal per change, coalesced; never blocks the directory
//	defer stop()
//
// Lookup, List, Get and Watch are safe for concurrent use and never touch
// the disk; the directory in memory is replaced whole on each change.
//
// # File
//
// The directory is one file, people.reg, in the provisioning registry's
// directory, mode 0640 (it holds names: no secrets, but personal data).
// It is framed as the registry's files are (provisioning/FORMAT.md §2):
//
//	officegate-people 1 <length> <sha256 of the body> LF
//	{"people": [ {"person", "card_hash"?, "name"?, "lang"?, "dingtalk"?, "wecom"?,
//	              "feishu"?, "employee"?, "updated"}, … ]} LF
//
// sorted by person, no unknown members, every rule of "Rules" below. It is
// replaced whole (temporary file, fsync, rename, fsync of the directory:
// internal/atomicfile); a file that is damaged (torn, truncated, a checksum
// mismatch, a rule broken) is an error naming the file and the fault, and is
// left as it is for a person to inspect, never reset.
//
// # Import
//
// A CSV file with the header
//
//	person,card,name,lang,dingtalk,wecom,feishu,employee
//
// (a spreadsheet's UTF-8 byte order mark is fine). Every line is checked on
// its own, against the other lines and against the directory before anything
// is applied; if any line has a problem, nothing is applied and every problem
// is reported with its line number and column. card is empty, a card hash
// (64 lower-case hex digits) or a card number as HR knows it (decimal, or
// facility:number), which is hashed at once with the site's card key and
// never stored: the directory holds no clear card number. Each line replaces
// its person's whole record; with Replace, people the file does not name are
// removed too (the file is then the whole directory).
//
// # Rules
//
// person: 1–64 bytes of UTF-8 without control characters, spaces at either
// end or commas. name: ≤ 64 characters without control characters. lang:
// "", "zh-CN" or "en". Platform ids: ≤ 64 bytes of visible ASCII (no
// space). A card hash, and each platform's id, belongs to at most one person.
package people
