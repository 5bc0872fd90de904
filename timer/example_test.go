package timer_test

import (
	"fmt"
	"time"

	"github.com/metalio/metal/timer"
)

// A driver's loop: arm timers, sleep until the next expiration, fire what
// is due. Here the clock is the loop itself; the runtime sleeps in its
// poller until NextExpiration instead, and passes the real time to Poll.
func ExampleWheel() {
	var w timer.Wheel[string]
	handshake := &timer.Entry[string]{Value: "handshake timeout"}
	retry := &timer.Entry[string]{Value: "retry"}
	idle := &timer.Entry[string]{Value: "idle timeout"}

	w.Insert(handshake, timer.Ticks(5*time.Second))
	w.Insert(retry, timer.Ticks(250*time.Millisecond))
	w.Insert(idle, timer.Ticks(30*time.Second))

	w.Remove(handshake)                          // the handshake finished in time
	w.Reset(idle, timer.Ticks(45*time.Second+1)) // a read came in: push the idle timeout back

	for w.Len() > 0 {
		// NextExpiration may be early (it is a lower bound), never late:
		// a Poll there either fires or brings the next one closer.
		now, _ := w.NextExpiration()
		for e := w.Poll(now); e != nil; e = w.Poll(now) {
			fmt.Printf("%d ms: %s\n", now, e.Value)
		}
	}
	fmt.Println("handshake still armed:", handshake.IsLinked())
	// Output:
	// 250 ms: retry
	// 45001 ms: idle timeout
	// handshake still armed: false
}
