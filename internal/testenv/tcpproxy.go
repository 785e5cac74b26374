package testenv

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TCPProxy forwards a loopback port to a target address, and can cut the
// link to simulate a dependency that dies or hangs:
//
//   - Cut closes every connection and stops listening, so new connections are
//     refused, as when the dependency's process is killed;
//   - Stall keeps accepting connections but forwards nothing in either
//     direction, as when packets are black-holed;
//   - Restore listens and forwards again on the same address.
//
// The address stays the same throughout, so a client configured with it
// reconnects by itself once the link is restored.
type TCPProxy struct {
	// Addr is the proxy's host:port on 127.0.0.1.
	Addr   string
	target string

	mu       sync.Mutex
	ln       net.Listener
	stalled  bool
	closed   bool
	conns    map[net.Conn]struct{}
	accepted int
	wg       sync.WaitGroup
}

// StartTCPProxy listens on a free loopback port, forwards to target, and
// closes everything when the test ends.
func StartTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tcp proxy: listen: %v", err)
	}
	p := &TCPProxy{Addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.Close)
	return p
}

func (p *TCPProxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // listener closed by Cut or Close
			}
			if !p.trackFrom(ln, c) {
				c.Close()
				continue
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
}

// track registers c; it refuses when the proxy is being closed.
func (p *TCPProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.trackLocked(c)
}

// trackFrom registers c, accepted on ln; it refuses when ln is no longer the
// proxy's listener. A connection that Accept returned just as Cut closed ln
// and the open connections would otherwise survive the Cut.
func (p *TCPProxy) trackFrom(ln net.Listener, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		return false
	}
	return p.trackLocked(c)
}

func (p *TCPProxy) trackLocked(c net.Conn) bool {
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	p.accepted++
	return true
}

func (p *TCPProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

// forward copies both ways until either side closes, or holds the client
// connection open without forwarding while the proxy is stalled.
func (p *TCPProxy) forward(client net.Conn) {
	p.mu.Lock()
	stalled := p.stalled
	p.mu.Unlock()
	if stalled {
		// Read and drop until Cut, Restore or Close closes the connection,
		// so the client's writes never block on a full buffer and its
		// reads never get an answer.
		_, _ = io.Copy(io.Discard, client)
		p.untrack(client)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.untrack(client)
		return
	}
	if !p.track(server) {
		server.Close()
		p.untrack(client)
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	// One side ended: close both so the other copy ends too.
	p.untrack(client, server)
	<-done
}

// closeConns closes every open connection through the proxy.
func (p *TCPProxy) closeConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Cut closes every connection and stops listening: new connections are
// refused until Restore.
func (p *TCPProxy) Cut() { p.shut(false) }

// shut stops listening and closes every connection; for good when final.
func (p *TCPProxy) shut(final bool) {
	p.mu.Lock()
	p.closed = p.closed || final
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.closeConns()
}

// Stall closes every connection and then accepts new ones without forwarding
// anything: clients connect, and wait for answers that never come.
func (p *TCPProxy) Stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
	p.closeConns()
	p.ensureListening()
}

// Restore forwards again: after Cut it listens on the same address again;
// after Stall it closes the stalled connections so clients reconnect.
func (p *TCPProxy) Restore() {
	p.mu.Lock()
	wasStalled := p.stalled
	p.stalled = false
	p.mu.Unlock()
	if wasStalled {
		p.closeConns()
	}
	p.ensureListening()
}

// ensureListening reopens the listener on the proxy's address if Cut closed
// it. The port was ours a moment ago, so it is normally free; retry briefly
// in case the kernel has not released it yet.
func (p *TCPProxy) ensureListening() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.closed {
		return
	}
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.Addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	panic(errors.New("tcp proxy: cannot listen again on " + p.Addr + ": " + err.Error()))
}

// Conns reports how many connections (both sides) are open through the proxy.
func (p *TCPProxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepted reports how many connections (both sides) the proxy has opened.
func (p *TCPProxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops the proxy for good and waits for its goroutines.
func (p *TCPProxy) Close() {
	p.shut(true)
	p.wg.Wait()
}
