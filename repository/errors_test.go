package repository

import (
	"errors"
	"io"
	"testing"
)

// poolCleared stands for the driver's unexported poolClearedError: what
// calls waiting for a connection get when another call on the same server
// failed on the network (seen as a 500 while the database was cut).
type poolCleared struct{}

func (poolCleared) Error() string {
	return "connection pool for 127.0.0.1:1 was cleared because another operation failed"
}
func (poolCleared) Retryable() bool { return true }

func TestUnavailableClassifiesDatabaseFailures(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"pool cleared", poolCleared{}, true},
		{"other error", io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unavailable("get official", tt.err)
			if got := errors.Is(err, ErrUnavailable); got != tt.want {
				t.Errorf("unavailable(%v) is ErrUnavailable: %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
