//go:build unix

package net_test

import (
	"context"
	"fmt"
	"io"
	stdnet "net"
	"net/http"

	metalnet "github.com/metalio/metal/net"
	"github.com/metalio/metal/runtime"
	"github.com/metalio/metal/task"
)

// A task accepts connections and spawns an echo task for each; the
// client is an ordinary goroutine on Go's net.
func ExampleListener() {
	rt, _ := runtime.New()
	defer rt.Shutdown(context.Background())
	l, _ := metalnet.ListenRuntime(rt, "tcp", "127.0.0.1:0")
	defer l.Close()
	runtime.Spawn(rt, task.Future[error](task.FutureFunc[error](func(cx *task.Context) (error, bool) {
		for {
			res, ok := l.PollAccept(cx)
			if !ok {
				return nil, false // woken when a connection arrives
			}
			if res.Err != nil {
				return res.Err, true
			}
			runtime.SpawnFrom(rt, cx, task.Future[error](&echoTask{c: res.Value})).Detach()
		}
	}))).Detach()

	c, _ := stdnet.Dial("tcp", l.Addr().String())
	defer c.Close()
	fmt.Fprint(c, "hello, metal")
	buf := make([]byte, 12)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: hello, metal
}

// net/http serves through metal's poller: Listen returns a net.Listener.
func ExampleListen() {
	l, err := metalnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Hello, World!")
	})}
	go srv.Serve(l)
	defer srv.Close()

	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: Hello, World!
}
