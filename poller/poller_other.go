//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package poller

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/metalio/metal/internal/fdref"
)

// The platforms without a backend yet (Windows among them) compile the
// whole API; New reports that the platform is unsupported, so nothing below
// New is ever reached.

var errUnsupported = fmt.Errorf("poller: %s/%s has no backend yet: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

type sysEvent struct{}

type selector struct {
	ref fdref.State
}

func newSelector() (*selector, error)                         { return nil, errUnsupported }
func (s *selector) clone() (*selector, error)                 { return nil, errUnsupported }
func (s *selector) register(int, Token, Interest) error       { return errUnsupported }
func (s *selector) reregister(int, Token, Interest) error     { return errUnsupported }
func (s *selector) deregister(int) error                      { return errUnsupported }
func (s *selector) wait(*Events, time.Duration) (bool, error) { return false, errUnsupported }
func (s *selector) wake() error                               { return errUnsupported }
func (s *selector) destroy()                                  {}

type wakerSys struct{}

func (w *wakerSys) open(*Registry, Token) error { return errUnsupported }
func (w *wakerSys) wake() error                 { return errUnsupported }
func (w *wakerSys) close()                      {}
