package connectors

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Error classes. Every error a Conn returns wraps exactly one of them.
var (
	// ErrReauthorize means the connection's credentials are gone for good:
	// the refresh token was revoked or rejected, the private-app token is
	// invalid, or the app was uninstalled. Retrying cannot help; a person
	// must log in again (crmpulse auth login <connection>).
	ErrReauthorize = errors.New("connection must be re-authorized")
	// ErrQuotaExhausted means the CRM's daily API allowance, or the share of
	// it this connection may use, is spent. Stop and resume after the reset.
	ErrQuotaExhausted = errors.New("CRM API quota exhausted")
	// ErrRateLimited means the CRM kept answering "too many requests" after
	// the HTTP layer's retries. Retry later.
	ErrRateLimited = errors.New("rate limited by the CRM")
	// ErrTransient is a failure worth retrying later: 5xx, network errors,
	// record locks.
	ErrTransient = errors.New("transient CRM error")
	// ErrPermanent is a failure that will recur until something changes: a
	// malformed request, a missing field or permission, a validation rule.
	ErrPermanent = errors.New("permanent CRM error")
)

// Error is a failure reported by a CRM, with the CRM's own vocabulary.
type Error struct {
	Connection string // connection name, when known
	Op         string // what was being done, e.g. "changes accounts"
	Status     int    // HTTP status, 0 when none
	Code       string // the CRM's error code: INVALID_FIELD, VALIDATION_ERROR, invalid_grant ...
	Message    string // the CRM's message (never contains credentials)
	Class      error  // one of the class sentinels above
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Connection != "" {
		msg = e.Connection + ": " + msg
	}
	if msg != "" {
		msg += ": "
	}
	if e.Code != "" {
		msg += e.Code
		if e.Message != "" {
			msg += ": "
		}
	}
	msg += e.Message
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if errors.Is(e.Class, ErrReauthorize) {
		name := e.Connection
		if name == "" {
			name = "<connection>"
		}
		msg += fmt.Sprintf("; re-authorize connection %s with: crmpulse auth login %s", name, name)
	}
	return msg
}

// Unwrap returns the class sentinel.
func (e *Error) Unwrap() error { return e.Class }

// Retryable reports whether retrying the same call later may succeed.
func Retryable(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrReauthorize), errors.Is(err, ErrPermanent), errors.Is(err, ErrQuotaExhausted):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, ErrRateLimited), errors.Is(err, ErrTransient):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// ClassOf returns the class sentinel err wraps, ErrTransient for network
// errors, or nil when it wraps none (context errors, programming errors).
func ClassOf(err error) error {
	for _, c := range []error{ErrReauthorize, ErrQuotaExhausted, ErrRateLimited, ErrTransient, ErrPermanent} {
		if errors.Is(err, c) {
			return c
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ErrTransient
	}
	return nil
}

// ClassForStatus is the default classification of an HTTP status code:
// 401 needs re-authorization (callers refresh before deciding so), 429 is
// rate limiting, 5xx and 408 are transient, other 4xx are permanent.
func ClassForStatus(status int) error {
	switch {
	case status == 401:
		return ErrReauthorize
	case status == 429:
		return ErrRateLimited
	case status == 408 || status >= 500:
		return ErrTransient
	case status >= 400:
		return ErrPermanent
	}
	return nil
}
