package main

import (
	"fmt"
	"net"
)

// listenFirst opens the listening socket before anything slow or stateful
// starts, so that a second instance on the same address fails at once with
// the clear "address already in use", not after opening the database.
func listenFirst(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
