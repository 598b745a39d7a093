package feishu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/gateway/sinks/internal/cloud"
)

// DefaultBase is Feishu's API root (open.larksuite.com for Lark).
const DefaultBase = "https://open.feishu.cn"

// Platform is the sink's name for Feishu in the person directory.
const Platform = "feishu"

// Codes the sink acts on.
const (
	codeOK              = 0
	codeRateLimit       = 99991400 // request trigger frequency limit
	codeTokenFormat     = 99991661
	codeTokenInvalid    = 99991663 // tenant access token invalid
	codeTokenExpired    = 99991677
	codeFieldValidation = 99992402
)

// DefaultBatch is the most flow records a call carries unless configured.
const DefaultBatch = 50

// Options configure a Sink.
type Options struct {
	AppID     string
	AppSecret string // read from its file by FromSettings
	cloud.Common

	EmployeeType string // employee_id (default) or employee_no
	CreatorID    string // creator_id; default: the punching user
	Location     string // location_name; default: the device id
	Batch        int    // records per call; default DefaultBatch

	People cloud.Directory
	Now    func() time.Time
}

// Sink imports punches into Feishu attendance.
type Sink struct {
	// Immutable.
	o      Options
	client *http.Client
	token  *cloud.Token
}

var _ sinks.BatchSink = (*Sink)(nil)

// New returns a sink; o.AppID and o.AppSecret are required.
func New(o Options) (*Sink, error) {
	if o.AppID == "" || o.AppSecret == "" {
		return nil, errors.New("feishu: app_id and app_secret are required")
	}
	o.Common.Defaults(DefaultBase)
	if o.EmployeeType == "" {
		o.EmployeeType = "employee_id"
	}
	if o.EmployeeType != "employee_id" && o.EmployeeType != "employee_no" {
		return nil, fmt.Errorf("feishu: employee_type %q: want employee_id or employee_no", o.EmployeeType)
	}
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	s := &Sink{o: o, client: o.Common.Client()}
	s.token = &cloud.Token{Fetch: s.fetchToken, Now: o.Now, Early: 31 * time.Minute}
	return s, nil
}

var settingKeys = append([]string{"app_id", "app_secret_file", "employee_type", "creator_id", "location_name", "batch"},
	cloud.CommonKeys...)

// FromSettings builds a sink from its configuration (CONFIG.md, kind
// feishu); people is the person directory.
func FromSettings(s sinks.Settings, people cloud.Directory) (*Sink, error) {
	if err := s.Only(settingKeys...); err != nil {
		return nil, err
	}
	var o Options
	app, err := cloud.ParseApp(s, "app_id", "app_secret_file", DefaultBase)
	if err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	o.AppID, o.AppSecret, o.Common = app.ID, app.Secret, app.Common
	o.EmployeeType = s["employee_type"]
	if o.CreatorID, err = cloud.Text(s, "creator_id", "", 64); err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	if o.Location, err = cloud.Text(s, "location_name", "", 256); err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	if o.Batch, err = cloud.Int(s, "batch", DefaultBatch, 1, 200); err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	o.People = people
	return New(o)
}

// reply is Feishu's answer.
type reply struct {
	Code              int    `json:"code"`
	Msg               string `json:"msg"`
	TenantAccessToken string `json:"tenant_access_token"`
	Expire            int    `json:"expire"`
}

func (r *reply) PlatformCode() int { return r.Code }

// Error is a call Feishu answered with a non-zero code.
type Error struct {
	Endpoint string
	Code     int
	Msg      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("feishu: %s: code %d: %s", e.Endpoint, e.Code, e.Msg)
}

func trim(msg string) string {
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

const tokenPath = "/open-apis/auth/v3/tenant_access_token/internal"

func (s *Sink) fetchToken(ctx context.Context) (string, time.Duration, error) {
	var r reply
	err := cloud.Call(ctx, s.client, cloud.Request{Method: http.MethodPost, Base: s.o.Base, Path: tokenPath,
		Body: map[string]string{"app_id": s.o.AppID, "app_secret": s.o.AppSecret}}, &r)
	if err != nil {
		return "", 0, rateLimited(err)
	}
	if r.Code != codeOK {
		return "", 0, &Error{Endpoint: tokenPath, Code: r.Code, Msg: trim(r.Msg)}
	}
	return r.TenantAccessToken, time.Duration(r.Expire) * time.Second, nil
}

// post calls path with the tenant token (once more with a new one if
// Feishu refuses it).
func (s *Sink) post(ctx context.Context, path string, q url.Values, body any) error {
	return s.token.Do(ctx, func(tok string) (bool, error) {
		var r reply
		err := cloud.Call(ctx, s.client, cloud.Request{Method: http.MethodPost, Base: s.o.Base, Path: path, Query: q,
			Header: http.Header{"Authorization": {"Bearer " + tok}}, Body: body}, &r)
		code := r.Code
		var he *cloud.HTTPError
		if errors.As(err, &he) {
			code = he.Code
		} else if err != nil {
			return false, err
		}
		if code == codeOK && err == nil {
			return false, nil
		}
		stale := code == codeTokenFormat || code == codeTokenInvalid || code == codeTokenExpired
		if err != nil {
			return stale, rateLimited(err)
		}
		return stale, &Error{Endpoint: path, Code: code, Msg: trim(r.Msg)}
	})
}

// rateLimited turns Feishu's 429 (or 400 with 99991400) into a retry no
// sooner than x-ogw-ratelimit-reset, and keeps any other HTTP failure a
// plain retry; a 400 with a business code is the caller's to judge.
func rateLimited(err error) error {
	var he *cloud.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	if he.Status == http.StatusTooManyRequests || he.Code == codeRateLimit {
		d := he.RetryAfter
		if d == 0 {
			d = time.Second // the limit is per second (50/s)
		}
		return sinks.RetryAfter(err, d)
	}
	if he.Code != 0 {
		return &Error{Endpoint: he.Endpoint, Code: he.Code, Msg: fmt.Sprintf("HTTP %d", he.Status)}
	}
	return err
}

// refused says whether err refuses the records themselves.
func refused(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && (fe.Code == codeFieldValidation || fe.Code/10000 == 122)
}
