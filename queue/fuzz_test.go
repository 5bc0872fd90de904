package queue

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

// FuzzReadinessQueue runs a readiness queue and eight nodes through a
// program decoded from the fuzz input, on one goroutine, beside a reference
// model that is plain fields per node and a slice for the queue's order.
// The harness drives them as package poller does: a node is attached to
// the queue when first registered (Update), Set and Update enqueue it when
// their transition says so, and a poll drains the queue the way
// Poll.drain does (a level-triggered node that is still ready goes back on
// the queue, and the drain stops when it meets it again).
//
// After every step it checks:
//
//   - what each transition reported (enqueue, dropped, first Drop, whether
//     Enqueue took the node, whether PrepareForSleep let the consumer
//     sleep) is what the model says;
//   - a poll returns the model's events, in the model's order: which
//     nodes, with which token and which readiness; no node twice, no event
//     with empty readiness;
//   - every node's state word (readiness, interest, level, oneshot, queued,
//     dropped; queued is not compared once a node is dropped) is the
//     model's, and a node is attached to the queue exactly when the model
//     says it was registered;
//   - the sleep marker is in exactly when the model says the consumer
//     sleeps, and the wake callback ran exactly when a push found it;
//   - Dequeue never reports Inconsistent: with one goroutine no producer
//     is ever between its push and its link.
//
// The program is a list of steps. A step's first byte is an opcode in its
// low 3 bits, a node number (0-7) in the next 3 and a modifier in the top
// 2; some steps read more bytes (missing bytes read as zero).
//
//	0  SetReadiness(next byte) on the node
//	1  register or reregister the node: Update(token, interest, level,
//	   oneshot), the token from the next byte (modifier 3: the next 8
//	   bytes), then a byte with interest in its low 4 bits, level in bit 4
//	   and oneshot in bit 5
//	2  deregister the node: Update(0, 0, false, false), if it was
//	   registered
//	3  Drop the node
//	4  poll: drain into room for node number + 1 + 8*modifier events
//	5  PrepareForSleep
//	6  one step of a drain: Dequeue(nil), Dequeued, and the requeue
//	7  Close the queue (node 7, modifier 3); otherwise SetReadiness of the
//	   node's own readiness again
func FuzzReadinessQueue(f *testing.F) {
	// Seeds: every step once; edge, level and oneshot delivery; a level
	// node requeued and met again; the sleep marker and its wake; drop
	// while queued; Close with nodes queued and Sets after it.
	f.Add([]byte{})
	f.Add([]byte{
		0x01, 0x07, 0x01, // node 0: token 7, readable, edge
		0x00, 0x01, // set readable
		0x04,       // poll
		0x00, 0x01, // set readable again
		0x07, // set the same readiness again (already queued)
		0x0c, // poll room for 2
	})
	f.Add([]byte{
		0x01, 0x01, 0x13, // node 0: token 1, readable|writable, level
		0x09, 0x02, 0x02, // node 1: token 2, writable, edge
		0x00, 0x03, 0x08, 0x02, // set both
		0x0c,       // poll: node 0 requeued, node 1 once
		0x0c,       // poll: node 0 again
		0x00, 0x00, // withdraw node 0's readiness
		0x0c, // poll: nothing from node 0
	})
	f.Add([]byte{
		0x01, 0x05, 0x21, // node 0: token 5, readable, oneshot
		0x00, 0x01, 0x04, // set, poll: fires once
		0x00, 0x01, 0x04, // set, poll: disarmed
		0x01, 0x06, 0x21, // rearm with token 6
		0x04, // poll: fires with token 6
	})
	f.Add([]byte{
		0x05,             // prepare for sleep: sleeping
		0x05,             // again: still sleeping
		0x01, 0x09, 0x01, // node 0 registered (not ready: no push)
		0x00, 0x01, // set: pushes, wakes
		0x05,       // not empty: no sleep
		0x06, 0x06, // dequeue it, then find the queue empty
		0x05, 0x04, // sleep, then an empty poll clears the marker
	})
	f.Add([]byte{
		0x01, 0x01, 0x11, 0x09, 0x02, 0x11, 0x11, 0x03, 0x11, // three level nodes
		0x00, 0x01, 0x08, 0x01, 0x10, 0x01, // all ready
		0x03,                   // drop node 0 while queued
		0x1b,                   // drop node 3, never registered
		0x0a,                   // deregister node 1 while queued
		0x04, 0x0c, 0x14, 0x1c, // polls of room 1 to 4
		0x00, 0x01, 0x11, 0x02, 0x21, // node 0 set (dropped), node 2 set again
		0xff,       // close with node 2 queued
		0x10, 0x00, // set after close
		0x11, 0x03, 0x14, // update after close
		0x04, 0x05, // poll and sleep after close
	})
	f.Add([]byte{
		0xc9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // node 1: token MaxUint64, all interest bits
		0x08, 0xff, // set readiness 0xff: masked to 0xf
		0x0e, 0x0e, 0x0e, // single steps
	})
	f.Fuzz(func(t *testing.T, program []byte) {
		h := newQueueHarness()
		r := fuzzProgram{b: program}
		for step := 0; !r.done(); step++ {
			b := r.byte()
			desc := h.step(t, b, &r)
			h.check(t, step, desc)
		}
		// The end: one more poll of everything, against the model.
		h.poll(t, 2*fuzzNodes+1)
		h.check(t, -1, stepDesc{op: "final poll"})
	})
}

const fuzzNodes = 8

// fuzzProgram reads the fuzz input; past its end it reads zeros.
type fuzzProgram struct {
	b []byte
	i int
}

func (p *fuzzProgram) done() bool { return p.i >= len(p.b) }

func (p *fuzzProgram) byte() byte {
	if p.i >= len(p.b) {
		return 0
	}
	p.i++
	return p.b[p.i-1]
}

func (p *fuzzProgram) uint64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = p.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// modelNode is what the model knows of a node.
type modelNode struct {
	registered          bool
	readiness, interest uint8
	level, oneshot      bool
	token               uint64
	queued, dropped     bool
}

// readinessModel is the reference: the nodes' fields, the queue's order,
// whether the consumer sleeps, and the wakes that should have happened.
type readinessModel struct {
	nodes    [fuzzNodes]modelNode
	order    []int // node numbers in the queue, oldest first
	sleeping bool
	closed   bool
	wakes    int
}

// push is the model's Enqueue of node i, whose queued flag was just set;
// it reports whether the queue took it.
func (m *readinessModel) push(i int) bool {
	if m.closed {
		m.nodes[i].queued = false
		return false
	}
	m.order = append(m.order, i)
	if m.sleeping {
		m.sleeping = false
		m.wakes++
	}
	return true
}

// event is one event of a poll.
type event struct {
	node  int
	token uint64
	ready uint8
}

// dequeueOne is the model's Dequeue(until) followed by Dequeued and the
// requeue. ok is false when the queue is empty or the drain met until.
func (m *readinessModel) dequeueOne(until int) (ev event, requeued, ok bool) {
	if len(m.order) == 0 {
		// Dequeue of an empty queue takes the sleep marker out.
		m.sleeping = false
		return event{}, false, false
	}
	i := m.order[0]
	if i == until {
		return event{}, false, false
	}
	m.order = m.order[1:]
	n := &m.nodes[i]
	if n.dropped {
		// A dropped node reports nothing and is let go of; its queued
		// flag stays set, which nothing reads any more.
		return event{node: i}, false, true
	}
	ready := n.readiness & n.interest
	switch {
	case !n.level:
		n.queued = false
		if n.oneshot && ready != 0 {
			n.interest = 0
		}
	case ready == 0:
		n.queued = false
	case n.oneshot:
		n.interest = 0
		n.queued = false
	default:
		requeued = true
		m.push(i)
	}
	return event{node: i, token: n.token, ready: ready}, requeued, true
}

// queueHarness is the real queue and nodes beside the model.
type queueHarness struct {
	q     *Queue
	nodes [fuzzNodes]Node
	wakes int
	m     readinessModel
	// got and want are the events of the poll under way, kept to be
	// reused.
	got, want []event
}

// stepDesc names a step for failure messages; it is formatted only then.
type stepDesc struct {
	op    string
	node  int
	value uint64 // readiness, token or room
	flags uint8  // Update's interest and mode
}

func (d stepDesc) String() string {
	switch d.op {
	case "SetReadiness":
		return fmt.Sprintf("SetReadiness(node %d, %#x)", d.node, d.value)
	case "Update":
		return fmt.Sprintf("Update(node %d, token %d, interest %#x, level %v, oneshot %v)",
			d.node, d.value, d.flags&0xf, d.flags&0x10 != 0, d.flags&0x20 != 0)
	case "poll":
		return fmt.Sprintf("poll(room %d)", d.value)
	case "PrepareForSleep", "one drain step", "Close", "final poll":
		return d.op
	}
	return fmt.Sprintf("%s(node %d)", d.op, d.node)
}

func newQueueHarness() *queueHarness {
	h := &queueHarness{}
	h.q = New(func() { h.wakes++ })
	return h
}

func (h *queueHarness) index(n *Node) int {
	for i := range h.nodes {
		if &h.nodes[i] == n {
			return i
		}
	}
	return -1
}

// enqueue is what package poller does when a transition says to enqueue:
// push the node if it is attached to a queue.
func (h *queueHarness) enqueue(t *testing.T, i int, what stepDesc) {
	t.Helper()
	n := &h.nodes[i]
	if QueueOf(n) == nil {
		t.Fatalf("%s: node %d is to be enqueued but belongs to no queue", what, i)
	}
	got := h.q.Enqueue(n)
	if want := h.m.push(i); got != want {
		t.Fatalf("%s: Enqueue of node %d = %v, model %v", what, i, got, want)
	}
}

// set is SetReadiness(ready) of node i on both sides.
func (h *queueHarness) set(t *testing.T, i int, ready uint8) stepDesc {
	t.Helper()
	what := stepDesc{op: "SetReadiness", node: i, value: uint64(ready)}
	enq, dropped := h.nodes[i].SetReadiness(ready)
	mn := &h.m.nodes[i]
	wantEnq := false
	if !mn.dropped {
		mn.readiness = ready & 0xf
		wantEnq = mn.readiness&mn.interest != 0 && !mn.queued
		if wantEnq {
			mn.queued = true
		}
	}
	if enq != wantEnq || dropped != mn.dropped {
		t.Fatalf("%s = (enqueue %v, dropped %v), model (%v, %v)", what, enq, dropped, wantEnq, mn.dropped)
	}
	if enq {
		h.enqueue(t, i, what)
	}
	return what
}

// update is Update of node i on both sides, attaching it first. flags
// holds interest in its low 4 bits, level in bit 4 and oneshot in bit 5.
func (h *queueHarness) update(t *testing.T, i int, token uint64, flags uint8) stepDesc {
	t.Helper()
	what := stepDesc{op: "Update", node: i, value: token, flags: flags}
	interest, level, oneshot := flags, flags&0x10 != 0, flags&0x20 != 0
	if !h.q.Attach(&h.nodes[i]) {
		t.Fatalf("%s: Attach refused the node", what)
	}
	enq := h.nodes[i].Update(token, interest, level, oneshot)
	mn := &h.m.nodes[i]
	mn.registered = true
	wantEnq := false
	if !mn.dropped {
		mn.token, mn.interest, mn.level, mn.oneshot = token, interest&0xf, level, oneshot
		wantEnq = mn.readiness&mn.interest != 0 && !mn.queued
		if wantEnq {
			mn.queued = true
		}
	}
	if enq != wantEnq {
		t.Fatalf("%s = %v, model %v", what, enq, wantEnq)
	}
	if enq {
		h.enqueue(t, i, what)
	}
	return what
}

// dequeueOne is one step of a drain on the real queue: Dequeue(until),
// Dequeued and the requeue, as Poll.drain does them.
func (h *queueHarness) dequeueOne(t *testing.T, until *Node) (ev event, requeued, ok bool) {
	t.Helper()
	n, outcome := h.q.Dequeue(until)
	switch outcome {
	case Empty:
		return event{}, false, false
	case Inconsistent:
		t.Fatal("Dequeue reported Inconsistent with no producer running")
	}
	i := h.index(n)
	if i < 0 {
		t.Fatalf("Dequeue returned %p, not one of the nodes", n)
	}
	ready, token, requeue := n.Dequeued()
	if requeue {
		h.q.Enqueue(n)
	}
	return event{node: i, token: token, ready: ready}, requeue, true
}

// poll drains into room for room events on both sides and compares them.
func (h *queueHarness) poll(t *testing.T, room int) stepDesc {
	t.Helper()
	what := stepDesc{op: "poll", value: uint64(room)}
	got, want := h.got[:0], h.want[:0]
	defer func() { h.got, h.want = got, want }()
	var until *Node
	for len(got) < room {
		ev, requeued, ok := h.dequeueOne(t, until)
		if !ok {
			break
		}
		if requeued && until == nil {
			until = &h.nodes[ev.node]
		}
		if ev.ready != 0 {
			got = append(got, ev)
		}
	}
	modelUntil := -1
	for len(want) < room {
		ev, requeued, ok := h.m.dequeueOne(modelUntil)
		if !ok {
			break
		}
		if requeued && modelUntil < 0 {
			modelUntil = ev.node
		}
		if ev.ready != 0 {
			want = append(want, ev)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s returned %v, model %v", what, got, want)
	}
	var seen [fuzzNodes]bool
	for _, ev := range got {
		if seen[ev.node] {
			t.Fatalf("%s returned node %d twice: %v", what, ev.node, got)
		}
		seen[ev.node] = true
	}
	return what
}

// step decodes and runs one step.
func (h *queueHarness) step(t *testing.T, b byte, r *fuzzProgram) stepDesc {
	t.Helper()
	i := int(b>>3) & 7
	mod := b >> 6
	switch b & 7 {
	case 0:
		return h.set(t, i, r.byte())
	case 1:
		token := uint64(r.byte())
		if mod == 3 {
			token = r.uint64()
		}
		return h.update(t, i, token, r.byte())
	case 2:
		if !h.m.nodes[i].registered {
			return stepDesc{op: "deregister (not registered)", node: i}
		}
		return h.update(t, i, 0, 0)
	case 3:
		first := h.nodes[i].Drop()
		if want := !h.m.nodes[i].dropped; first != want {
			t.Fatalf("Drop(node %d) = %v, model %v", i, first, want)
		}
		h.m.nodes[i].dropped = true
		return stepDesc{op: "Drop", node: i}
	case 4:
		return h.poll(t, i+1+8*int(mod))
	case 5:
		got := h.q.PrepareForSleep()
		want := !h.m.closed && len(h.m.order) == 0
		if want {
			h.m.sleeping = true
		}
		if got != want {
			t.Fatalf("PrepareForSleep = %v, model %v (queue %v)", got, want, h.m.order)
		}
		return stepDesc{op: "PrepareForSleep"}
	case 6:
		got, gotRequeued, gotOK := h.dequeueOne(t, nil)
		want, wantRequeued, wantOK := h.m.dequeueOne(-1)
		if got != want || gotRequeued != wantRequeued || gotOK != wantOK {
			t.Fatalf("one drain step = (%v, requeued %v, %v), model (%v, %v, %v)", got, gotRequeued, gotOK, want, wantRequeued, wantOK)
		}
		return stepDesc{op: "one drain step"}
	default:
		if i == 7 && mod == 3 {
			h.q.Close()
			for _, k := range h.m.order {
				h.m.nodes[k].queued = false
			}
			h.m.order, h.m.closed, h.m.sleeping = nil, true, false
			return stepDesc{op: "Close"}
		}
		return h.set(t, i, h.nodes[i].Load().Readiness())
	}
}

// check compares every node's state word, the sleep marker and the wakes
// with the model.
func (h *queueHarness) check(t *testing.T, step int, what stepDesc) {
	t.Helper()
	for i := range h.nodes {
		s := h.nodes[i].Load()
		mn := h.m.nodes[i]
		got := modelNode{
			registered: QueueOf(&h.nodes[i]) == h.q,
			readiness:  s.Readiness(),
			interest:   s.Interest(),
			level:      s.IsLevel(),
			oneshot:    s.IsOneshot(),
			token:      mn.token, // read only through events
			queued:     s.IsQueued(),
			dropped:    s.IsDropped(),
		}
		if mn.dropped {
			got.queued = mn.queued
		}
		if got != mn {
			t.Fatalf("step %d (%s): node %d is %+v (state %#x), model %+v", step, what, i, got, uint64(s), mn)
		}
		if s.ReadPos() > 2 || s.WritePos() > 2 {
			t.Fatalf("step %d (%s): node %d has token slots %d and %d of 3", step, what, i, s.ReadPos(), s.WritePos())
		}
	}
	if got := h.q.IsSleeping(); got != h.m.sleeping {
		t.Fatalf("step %d (%s): sleeping %v, model %v", step, what, got, h.m.sleeping)
	}
	if h.wakes != h.m.wakes {
		t.Fatalf("step %d (%s): %d wakes, model %d", step, what, h.wakes, h.m.wakes)
	}
}
