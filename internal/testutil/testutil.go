// Package testutil holds what metal's tests share: waiting for poller
// events with a bounded deadline (ExpectEvents, ExpectNoEvents, PollUntil),
// loopback servers built on the standard library to play the other end of
// a connection, descriptor checks, and the harness of the examples'
// process tests (Example, StopWithSignal, RequireTool).
//
// Deadlines are generous (seconds) because they only matter when a test is
// failing; a passing test returns as soon as its events arrive, so the tests
// stay quick and still pass on a loaded machine.
package testutil

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metalio/metal/poller"
)

// EventTimeout bounds how long ExpectEvents and PollUntil wait.
const EventTimeout = 5 * time.Second

// QuietPeriod is how long ExpectNoEvents listens for events that must not
// come.
const QuietPeriod = 100 * time.Millisecond

// Readiness is a set of event kinds an expected event must show.
type Readiness uint8

// The kinds, one per poller.Event predicate.
const (
	Readable Readiness = 1 << iota
	Writable
	Error
	ReadClosed
	WriteClosed
	Priority
)

// String lists the kinds, as in "READABLE|READ_CLOSED".
func (r Readiness) String() string {
	names := [...]string{"READABLE", "WRITABLE", "ERROR", "READ_CLOSED", "WRITE_CLOSED", "PRIORITY"}
	var parts []string
	for i, n := range names {
		if r&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "NONE"
	}
	return strings.Join(parts, "|")
}

// Of returns the kinds ev shows.
func Of(ev poller.Event) Readiness {
	var r Readiness
	set := func(on bool, k Readiness) {
		if on {
			r |= k
		}
	}
	set(ev.IsReadable(), Readable)
	set(ev.IsWritable(), Writable)
	set(ev.IsError(), Error)
	set(ev.IsReadClosed(), ReadClosed)
	set(ev.IsWriteClosed(), WriteClosed)
	set(ev.IsPriority(), Priority)
	return r
}

// ExpectEvent is an event a test waits for: its token, and kinds that must
// all be present (others may be present too).
type ExpectEvent struct {
	Token     poller.Token
	Readiness Readiness
}

// Expect builds an ExpectEvent.
func Expect(t poller.Token, r Readiness) ExpectEvent { return ExpectEvent{Token: t, Readiness: r} }

// Matches reports whether ev has the token and every expected kind.
func (e ExpectEvent) Matches(ev poller.Event) bool {
	return ev.Token() == e.Token && Of(ev)&e.Readiness == e.Readiness
}

func (e ExpectEvent) String() string {
	return fmt.Sprintf("{token: %d, %v}", e.Token, e.Readiness)
}

// ExpectEvents polls until every expected event has been seen, each matched
// by a distinct event, failing the test if EventTimeout passes first.
// Unexpected events are allowed (spurious events are part of the contract)
// and are listed in the failure message. It returns every event seen.
func ExpectEvents(t testing.TB, p *poller.Poll, events *poller.Events, expected ...ExpectEvent) []poller.Event {
	t.Helper()
	missing := append([]ExpectEvent(nil), expected...)
	var seen []poller.Event
	deadline := time.Now().Add(EventTimeout)
	for len(missing) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("expected events %v not seen within %v; saw %v", missing, EventTimeout, seen)
		}
		if err := p.Poll(events, left); err != nil {
			t.Fatalf("poll: %v", err)
		}
		for ev := range events.All() {
			seen = append(seen, ev)
			for i, want := range missing {
				if want.Matches(ev) {
					missing = append(missing[:i], missing[i+1:]...)
					break
				}
			}
		}
	}
	return seen
}

// ExpectNoEvents polls for QuietPeriod and fails the test if any event
// arrives.
func ExpectNoEvents(t testing.TB, p *poller.Poll, events *poller.Events) {
	t.Helper()
	if err := p.Poll(events, QuietPeriod); err != nil {
		t.Fatalf("poll: %v", err)
	}
	if events.Len() > 0 {
		var got []poller.Event
		for ev := range events.All() {
			got = append(got, ev)
		}
		t.Fatalf("expected no events, got %v", got)
	}
}

// PollUntil polls until match accepts an event, and returns that event;
// the test fails after EventTimeout. Events match rejects are dropped.
func PollUntil(t testing.TB, p *poller.Poll, events *poller.Events, match func(poller.Event) bool) poller.Event {
	t.Helper()
	var seen []poller.Event
	deadline := time.Now().Add(EventTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no matching event within %v; saw %v", EventTimeout, seen)
		}
		if err := p.Poll(events, left); err != nil {
			t.Fatalf("poll: %v", err)
		}
		for ev := range events.All() {
			if match(ev) {
				return ev
			}
			seen = append(seen, ev)
		}
	}
}

// NewPoll returns a Poll and an Events of capacity 16, closed when the test
// ends.
func NewPoll(t testing.TB) (*poller.Poll, *poller.Events) {
	t.Helper()
	p, err := poller.New()
	if err != nil {
		t.Fatalf("poller.New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, poller.NewEvents(16)
}
