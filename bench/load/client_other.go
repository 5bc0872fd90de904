//go:build !linux

package load

import (
	"context"
	"errors"
)

// errNeedsLinux is what Run and Hold return where epoll is missing.
var errNeedsLinux = errors.New("load: the client drives epoll directly and needs Linux")

// Run needs Linux; elsewhere it returns an error.
func Run(context.Context, Config) (Result, error) { return Result{}, errNeedsLinux }

// Hold needs Linux; elsewhere it returns an error.
func Hold(context.Context, string, int, int, func(int, error)) error { return errNeedsLinux }
