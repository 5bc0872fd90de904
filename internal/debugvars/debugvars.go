// Package debugvars serves expvar's /debug/vars for the examples' -debug
// flag, with a "goroutines" var beside the memstats and the command line.
package debugvars

import (
	"expvar"
	"log"
	"net"
	"net/http"
	"runtime"
)

// Serve serves /debug/vars on addr from a goroutine of its own and logs,
// prefixed with name, the address it listens on. It returns once the
// listener is open, so the address is logged before the caller's first
// line of output.
func Serve(addr, name string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if expvar.Get("goroutines") == nil {
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	}
	log.Printf("%s: debug: serving http://%s/debug/vars", name, ln.Addr())
	go func() {
		mux := http.NewServeMux()
		mux.Handle("/debug/vars", expvar.Handler())
		log.Printf("%s: debug: %v", name, http.Serve(ln, mux))
	}()
	return nil
}
