// Package wecom delivers attendance punches to WeCom (企业微信) as check-in records.
//
// A punch becomes one record of "添加打卡记录"
// (https://developer.work.weixin.qq.com/document/path/99647):
//
//	POST https://qyapi.weixin.qq.com/cgi-bin/checkin/add_checkin_record?access_token=ACCESS_TOKEN
//	{"records": [{"userid", "checkin_time", "location_title", "location_detail",
//	              "notes", "device_type", "device_detail"}]}
//
// as the page documents them: at most 200 records a call ("一批最多200个");
// checkin_time a Unix time in seconds; location_title, location_detail and
// notes at most 1024 characters; device_type 1 a door (门禁), 2 an
// attendance machine (考勤机, face or fingerprint), 3 other; device_detail
// the device's brand, at most 40 characters. The call answers
// {"errcode", "errmsg"} for the whole batch: the page documents no
// per-record result, so a batch refused for its content is split in halves
// and sent again (cloud.Bisect) until the refused record is alone — it
// goes to the dead-letter stream, the others are delivered, in order.
// The application must be listed under 打卡 → 可调用接口的应用 (the same
// page; agents developed on behalf of a corp and third-party apps cannot
// call it).
//
// The token comes from "获取access_token"
// (https://developer.work.weixin.qq.com/document/path/91039): GET
// /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET → {"access_token",
// "expires_in": 7200}. It is cached ("不能频繁调用gettoken接口，否则会受到频率拦截"),
// renewed 5 minutes before expires_in runs out, and dropped and fetched
// again when a call is refused with 40014 (invalid) or 42001 (expired), or
// 41001 (missing) — the page warns that WeCom may invalidate a token
// early. Error codes are the global list
// (https://developer.work.weixin.qq.com/document/path/90313): -1 (系统繁忙)
// and 45009 (接口调用超过限制) are a destination that is busy or rate
// limited: backed off and retried, never dead-lettered; 40003 (无效的UserID)
// and 60111 (UserID不存在) and 40058 (参数不合法) refuse the records; any
// other code (a wrong secret 40001, a corp id 40013, an IP not allowed
// 60020, …) is the sink misconfigured: nothing is dead-lettered, the
// sink is down until it is fixed, the log says which code.
//
// Only the user id (from the person directory), the time, and the texts of
// the sink's settings are sent: never a card number, a photo, a template
// or anything else of the event. WeCom offers no idempotency key for
// check-in records: a reply lost after WeCom stored a batch makes the
// batch go again, and the punches appear twice, at the same second — which
// WeCom's attendance rules count once (first in, last out). notes carries
// the event id so that such a pair can be told apart from two punches.
package wecom
