package demo

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is the demo's embedded MQTT broker, on loopback only.
type Broker struct {
	URL  string
	Host string
	Port int
	srv  *mqtt.Server
}

// StartBroker listens on 127.0.0.1:1883 if it is free, else on a free port.
func StartBroker() (*Broker, error) {
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("demo: broker: %w", err)
	}
	// Listening is the test of freedom: another demo may take the port
	// between a check and the listen.
	l := listeners.NewTCP(listeners.Config{ID: "demo", Address: "127.0.0.1:1883"})
	if err := srv.AddListener(l); err != nil {
		l = listeners.NewTCP(listeners.Config{ID: "demo-any", Address: "127.0.0.1:0"})
		if err := srv.AddListener(l); err != nil {
			return nil, fmt.Errorf("demo: no free loopback port for the broker: %w", err)
		}
	}
	addr := l.Address() // the port the kernel chose
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		srv.Close()
		return nil, fmt.Errorf("demo: broker listens on %q, not a host and port", addr)
	}
	go srv.Serve()
	return &Broker{URL: "tcp://" + addr, Host: host, Port: port, srv: srv}, nil
}

// Close stops the broker.
func (b *Broker) Close() error { return b.srv.Close() }
