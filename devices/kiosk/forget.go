package kiosk

import (
	"fmt"
	"slices"
)

// ForgetHost erases a person from the invite cache: every invite and every
// visit of today whose host is one of keys (the person's id, or the name
// the invites give them). It saves the state file before it returns and
// reports how many invites and visits it removed. A visitor whose host is
// forgotten can no longer check in with that invite: it names a person the
// office asked to erase. The kiosk's events already journaled are not
// touched (the journal's retention erases them).
func (k *Kiosk) ForgetHost(keys ...string) (invites, visits int, err error) {
	k.mu.Lock()
	for id, inv := range k.cache.invites {
		if slices.Contains(keys, inv.Host) {
			k.cache.remove(id)
			invites++
		}
	}
	for id, v := range k.cache.visits {
		if slices.Contains(keys, v.Host) {
			delete(k.cache.visits, id)
			visits++
		}
	}
	if invites+visits == 0 {
		k.mu.Unlock()
		return 0, 0, nil
	}
	seq, b, encErr := k.snapshot()
	k.mu.Unlock()
	if err := k.persist(seq, b, encErr); err != nil {
		return invites, visits, fmt.Errorf("kiosk: forgetting a host: removed from memory but not saved: %w", err)
	}
	return invites, visits, nil
}
