package hubspot

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error categories of the standard error body.
const (
	catValidation     = "VALIDATION_ERROR"
	catInvalidAuth    = "INVALID_AUTHENTICATION"
	catExpiredAuth    = "EXPIRED_AUTHENTICATION"
	catMissingScopes  = "MISSING_SCOPES"
	catNotFound       = "OBJECT_NOT_FOUND"
	catAlreadyExists  = "OBJECT_ALREADY_EXISTS"
	catConflict       = "CONFLICT"
	catRateLimit      = "RATE_LIMIT"
	policyTenSecondly = "TEN_SECONDLY_ROLLING"
	policyDaily       = "DAILY"
	policySecondly    = "SECONDLY"
)

// apiError is HubSpot's standard error body (also the element type of batch
// errors, where Status is "error" and CorrelationID is omitted).
type apiError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId,omitempty"`
	Category      string              `json:"category,omitempty"`
	SubCategory   string              `json:"subCategory,omitempty"`
	Errors        []errorDetail       `json:"errors,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Links         map[string]string   `json:"links,omitempty"`

	// 429 bodies only.
	ErrorType  string `json:"errorType,omitempty"`
	PolicyName string `json:"policyName,omitempty"`
	RequestID  string `json:"requestId,omitempty"`

	httpStatus int
}

// errorDetail is one entry of an error body's errors array.
type errorDetail struct {
	Message string              `json:"message"`
	Code    string              `json:"code,omitempty"`
	In      string              `json:"in,omitempty"`
	Context map[string][]string `json:"context,omitempty"`
}

func (e *apiError) Error() string { return e.Category + ": " + e.Message }

func newError(status int, category, msg string) *apiError {
	return &apiError{Status: "error", Message: msg, Category: category, httpStatus: status}
}

func errValidation(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, catValidation, fmt.Sprintf(format, args...))
}

func errNotFound(msg string) *apiError {
	return newError(http.StatusNotFound, catNotFound, msg)
}

// v1Error is the body of the legacy OAuth endpoints: status carries the
// reason and there is no category.
type v1Error struct {
	Status        string `json:"status"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlationId"`
	RequestID     string `json:"requestId,omitempty"`
}

type ctxKey int

const correlationKey ctxKey = 0

// newCorrelationID returns a random UUID (version 4) string.
func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func correlationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes e as HubSpot's standard error body.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.CorrelationID == "" {
		e.CorrelationID = correlationID(r.Context())
	}
	status := e.httpStatus
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, e)
}

// writeRateLimit writes the 429 body of policy, with Retry-After set when
// retryAfter is positive (HubSpot does not always send it).
func writeRateLimit(w http.ResponseWriter, r *http.Request, policy string, retryAfter time.Duration) {
	msg := "You have reached your ten_secondly_rolling limit."
	switch policy {
	case policyDaily:
		msg = "You have reached your daily limit."
	case policySecondly:
		msg = "You have reached your secondly limit."
		policy = "" // the search limiter names no policy
	}
	if retryAfter > 0 {
		secs := int((retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	cid := correlationID(r.Context())
	writeJSON(w, http.StatusTooManyRequests, &apiError{
		Status: "error", Message: msg, ErrorType: catRateLimit, CorrelationID: cid,
		PolicyName: policy, RequestID: cid,
	})
}
