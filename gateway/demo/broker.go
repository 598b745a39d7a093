package demo

import (
	"fmt"
	"io"
	"log/slog"
	"net"

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
	port := 1883
	if l, err := net.Listen("tcp", "127.0.0.1:1883"); err == nil {
		l.Close()
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("demo: no free loopback port for the broker: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("demo: broker: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "demo", Address: addr})); err != nil {
		return nil, fmt.Errorf("demo: broker listen on %s: %w", addr, err)
	}
	go srv.Serve()
	return &Broker{URL: "tcp://" + addr, Host: "127.0.0.1", Port: port, srv: srv}, nil
}

// Close stops the broker.
func (b *Broker) Close() error { return b.srv.Close() }
