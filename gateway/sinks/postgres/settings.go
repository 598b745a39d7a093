package postgres

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/officegate/officegate/gateway/sinks"
)

// identifier is compiled at its first use, not when the package
// initialises: every officegate command would pay for it, postgres sink or
// not (its 62 repetitions make a program of some 50 KB).
var identifier = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`) })

// FromSettings builds a sink from its configuration (CONFIG.md
// "[[sinks]]"): host, database and user (required), port, password_file,
// sslmode, ca_file, schema, batch, timeout.
func FromSettings(s sinks.Settings) (sinks.Sink, error) {
	if err := s.Only("host", "port", "database", "user", "password_file", "sslmode", "ca_file", "schema", "batch", "timeout"); err != nil {
		return nil, err
	}
	cfg, o, err := Config(s)
	if err != nil {
		return nil, err
	}
	return New(cfg, o)
}

// Config turns settings into a connection configuration and options.
func Config(s sinks.Settings) (*pgxpool.Config, Opts, error) {
	var o Opts
	for _, k := range []string{"host", "database", "user"} {
		if s[k] == "" {
			return nil, o, fmt.Errorf("postgres: %s is required", k)
		}
	}
	port := 5432
	if v, ok := s["port"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			return nil, o, fmt.Errorf("postgres: port %q: want 1..65535", v)
		}
		port = n
	}
	sslmode := "prefer"
	if v, ok := s["sslmode"]; ok {
		switch v {
		case "disable", "prefer", "require", "verify-ca", "verify-full":
			sslmode = v
		default:
			return nil, o, fmt.Errorf("postgres: sslmode %q: want disable, prefer, require, verify-ca or verify-full", v)
		}
	}
	if v, ok := s["schema"]; ok {
		if !identifier().MatchString(v) {
			return nil, o, fmt.Errorf("postgres: schema %q: want a lower-case SQL identifier", v)
		}
		o.Schema = v
	}
	if v, ok := s["batch"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, o, fmt.Errorf("postgres: batch %q: want a number of events, 1..10000", v)
		}
		o.Batch = n
	}
	if v, ok := s["timeout"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, o, fmt.Errorf("postgres: timeout %q: want a positive duration such as \"30s\"", v)
		}
		o.Timeout = d
	}
	kv := []string{"host=" + quote(s["host"]), "port=" + strconv.Itoa(port), "dbname=" + quote(s["database"]),
		"user=" + quote(s["user"]), "sslmode=" + sslmode, "application_name=officegate"}
	if f := s["ca_file"]; f != "" {
		if _, err := os.Stat(f); err != nil {
			return nil, o, fmt.Errorf("postgres: ca_file: %w", err)
		}
		kv = append(kv, "sslrootcert="+quote(f))
	}
	cfg, err := pgxpool.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, o, fmt.Errorf("postgres: connection settings: %w", err)
	}
	// The password comes from its file only: not from the environment or a
	// ~/.pgpass that ParseConfig may have found.
	cfg.ConnConfig.Password = ""
	if f := s["password_file"]; f != "" {
		b, err := sinks.ReadSecretFile("password_file", f)
		if err != nil {
			return nil, o, fmt.Errorf("postgres: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, o, fmt.Errorf("postgres: password_file %s is empty", f)
		}
		cfg.ConnConfig.Password = string(b)
	}
	cfg.MaxConns = 4
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cfg.ConnConfig.ConnectTimeout = timeout
	return cfg, o, nil
}

// quote quotes a keyword/value connection string value.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
