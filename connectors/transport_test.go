package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/crmpulse/crmpulse/internal/httpx"
)

func TestTransportError(t *testing.T) {
	if TransportError(nil) != nil {
		t.Fatal("nil error mapped to non-nil")
	}
	revoked := fmt.Errorf("refresh: %w", &httpx.TokenError{Status: 400, Code: "invalid_grant", Revoked: true})
	if err := TransportError(revoked); !errors.Is(err, ErrReauthorize) {
		t.Fatalf("revoked token: %v does not wrap ErrReauthorize", err)
	}
	if err := TransportError(&httpx.TokenError{Status: 503}); !errors.Is(err, ErrTransient) {
		t.Fatalf("failed refresh: %v not transient", err)
	}
	if err := TransportError(context.Canceled); err != context.Canceled {
		t.Fatalf("cancellation changed: %v", err)
	}
	ue := &url.Error{Op: "Get", URL: "https://x/query?q=SELECT+Name+FROM+Account+WHERE+Name='secret'", Err: errors.New("connection reset")}
	err := TransportError(ue)
	if !errors.Is(err, ErrTransient) || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("url error mapped to %v", err)
	}
	ce := &Error{Code: "X", Class: ErrPermanent}
	if got := TransportError(fmt.Errorf("wrapped: %w", ce)); got != ce {
		t.Fatalf("connector error not passed through: %v", got)
	}
}
