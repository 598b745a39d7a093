// Package zkpush speaks the server side of ZKTeco's PUSH (ADMS) protocol.
//
// A ZKTeco terminal set to PUSH calls its server over HTTP; the gateway is that
// server. The specification is ZKTeco's "Attendance PUSH Communication
// Protocol" (PUSH SDK, doc version 3.7, software 2.4.1, March 2020; § numbers
// below are that document's). This package owns the wire formats: it parses
// what a terminal sends and formats what the gateway answers. It holds no
// state and opens no socket; the listener that uses it is the source.
//
// # The subset we implement
//
// Every request carries the terminal's serial number as the query parameter
// SN (§2: letters and digits). Replies are text/plain; every reply carries an
// HTTP Date header in GMT, from which the terminal sets its clock (§5, §12,
// §13). Lines are joined by LF; a trailing CR is tolerated on input.
//
// Handshake (§5, "initialization information exchange"):
//
//	GET /iclock/cdata?SN=<sn>&options=all[&pushver=<v>][&language=<n>][&pushcommkey=<k>]
//
// The reply's first line is exactly "GET OPTION FROM: <sn>", followed by
// key=value lines: ATTLOGStamp, OPERLOGStamp, ATTPHOTOStamp (resume markers),
// ErrorDelay (s before retrying after a failure; 30–300 recommended), Delay
// (s between command polls; 2–60 recommended), TransTimes ("HH:MM;HH:MM", up
// to 10), TransInterval (min), TransFlag (format II: "TransData AttLog\tOpLog…"),
// TimeZone (the server's zone: whole hours when -12 < n < 12, else minutes),
// Realtime (1: upload each record as it happens), Encrypt (we send None),
// ServerVer and PushProtVer (we answer 2.4.1). AppendOptions writes it.
//
// Stamps (§5). The spec keeps a resume marker per table on the server; new
// firmware ignores any value but 0, which makes it upload the whole table
// again. The gateway therefore keeps nothing it relies on in a stamp: a
// record is acknowledged by the "OK: n" reply to the POST that carried it,
// and a record re-sent after a stamp reset gets the same event id
// (zkteco.PunchKey). "CHECK" (§12.3.1) after answering a stamp of 0 asks a
// terminal to upload everything again.
//
// Attendance records (§11.2):
//
//	POST /iclock/cdata?SN=<sn>&table=ATTLOG[&Stamp=<s>]
//	<PIN>\t<Time>\t<Status>\t<Verify>\t<Workcode>\t<Reserved>\t<Reserved>  (LF-joined)
//
// answered "OK: <n>", n the number of records processed. ParseAttlogLine is
// lenient in columns and strict in values: at least PIN, Time, Status and
// Verify (firmware seen in the field sends only those four); Workcode when
// present; columns past the seventh (the identity-card variant, §11.7, adds a
// citizen id number) are counted and dropped, never kept. PIN is 1–24 bytes of
// [0-9A-Za-z] (24: the 4370 protocol's widest user id field); Time is exactly
// "YYYY-MM-DD HH:MM:SS", a real calendar instant, the terminal's local wall
// clock without a zone; Status and Verify are decimal 0–255 (Appendix 7
// lists verify modes 0–25 and firmware adds more, so we do not close the set).
// A line that breaks a rule is an error naming the rule; it costs no other
// line.
//
// Operation records (§11.4, §11.5, §11.9, §11.10): POST table=OPERLOG, one
// record per line, the first word naming the kind:
//
//	OPLOG <OpType>\t<OpWho>\t<OpTime>\t<Value1>\t<Value2>\t<Value3>\t<Reserved>
//	USER PIN=<pin>\tName=<name>\tPri=<n>\tPasswd=<pw>\tCard=<card>\tGrp=<n>\tTZ=<tz>\tVerify=<n>\tViceCard=<card>
//	FP PIN=<pin>\tFID=<n>\tSize=<n>\tValid=<n>\tTMP=<base64 template>
//	FACE PIN=<pin>\tFID=<n>\tSIZE=<n>\tVALID=<n>\tTMP=<base64 template>
//
// answered "OK: <n>". ParseOperLine recognises FP, FACE, FVEIN, BIODATA,
// USERPIC, BIOPHOTO and IDCARD records, and any record holding a TMP= field,
// as biometric or identity-document data and refuses them with ErrBiometric
// without keeping any of their bytes: the gateway counts them and answers OK
// so that the terminal does not retry them for ever. USER records keep PIN,
// Name, Pri, Card and Grp; Passwd is never kept. Names are UTF-8, or GB2312
// when the terminal's language is Chinese (§1.2); a name that is not valid
// UTF-8 is decoded as GB18030 (a superset of GB2312 and GBK), and one that is
// not valid GB18030 either is an error.
//
// Attendance photos (§11.3): POST table=ATTPHOTO (or /iclock/fdata) with
// "PIN=<file>\nSN=<sn>\nsize=<n>\nCMD=uploadphoto\x00<jpeg>", one photo per
// request, answered "OK". Photos are never journaled: the gateway reads no
// more than the body cap, discards it, counts it, and answers OK.
//
// Commands (§12): the terminal polls
//
//	GET /iclock/getrequest?SN=<sn>[&INFO=<fw>,<users>,<fps>,<records>,<ip>,…]
//
// and the reply is "OK" when nothing waits, else LF-joined command lines
// "C:<CmdID>:<CmdDesc> <args>", CmdID 1–16 letters and digits (§12). We send:
// DATA UPDATE USERINFO PIN=…\tName=…\tPri=…\tCard=…\tGrp=… (§12.1.1.1),
// DATA DELETE USERINFO PIN=… (§12.1.2), DATA QUERY ATTLOG
// StartTime=…\tEndTime=… (§12.1.3; the records come back as ordinary ATTLOG
// uploads), CHECK (§12.3.1), INFO (§12.4.3), SET OPTION <key>=<value>
// (§12.4.1), REBOOT (§12.7.1) and AC_UNLOCK (§12.7.2: open the lock output
// for the lock time set on the terminal; no argument). AppendCommand writes a line; ParseCommand
// reads one (for emulated terminals and tests).
//
// Every reply's Date header is the gateway's clock rounded to the second
// (not truncated), so a terminal that sets its clock from it is off by at
// most half a second plus the reply's way across the LAN.
//
// Command results (§13):
//
//	POST /iclock/devicecmd?SN=<sn>
//	ID=<CmdID>&Return=<code>&CMD=<desc>  (LF-joined, one per command)
//
// answered "OK". Return is 0 on success, negative on failure (Appendix 1:
// -1 bad parameter, -3 read/write error, -10 no such user, -1001 capacity,
// -1002 not supported, -1003 timeout, -1005 busy, …). After CMD=INFO the
// terminal appends key=value lines (§12.4.3); ParseResults attaches them to
// that result.
//
// Heartbeat (§10): GET /iclock/ping?SN=<sn>, answered "OK". (§10's annotation
// says POST, its example GET; we accept both.)
//
// Not implemented: communication encryption (§6, §7, Encrypt=1), remote
// attendance (§14), files (§12.5), enrollment commands (§12.6), SHELL and
// UPGRADE (§12.8). The gateway never sends these commands and answers
// Encrypt=None.
//
// # Test vectors
//
// testdata/vectors.txt holds annotated line vectors (a record in, the parsed
// values or the refusal out) and request/response exchanges. TestVectors and
// TestExchanges check them against this package, the fuzz targets start from
// them, and the listener's tests replay the exchanges against a real server.
package zkpush
