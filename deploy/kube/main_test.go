//go:build kube

package kube

import (
	"os"
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
