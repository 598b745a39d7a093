package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/officegate/officegate/internal/pgtest"
)

// A cluster starts, takes the password, survives Stop and Start on its port.
func TestCluster(t *testing.T) {
	c := pgtest.Start(t, nil)
	query := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.URL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var n int
		return conn.QueryRow(ctx, "select 41 + 1").Scan(&n)
	}
	if err := query(); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	if err := query(); err == nil {
		t.Fatal("a stopped cluster answered")
	}
	c.Start()
	if err := query(); err != nil {
		t.Fatal(err)
	}
}
