package core

import (
	"errors"
	"fmt"
)

// Error is an error a caller of smsim must see as it is: bad input, an
// unknown id, or an action the current state forbids. Code is the HTTP
// status that reports it; Detail names what is wrong.
type Error struct {
	Code   int
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Status answers the HTTP status the error is answered with.
func (e *Error) Status() int { return e.Code }

// Invalid reports malformed or invalid input (HTTP 400).
func Invalid(format string, args ...any) *Error {
	return &Error{Code: 400, Detail: fmt.Sprintf(format, args...)}
}

// NotFound reports an unknown id (HTTP 404).
func NotFound(format string, args ...any) *Error {
	return &Error{Code: 404, Detail: fmt.Sprintf(format, args...)}
}

// Conflict reports an action the current state forbids (HTTP 409).
func Conflict(format string, args ...any) *Error {
	return &Error{Code: 409, Detail: fmt.Sprintf(format, args...)}
}

// Permanent marks err as a failure that carrying the job out again cannot
// mend — a malformed job, arguments that can never be read — so that the
// scheduler moves the job to the dead-letter set (Scheduler.DeadJobs)
// instead of retrying it when its lease ends. A nil err stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent tells whether err, or an error it wraps, is Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
