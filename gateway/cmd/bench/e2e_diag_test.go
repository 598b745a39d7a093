package main

import "testing"

func TestGatewayDelivered(t *testing.T) {
	ok := `officegate_journal_appended_total{stream="a"} 9; officegate_journal_depth{stream="a"} 0; officegate_journal_shed_total{stream="a"} 0; officegate_uplink_published_total{stream="a"} 9`
	if !gatewayDelivered(ok) {
		t.Error("drained journal not recognised")
	}
	for _, bad := range []string{
		`officegate_journal_depth{stream="a"} 3; officegate_journal_shed_total{stream="a"} 0`,
		`officegate_journal_depth{stream="a"} 0; officegate_journal_shed_total{stream="a"} 2`,
		`gateway metrics unavailable: connection refused`,
	} {
		if gatewayDelivered(bad) {
			t.Errorf("%q taken as delivered", bad)
		}
	}
}
