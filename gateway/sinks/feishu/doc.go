// Package feishu delivers attendance punches to Feishu (飞书) as imported punch flows.
//
// Punches become flow records of "导入打卡流水"
// (https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/attendance-v1/user_flow/batch_create):
//
//	POST https://open.feishu.cn/open-apis/attendance/v1/user_flows/batch_create?employee_type=employee_id
//	Authorization: Bearer <tenant_access_token>
//	{"flow_records": [{"user_id", "creator_id", "location_name", "check_time", "comment"}]}
//
// as the page documents them: employee_type (required) says what user_id
// and creator_id are — employee_id (the user ID of the admin console) or
// employee_no (the employee number); the five fields are all required;
// check_time is a string of seconds ("精确到秒的时间戳", e.g. "1611476284");
// the API is limited to 50 calls a second; the app needs the permission
// attendance:task (写入打卡数据). The page we could read does not state a
// number of records per call: the sink sends at most Options.Batch (the
// batch setting, default 50). A call answers {"code", "msg", "data"} as a
// whole, so a batch refused for its content is split in halves until the
// refused record is alone (cloud.Bisect): it is dead-lettered, the rest
// delivered in order.
//
// The token is a tenant_access_token of "自建应用获取 tenant_access_token"
// (https://open.feishu.cn/document/ukTMukTMukTM/ukDNz4SO0MjL5QzM/auth-v3/auth/tenant_access_token_internal):
// POST /open-apis/auth/v3/tenant_access_token/internal {"app_id",
// "app_secret"} → {"code", "tenant_access_token", "expire"}; it lives at
// most 2 hours, and asking again while more than 30 minutes remain returns
// the same token, so it is renewed 31 minutes before expire runs out. A
// call refused for the token (99991661 format, 99991663 invalid, 99991677
// expired: the server error code list,
// https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code)
// drops it and fetches a new one. A rate-limited call is HTTP 429 (or 400
// on older APIs) with code 99991400 and x-ogw-ratelimit-reset, the seconds
// until the window reopens ("Rate limits",
// https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control):
// it is retried after that, never dead-lettered. Attendance's own codes
// (122xxxx: a parameter or a user refused) and field validation (99992402)
// refuse the records; anything else is a destination that is down or
// misconfigured: retried, nothing dead-lettered.
//
// Only the user id, the time and the sink's texts are sent — never a card
// number, a photo or anything else of the event. The API has no
// idempotency key; comment carries the event id so that a punch sent twice
// (a reply lost after Feishu stored it) can be recognised.
package feishu
