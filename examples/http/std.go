package main

// -std: the same route served by net/http, on metal's net.Listener facade.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	metalnet "github.com/metalio/metal/net"
)

// stdHandler answers as the task-based server does: GET (and HEAD)
// /plaintext get "Hello, World!", other methods 405 and other paths 404
// (ServeMux's method patterns give both), all with "Server: metal".
func stdHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plaintext", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = textPlainValue
		h["Content-Length"] = helloLength
		_, _ = io.WriteString(w, helloBody)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Server"] = serverValue
		mux.ServeHTTP(w, r)
	})
}

// Header values shared by every response, so setting them allocates
// nothing.
var (
	serverValue    = []string{"metal"}
	textPlainValue = []string{"text/plain"}
	helloLength    = []string{strconv.Itoa(len(helloBody))}
)

// serveStd runs net/http's Server on metal's facade until ctx is done,
// then shuts it down gracefully. It writes the address it listens on,
// then a newline, to w before it serves.
func serveStd(ctx context.Context, addr string, w io.Writer) error {
	ln, err := metalnet.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, ln.Addr())

	srv := &http.Server{
		Handler:           stdHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHead,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case err := <-done:
		return err
	}
}
