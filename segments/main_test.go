package segments_test

import (
	"os"
	"testing"

	"github.com/crmpulse/crmpulse/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
