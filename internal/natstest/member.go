package natstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// A nats-server v2.10 process can start unable to send any raft message,
// for as long as it runs. Its raft layer sends through a queue whose
// goroutine (sendq.internalLoop, server/sendq.go) registers its client
// with s.SystemAccount() as it starts; setSystemAccount (server/server.go)
// starts that goroutine before it stores the system account, so on a
// starved machine the goroutine can look first, find none, and keep a
// client without an account, whose every message processInboundClientMsg
// drops. The node still receives the meta leader's entries, so /healthz
// reports it current, but its votes and acknowledgements never arrive: the
// leader never counts it as a peer, its meta group stays at two nodes, and
// every stream with replicas 3 (the MQTT listener's, on a node's first
// session) fails "no suitable peers for placement" until the process is
// restarted. Every 2.10 release has the race (2.10.27 too); 2.11.0 hands
// the queue its account when it creates it. Seen here in about one cluster
// start in five with other clusters running on the same two cores
// (TestStartRestartsRaftSilentNode models it).

// raftSilence is how long a node may follow the meta leader without the
// leader hearing from it before it is restarted: the server's own
// lostQuorumInterval, after which it reports a silent peer not current.
// A node that sends heard within a heartbeat (1 s).
const raftSilence = 10 * time.Second

// leaderlessSilence is the same judgement with no meta leader: then a node
// is heard only once an election runs, and a node campaigns after a random
// 4-9 s without a leader (the server's min and max election timeouts), so
// a node restarted without the fault can stay unheard for longer than
// raftSilence before the first election after its start. Two maximum
// election timeouts and some room, so a healthy node just restarted is not
// taken for a silent one (seen on a loaded machine: a node started four
// times).
const leaderlessSilence = 20 * time.Second

// faultConf, when set (by a test), returns the configuration of a node's
// first start in place of conf, or "" for conf.
var faultConf func(name, conf string) string

// errNotHeard: the node follows the meta leader, which has not heard from
// the node's running process.
var errNotHeard = errors.New("meta leader has not heard from this process")

// jsz is what natstest reads of /jsz: the meta group as a node sees it;
// the leader also lists its peers.
type jsz struct {
	Now  time.Time `json:"now"`
	Meta *struct {
		Leader   string `json:"leader"`
		Size     int    `json:"cluster_size"`
		Replicas []struct {
			Name    string        `json:"name"`
			Current bool          `json:"current"`
			Offline bool          `json:"offline"`
			Active  time.Duration `json:"active"` // since the leader last heard from it
		} `json:"replicas"`
	} `json:"meta_cluster"`
}

func (s *Server) jsz(client *http.Client) (*jsz, error) {
	resp, err := client.Get("http://" + s.HTTP + "/jsz")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s /jsz: %w", s.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s /jsz: %s: %.200s", s.Name, resp.Status, body)
	}
	var j jsz
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%s /jsz: %w", s.Name, err)
	}
	if j.Meta == nil || j.Meta.Leader == "" {
		return nil, fmt.Errorf("%s /jsz: no meta leader", s.Name)
	}
	return &j, nil
}

// heard returns nil once the node is healthy and the meta leader counts
// its running process as a current peer (or it is the leader: elected by
// votes it sent); errNotHeard, with the leader's name, while the node is a
// healthy follower the leader has not heard since the node's process
// started.
func (s *Server) heard(client *http.Client) (leader string, err error) {
	if err := s.health(client); err != nil {
		return "", err
	}
	j, err := s.jsz(client)
	if err != nil {
		return "", err
	}
	leader = j.Meta.Leader
	var l *Server
	for _, n := range s.cluster.Nodes {
		if n.Name == leader {
			l = n
		}
	}
	if l == nil {
		return "", fmt.Errorf("%s follows meta leader %q, not of this cluster", s.Name, leader)
	}
	lj, err := l.jsz(client)
	if err != nil {
		return "", err
	}
	if lj.Meta.Leader != leader {
		return "", fmt.Errorf("meta leader moved from %s to %s", leader, lj.Meta.Leader)
	}
	if leader == s.Name {
		return leader, nil
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	for _, p := range lj.Meta.Replicas {
		if p.Name != s.Name {
			continue
		}
		// Active is 0 for a peer never heard.
		if p.Current && !p.Offline && p.Active > 0 && lj.Now.Add(-p.Active).After(started) {
			return leader, nil
		}
	}
	return leader, fmt.Errorf("%s: leader %s: %w", s.Name, leader, errNotHeard)
}

// awaitMember waits until the meta leader counts the node as a current
// peer (heard). A node that stays a healthy follower the leader does not
// hear for raftSilence has lost its raft messages, which only a new
// process mends: it is restarted with its store and ports.
func (s *Server) awaitMember(deadline time.Time) error {
	client := &http.Client{Timeout: time.Second}
	var leader string
	var since time.Time // since when the node has followed leader unheard
	for {
		l, err := s.heard(client)
		if err == nil {
			return nil
		}
		switch {
		case !errors.Is(err, errNotHeard):
			since = time.Time{}
		case since.IsZero() || l != leader:
			leader, since = l, time.Now()
		case time.Since(since) > raftSilence:
			if s.logf != nil {
				s.logf("natstest: restarting nats-server %s: %v for %v (a raft-silent process, see member.go)", s.Name, err, raftSilence)
			}
			s.Kill()
			if err := s.start(); err != nil {
				return err
			}
			if err := s.awaitHealthy(deadline); err != nil {
				return err
			}
			since = time.Time{}
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server %s not ready (meta group member): %w", s.Name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitMetaSize waits until the meta leader counts Size nodes in its group
// (it adds a node it heard through the group's own log).
func (c *Cluster) awaitMetaSize(deadline time.Time) error {
	client := &http.Client{Timeout: time.Second}
	s := c.Nodes[0]
	return s.await("meta group size", deadline, func() error {
		j, err := s.jsz(client)
		if err != nil {
			return err
		}
		for _, l := range c.Nodes {
			if l.Name != j.Meta.Leader {
				continue
			}
			lj, err := l.jsz(client)
			if err != nil {
				return err
			}
			if lj.Meta.Leader != l.Name || lj.Meta.Size != Size {
				return fmt.Errorf("meta leader %s counts %d nodes, want %d", lj.Meta.Leader, lj.Meta.Size, Size)
			}
			return nil
		}
		return fmt.Errorf("meta leader %q is not of this cluster", j.Meta.Leader)
	})
}

// awaitHealthy waits until every node is healthy. Two raft-silent nodes
// leave the third no quorum, so no meta leader is ever elected: once the
// nodes have not all been healthy for leaderlessSilence, those that hear another
// node's raft messages but whose own running process none has heard are
// restarted.
func (c *Cluster) awaitHealthy(deadline time.Time) error {
	client := &http.Client{Timeout: time.Second}
	since := time.Now()
	for {
		var err error
		for _, s := range c.Nodes {
			if err = s.health(client); err != nil {
				err = fmt.Errorf("nats-server %s: %w", s.Name, err)
				break
			}
		}
		if err == nil {
			return nil
		}
		if time.Since(since) > leaderlessSilence {
			if silent := c.raftSilent(client); len(silent) > 0 {
				for _, s := range silent {
					if s.logf != nil {
						s.logf("natstest: restarting nats-server %s: no other node has heard its raft messages, the cluster unhealthy for %v (%v; a raft-silent process, see member.go)", s.Name, leaderlessSilence, err)
					}
					s.Kill()
					if err := s.start(); err != nil {
						return err
					}
				}
				since = time.Now()
				continue
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not ready (healthz): %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// raftSilent returns the nodes that have heard another node's running
// process in the meta group but that no other node has heard since they
// started; nil when it cannot tell.
func (c *Cluster) raftSilent(client *http.Client) []*Server {
	heard := map[string]map[string]time.Time{} // listener → speaker → when
	started := map[string]time.Time{}
	for _, s := range c.Nodes {
		h, err := s.raftHeard(client)
		if err != nil {
			return nil
		}
		heard[s.Name] = h
		s.mu.Lock()
		started[s.Name] = s.started
		s.mu.Unlock()
	}
	var silent []*Server
	for _, s := range c.Nodes {
		var hears, isHeard bool
		for _, o := range c.Nodes {
			if o == s {
				continue
			}
			if t, ok := heard[s.Name][o.Name]; ok && t.After(started[o.Name]) {
				hears = true
			}
			if t, ok := heard[o.Name][s.Name]; ok && t.After(started[s.Name]) {
				isHeard = true
			}
		}
		if hears && !isHeard {
			silent = append(silent, s)
		}
	}
	return silent
}

// raftHeard returns when the node last heard each peer of its meta group,
// by name (/raftz).
func (s *Server) raftHeard(client *http.Client) (map[string]time.Time, error) {
	resp, err := client.Get("http://" + s.HTTP + "/raftz?acc=%24SYS&group=_meta_")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	now := time.Now()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s /raftz: %w", s.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s /raftz: %s: %.200s", s.Name, resp.Status, body)
	}
	var rz map[string]map[string]struct {
		Peers map[string]struct {
			Name     string `json:"name"`
			LastSeen string `json:"last_seen"` // a duration before now; "" never
		} `json:"peers"`
	}
	if err := json.Unmarshal(body, &rz); err != nil {
		return nil, fmt.Errorf("%s /raftz: %w", s.Name, err)
	}
	heard := map[string]time.Time{}
	for _, groups := range rz {
		for _, p := range groups["_meta_"].Peers {
			if d, err := time.ParseDuration(p.LastSeen); err == nil {
				heard[p.Name] = now.Add(-d)
			}
		}
	}
	return heard, nil
}
