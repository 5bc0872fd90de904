package plaintext

// std is the baseline: Go's net/http, as its documentation writes a
// server: an http.Server whose Handler is a HandlerFunc, serving a
// net.Listener, stopped with Shutdown (Close if that takes too long).
// net/http adds the Date header; it sends no Server header.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

// The Content-Type and Content-Length headers' values, shared by every
// response: assigning them into the header map, rather than calling
// Header().Set, saves allocations per request, as net/http's users
// commonly do.
var (
	textPlain   = []string{contentType}
	helloLength = []string{strconv.Itoa(len(helloBody))}
)

// helloHandler answers every request with the plaintext response. nbio's
// server (nbio.go) takes the same handler. net/http would add the
// Content-Length itself, for a body this small; nbhttp would send the body
// chunked without it.
func helloHandler(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["Content-Length"] = helloLength
	_, _ = io.WriteString(w, helloBody)
}

func startStd(addr string) (Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(helloHandler)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), peer.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(ctx) // closes the listener and idle connections
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
		if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		return err
	}
	return peer.New(ln.Addr(), stop), nil
}
