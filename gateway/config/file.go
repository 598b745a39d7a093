package config

// The document as decoded, before validation. Pointers tell "not written"
// from a zero value; sizes and durations are `any` so a wrong type is one
// collected error, not the end of decoding.

type file struct {
	Gateway fileGateway  `toml:"gateway"`
	MQTT    fileMQTT     `toml:"mqtt"`
	Journal fileJournal  `toml:"journal"`
	HTTP    fileHTTP     `toml:"http"`
	Log     fileLog      `toml:"log"`
	Privacy filePrivacy  `toml:"privacy"`
	Prov    fileProv     `toml:"provisioning"`
	Devices []fileDevice `toml:"devices"`
	Sinks   []fileSink   `toml:"sinks"`
	Console *fileConsole `toml:"console"`
}

type fileSink struct {
	Name     *string           `toml:"name"`
	Kind     *string           `toml:"kind"`
	Streams  []string          `toml:"streams"`
	Settings map[string]string `toml:"settings"`
}

type fileProv struct {
	Ports       []string          `toml:"ports"`
	Baud        *int64            `toml:"baud"`
	RegistryDir *string           `toml:"registry_dir"`
	Socket      *string           `toml:"socket"`
	SocketGroup *string           `toml:"socket_group"`
	FirmwareKey *string           `toml:"firmware_key"`
	FirmwareDir *string           `toml:"firmware_dir"`
	FirmwareMax any               `toml:"firmware_max_size"`
	Profiles    map[string]string `toml:"profiles"`
}

type filePrivacy struct {
	CardKeyFile *string `toml:"card_key_file"`
}

type fileGateway struct {
	ID       *string `toml:"id"`
	Name     *string `toml:"name"`
	Timezone *string `toml:"timezone"`
	// Device clocks.
	ClockThreshold any `toml:"clock_threshold"`
	ClockSyncEvery any `toml:"clock_sync_every"`
}

type fileMQTT struct {
	URL            *string  `toml:"url"`
	URLs           []string `toml:"urls"`
	ClientID       *string  `toml:"client_id"`
	Username       *string  `toml:"username"`
	Password       *string  `toml:"password"`
	PasswordFile   *string  `toml:"password_file"`
	TopicRoot      *string  `toml:"topic_root"`
	Format         *string  `toml:"format"`
	Inflight       *int64   `toml:"inflight"`
	CommandQoS     *int64   `toml:"command_qos"`
	Keepalive      any      `toml:"keepalive"`
	ConnectTimeout any      `toml:"connect_timeout"`
	BackoffMin     any      `toml:"backoff_min"`
	BackoffMax     any      `toml:"backoff_max"`
	TLS            *fileTLS `toml:"tls"`
}

type fileTLS struct {
	CAFile             *string `toml:"ca_file"`
	CertFile           *string `toml:"cert_file"`
	KeyFile            *string `toml:"key_file"`
	ServerName         *string `toml:"server_name"`
	InsecureSkipVerify *bool   `toml:"insecure_skip_verify"`
	IUnderstand        *bool   `toml:"i_understand_this_is_insecure"`
}

type fileJournal struct {
	Dir            *string        `toml:"dir"`
	MaxBytes       any            `toml:"max_bytes"`
	SegmentSize    any            `toml:"segment_size"`
	SyncWindow     any            `toml:"sync_window"`
	CursorInterval any            `toml:"cursor_interval"`
	Retention      map[string]any `toml:"retention"`
}

type fileHTTP struct {
	Listen           *string `toml:"listen"`
	AllowNonLoopback *bool   `toml:"allow_non_loopback"`
}

type fileLog struct {
	Level  *string `toml:"level"`
	Format *string `toml:"format"`
}

type fileDevice struct {
	ID   *string `toml:"id"`
	Kind *string `toml:"kind"`
	Port *string `toml:"port"`
	Baud *int64  `toml:"baud"`
}

// rawDevices is the second, lenient pass that keeps each entry whole, for the
// [devices.<kind>] tables.
type rawDevices struct {
	Devices []map[string]any `toml:"devices"`
}
