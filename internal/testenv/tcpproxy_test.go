package testenv

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// startEcho serves a line echo on a loopback port.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// echoes reports whether a line sent through addr comes back within a second.
func echoes(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ping\n"
}

func TestTCPProxyCutStallRestore(t *testing.T) {
	p := StartTCPProxy(t, startEcho(t))
	steps := []struct {
		name   string
		action func()
		want   bool
	}{
		{"forwards", func() {}, true},
		{"cut refuses", p.Cut, false},
		{"restored after cut", p.Restore, true},
		{"stall answers nothing", p.Stall, false},
		{"restored after stall", p.Restore, true},
	}
	for _, st := range steps {
		st.action()
		if got := echoes(p.Addr); got != st.want {
			t.Errorf("%s: echo %v, want %v", st.name, got, st.want)
		}
	}

	// An open connection is closed by Cut.
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.Cut()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a connection open across Cut still reads")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("a connection open across Cut was left hanging, not closed")
	}
	if _, err := net.DialTimeout("tcp", p.Addr, time.Second); err == nil {
		t.Error("a new connection was accepted after Cut")
	}
}
