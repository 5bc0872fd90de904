package poller

import (
	"errors"
	"syscall"
)

// Errors returned by this package. Each is wrapped with the operation and the
// file descriptor involved; test for them with errors.Is.
var (
	// ErrWouldBlock reports that a non-blocking operation would have had to
	// wait. With edge-triggered registrations it is the signal that a source
	// has been drained and the next event will come from Poll. It is
	// syscall.EAGAIN itself, so errors.Is matches either name.
	ErrWouldBlock error = syscall.EAGAIN

	// ErrClosed reports use of a Poll or Registry after Close.
	ErrClosed = errors.New("poller: poll is closed")

	// ErrAlreadyRegistered reports Register of a source that is registered
	// already; use Reregister to change its token or interest.
	ErrAlreadyRegistered = errors.New("poller: source is already registered")

	// ErrNotRegistered reports Reregister or Deregister of a source that is
	// not registered.
	ErrNotRegistered = errors.New("poller: source is not registered")

	// ErrInvalidSource reports a source that cannot be registered: a
	// negative or closed file descriptor, or a nil Source.
	ErrInvalidSource = errors.New("poller: invalid source")

	// ErrInvalidInterest reports an Interest that names no readiness kind
	// (or has unknown bits set).
	ErrInvalidInterest = errors.New("poller: interest names no readiness kind")

	// ErrNoCapacity reports a Poll into an Events of capacity zero, or a nil
	// Events; it never reaches the kernel.
	ErrNoCapacity = errors.New("poller: events has no capacity")

	// ErrNotCloned reports Close of the registry a Poll owns; it closes with
	// the Poll.
	ErrNotCloned = errors.New("poller: only a cloned registry can be closed")
)
