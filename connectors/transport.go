package connectors

import (
	"context"
	"errors"
	"net/url"

	"github.com/crmpulse/crmpulse/internal/httpx"
)

// TransportError maps a failure of the HTTP chain to a connector error:
// connector errors pass through, a refused token refresh becomes
// ErrReauthorize (revoked) or ErrTransient, cancellation stays as it is, and
// anything else is transient. The request URL is dropped from url.Error
// messages: it can carry SOQL or record ids.
func TransportError(err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	var te *httpx.TokenError
	if errors.As(err, &te) {
		class := ErrTransient
		if te.Revoked {
			class = ErrReauthorize
		}
		return &Error{Status: te.Status, Code: te.Code, Message: te.Description, Class: class}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{Message: err.Error(), Class: ErrTransient}
}
