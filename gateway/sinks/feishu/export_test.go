package feishu

import (
	"context"

	"github.com/officegate/officegate/gateway/sinks"
)

// DeliverAll is deliver for the tests: one outcome per event.
func DeliverAll(s *Sink, ctx context.Context, evs []sinks.Event) []error { return s.deliver(ctx, evs) }
