// Package admintest fakes what the daemon tells the admin service about live
// links. It implements admin.Links.
package admintest

import (
	"maps"
	"sync"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/provisioning/admin"
)

var _ admin.Links = (*Links)(nil)

// Links is an admin.Links the test fills: real link.Gateways by device id
// and port, or fixed statuses for ports with no link behind them. Safe for
// concurrent use.
type Links struct {
	mu sync.Mutex
	// Guarded by mu.
	links  map[string]*link.Gateway // by device id
	ports  map[string]*link.Gateway // by port
	status map[string]link.Status   // by port, for ports without a Gateway
}

// SetLink makes g the link of device id (nil removes it) and, if port is
// not "", the link watched on port.
func (l *Links) SetLink(id, port string, g *link.Gateway) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.links == nil {
		l.links, l.ports = map[string]*link.Gateway{}, map[string]*link.Gateway{}
	}
	if g == nil {
		delete(l.links, id)
	} else {
		l.links[id] = g
	}
	if port != "" {
		l.ports[port] = g
	}
}

// SetStatus makes port report st, with no link.Gateway behind it.
func (l *Links) SetStatus(port string, st link.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == nil {
		l.status = map[string]link.Status{}
	}
	l.status[port] = st
}

// Link implements admin.Links.
func (l *Links) Link(id string) *link.Gateway {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.links[id]
}

// Ports implements admin.Links.
func (l *Links) Ports() map[string]link.Status {
	l.mu.Lock()
	st := maps.Clone(l.status)
	ports := maps.Clone(l.ports)
	l.mu.Unlock()
	if st == nil {
		st = map[string]link.Status{}
	}
	for p, g := range ports {
		if g != nil {
			st[p] = g.Status()
		}
	}
	return st
}
