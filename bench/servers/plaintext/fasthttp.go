package plaintext

// fasthttp is github.com/valyala/fasthttp as its README writes a server: a
// fasthttp.Server whose Handler sets the response through the
// RequestCtx (SetContentType, SetBodyString), serving a net.Listener, and
// stopped with ShutdownWithContext. fasthttp adds the Date, Content-Length
// and "Server: fasthttp" headers.

import (
	"context"
	"net"

	"github.com/metalio/metal/bench/servers/internal/peer"
	"github.com/valyala/fasthttp"
)

func fasthttpHello(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contentType)
	ctx.SetBodyString(helloBody)
}

func startFasthttp(addr string) (Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &fasthttp.Server{Handler: fasthttpHello}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), peer.ShutdownTimeout)
		defer cancel()
		err := srv.ShutdownWithContext(ctx) // closes the listener and idle connections
		<-done
		return err
	}
	return peer.New(ln.Addr(), stop), nil
}
