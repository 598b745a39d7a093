// Package dingtalk delivers attendance punches to DingTalk (钉钉) as attendance punch records.
//
// A punch becomes one call of "上传打卡记录"
// (https://open.dingtalk.com/document/development/upload-punch-records):
//
//	POST https://oapi.dingtalk.com/topapi/attendance/record/upload?access_token=ACCESS_TOKEN
//	{"userid", "device_name", "device_id", "user_check_time"}
//
// one record per call, as the page documents it: userid the employee's
// DingTalk userid (from the person directory); device_name and device_id
// free text chosen by the caller (here: the sink's device_name setting,
// default the gateway's device id, and the device id); user_check_time in
// milliseconds, within the last 180 days ("需要传 180 天以内的日期");
// photo_url optional and never sent. The answer is {"errcode", "errmsg",
// "success", "request_id"}. The app must be an internal app (企业内部应用)
// holding the permission Pro.AttendanceRecord.Write (考勤打卡记录写权限).
//
// The token comes from "获取企业内部应用的access_token"
// (https://open.dingtalk.com/document/development/obtain-orgapp-token):
// GET /gettoken?appkey=…&appsecret=… → {"access_token", "expires_in": 7200}.
// The page asks callers to cache it ("开发者需要缓存access_token") and not
// to call gettoken often ("不能频繁调用gettoken接口，否则会受到频率拦截"): it is
// renewed 5 minutes before expires_in runs out, and dropped and fetched
// again when a call is refused for its token.
//
// Error codes are DingTalk's global list
// (https://open.dingtalk.com/document/orgapp/server-api-error-codes-1),
// where errcode 88 means "look at sub_code": 40014 (不合法的access_token)
// and 42001 (access_token超时), as errcode or sub_code, renew the token;
// -1 (系统繁忙) and the rate limits 90002, 90005, 90006 and 90018 (calls per
// second or minute over the app's or the corp's limit), as errcode or
// sub_code, are backed off — at least a second for the per-second limit
// 90018, a minute for the per-minute ones — and retried, never
// dead-lettered; 33012 (无效的USERID), 60121 (找不到该用户) and 40035 (不合法的
// 参数: a time beyond 180 days) refuse the record: it goes to the
// dead-letter stream with an alarm. Any other code (a wrong appsecret, a
// missing permission 60011, an IP not on the app's allow list 60020) is
// the sink misconfigured: the sink is down, nothing is dead-lettered, and
// the log names the code.
//
// Only the userid, the time and the device texts are sent: never a card
// number, a photo or anything else of the event. DingTalk offers no
// idempotency key for punch records: a reply lost after DingTalk stored
// the record makes it go again, and the punch appears twice at the same
// millisecond.
package dingtalk
