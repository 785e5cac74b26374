package metrics

import (
	"os"
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

// TestMain prints one line naming the components whose tests skipped.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
