// Package cloud holds what the office-platform sinks (dingtalk, wecom, feishu) share.
//
// That is: secrets read from files, a cached access token, the punch an
// event carries, the person directory as a sink sees it, and HTTP calls
// whose errors never quote a URL.
//
// The platforms put the access token in the query string (DingTalk,
// WeCom) or a header (Feishu), and Go's *url.Error quotes the whole URL:
// an error from net/http would carry the token into the log, the dead
// letter and the alarm. Every call here goes through Call, which names
// the endpoint by its path only.
package cloud
