package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors wrapped by FieldError.
var (
	// ErrSyntax: the input is not well-formed YAML.
	ErrSyntax = errors.New("invalid YAML")
	// ErrUnknownField: a key that the configuration does not define.
	ErrUnknownField = errors.New("unknown field")
	// ErrType: a value of the wrong type (e.g. a list where a number goes).
	ErrType = errors.New("wrong type")
	// ErrInvalid: a value outside its allowed set or range.
	ErrInvalid = errors.New("invalid value")
	// ErrRequired: a value that must be set is missing.
	ErrRequired = errors.New("required")
	// ErrDuplicate: a name used twice where names must be unique.
	ErrDuplicate = errors.New("duplicate")
	// ErrReference: a reference to something that does not exist.
	ErrReference = errors.New("unknown reference")
)

// FieldError is one problem with one configuration field.
type FieldError struct {
	// Field is the path, e.g. "connections[1].auth.mode"; empty for
	// document-level problems such as a YAML syntax error.
	Field string
	// Value is the offending value as written (empty for missing values).
	Value string
	// Line is the 1-based YAML line, 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string
	// Err is the sentinel classifying the problem.
	Err error
}

func (e FieldError) Error() string { return e.format("") }

// Unwrap returns the sentinel.
func (e FieldError) Unwrap() error { return e.Err }

func (e FieldError) format(source string) string {
	var b strings.Builder
	if source == "" {
		source = "config"
	}
	b.WriteString(source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if !errors.Is(e.Err, ErrRequired) && !errors.Is(e.Err, ErrSyntax) && !errors.Is(e.Err, ErrUnknownField) {
		fmt.Fprintf(&b, "%q: ", e.Value)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError lists every problem found in a configuration, in the order
// found. Its Error prints one problem per line as
//
//	config.yaml:14: connections[1].auth.mode: "oauth3": must be one of ...
type ValidationError struct {
	// Source is the file name, when known.
	Source string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.format(e.Source)
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the field errors, so errors.Is(err, ErrUnknownField) and
// errors.As(err, &fieldErr) see through a ValidationError.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		errs[i] = fe
	}
	return errs
}

// Field returns the first error for the given field path.
func (e *ValidationError) Field(path string) (FieldError, bool) {
	for _, fe := range e.Errors {
		if fe.Field == path {
			return fe, true
		}
	}
	return FieldError{}, false
}
