package config

import _ "embed"

// Example is a complete configuration with every key documented, the file
// `officegate` prints and installs as a starting point.
//
//go:embed example.toml
var Example string
