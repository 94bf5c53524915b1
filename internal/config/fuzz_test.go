package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that any input either parses or fails with a
// *ValidationError whose entries are classified, and that Validate on a
// parsed configuration never panics and is equally typed.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(validBase))
	lookup := env(map[string]string{"A": "1", "B": "x", "REDIS_URL": "redis://127.0.0.1:1/0"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(bytes.NewReader(data), lookup)
		if err != nil {
			checkTyped(t, err)
			return
		}
		if err := cfg.Validate(); err != nil {
			checkTyped(t, err)
		}
		_ = cfg.CheckSecrets(lookup)
	})
}

func checkTyped(t *testing.T, err error) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if len(ve.Errors) == 0 {
		t.Fatal("ValidationError without entries")
	}
	for _, fe := range ve.Errors {
		if fe.Err == nil || fe.Msg == "" || fe.Line < 0 {
			t.Fatalf("unclassified entry %+v", fe)
		}
	}
	_ = ve.Error()
}
