package testenv

import (
	"context"
	"testing"
	"time"
)

func TestStartJaeger(t *testing.T) {
	j := StartJaeger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	services, err := j.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("services of a fresh jaeger: %v", services)
	if _, found, err := j.Trace(ctx, "0123456789abcdef0123456789abcdef"); err != nil || found {
		t.Errorf("unknown trace: found=%v err=%v", found, err)
	}
}

func TestTwoJaegersRunSideBySide(t *testing.T) {
	a, b := StartJaeger(t), StartJaeger(t)
	if a.QueryURL == b.QueryURL || a.AgentAddr == b.AgentAddr {
		t.Errorf("shared endpoints: %+v %+v", a, b)
	}
}
