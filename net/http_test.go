//go:build unix

package net_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
)

// metalTransport is an http.Transport whose connections are dialed
// through metal's facade on rt, and a count of them.
func metalTransport(rt *runtime.Runtime, dials *atomic.Int32) *http.Transport {
	d := &metalnet.Dialer{Runtime: rt}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (stdnet.Conn, error) {
			dials.Add(1)
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		MaxIdleConnsPerHost: 8,
	}
}

// echoPath answers with the request's path and counts the connections
// the server saw.
func echoPath(conns *sync.Map) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Store(r.RemoteAddr, true)
		fmt.Fprintf(w, "path=%s", r.URL.Path)
	})
}

func TestNetHTTPServesAndDialsOverTheFacade(t *testing.T) {
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.Map
	srv := &http.Server{Handler: echoPath(&conns)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	var dials atomic.Int32
	client := &http.Client{Transport: metalTransport(rt, &dials)}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	get := func(i int) error {
		resp, err := client.Get(fmt.Sprintf("http://%s/item/%d", l.Addr(), i))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("path=/item/%d", i); string(body) != want || resp.StatusCode != 200 {
			return fmt.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, want)
		}
		return nil
	}
	// 8 clients of 25 requests each.
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if err := get(g*25 + i); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Keep-alive worked: a connection per client, not per request.
	require.LessOrEqual(t, dials.Load(), int32(16))
	client.CloseIdleConnections()

	require.NoError(t, srv.Shutdown(context.Background()))
	require.ErrorIs(t, <-served, http.ErrServerClosed)
}

func TestTLSAndHTTPSRunOverTheFacade(t *testing.T) {
	rt := newRuntime(t)
	l, err := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.Map
	ts := httptest.NewUnstartedServer(echoPath(&conns))
	ts.Listener.Close()
	ts.Listener = l
	ts.StartTLS()
	defer ts.Close()

	// httptest's client trusts the test certificate; dial through metal.
	var dials atomic.Int32
	tr := metalTransport(rt, &dials)
	tr.TLSClientConfig = ts.Client().Transport.(*http.Transport).TLSClientConfig
	client := &http.Client{Transport: tr}
	for i := range 20 {
		resp, err := client.Get(fmt.Sprintf("%s/tls/%d", ts.URL, i))
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("path=/tls/%d", i), string(body))
		require.NotNil(t, resp.TLS, "the response came over TLS")
	}
	require.Equal(t, int32(1), dials.Load(), "one TLS connection, kept alive")
	client.CloseIdleConnections()

	// crypto/tls directly: a handshake and an exchange over raw facade
	// conns.
	c, err := metalnet.DialRuntime(rt, "tcp", l.Addr().String())
	require.NoError(t, err)
	cfg := tr.TLSClientConfig.Clone()
	cfg.ServerName = "127.0.0.1" // the test certificate names this IP
	tc := tls.Client(c, cfg)
	require.NoError(t, tc.Handshake())
	_, err = fmt.Fprintf(tc, "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	all, err := io.ReadAll(tc)
	require.NoError(t, err)
	require.Contains(t, string(all), "path=/raw")
	require.NoError(t, tc.Close())
}
