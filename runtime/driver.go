package runtime

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/metalio/metal/poller"
	"github.com/metalio/metal/task"
	"go.uber.org/atomic"
)

// The I/O driver is one poller.Poll shared by the workers. There is no
// goroutine of its own: a worker with nothing to run takes the driver (a
// try-lock) and parks inside Poll, so the kernel wakes it both for I/O and,
// through the poller's Waker, for new tasks. Workers that find the driver
// taken park on their own channel. A busy worker also turns the driver
// without waiting every maintenance interval, so I/O is seen even when no
// worker is idle.
//
// One turn: release the slots of sources closed since the last turn, bump
// the tick, Poll, and for each event OR its readiness into the source's
// slot and wake the task waiting to read and/or the one waiting to write.
// Releasing a slot only at the start of a turn, when no events buffer is
// being dispatched, is the deferred deregistration: no event can reach a
// slot after it was handed to another source (the generation in the token
// says the same a second time).

// wakeToken is the driver's own Waker. The slab never hands out index 0.
const wakeToken poller.Token = 0

// eventsPerTurn bounds the events one turn takes from the kernel.
const eventsPerTurn = 1024

type driver struct {
	poll   *poller.Poll
	waker  *poller.Waker
	events *poller.Events
	slab   *slab

	// held is the try-lock: true while a worker owns the driver.
	held atomic.Bool
	// wanted: a worker wanted to park in the driver and found it held by
	// a busy worker's maintenance turn; that worker hands it on.
	wanted atomic.Bool

	tick uint16 // the turn number; only the holder touches it

	relMu   sync.Mutex
	pending []uint32 // slots closed since the last turn
	relN    atomic.Int32

	closed atomic.Bool
}

func newDriver() (*driver, error) {
	p, err := poller.New()
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	w, err := poller.NewWaker(p.Registry(), wakeToken)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("runtime: %w", err)
	}
	return &driver{
		poll:   p,
		waker:  w,
		events: poller.NewEvents(eventsPerTurn),
		slab:   newSlab(),
	}, nil
}

func (d *driver) tryLock() bool { return d.held.CompareAndSwap(false, true) }
func (d *driver) unlock()       { d.held.Store(false) }

// turn polls once, waiting at most timeout (<0: no limit), and dispatches
// the events. The caller holds the driver. It returns the number of source
// events dispatched.
func (d *driver) turn(timeout time.Duration) int {
	if d.relN.Load() > 0 {
		d.releasePending()
	}
	d.tick++
	if err := d.poll.Poll(d.events, timeout); err != nil {
		// Only a closed poller fails here (shutdown); there is nothing
		// to dispatch.
		return 0
	}
	n := 0
	for i := 0; i < d.events.Len(); i++ {
		ev := d.events.At(i)
		if ev.Token() == wakeToken {
			continue
		}
		idx, gen := slotOf(ev.Token())
		sio := d.slab.get(idx)
		if sio == nil {
			continue
		}
		r := readinessOf(ev)
		if sio.setReadiness(gen, d.tick, r) {
			sio.wake(r)
			n++
		}
	}
	return n
}

// unpark wakes the worker parked in the driver.
func (d *driver) unpark() {
	if !d.closed.Load() {
		_ = d.waker.Wake()
	}
}

func (d *driver) deferRelease(i uint32) {
	d.relMu.Lock()
	d.pending = append(d.pending, i)
	d.relN.Store(int32(len(d.pending)))
	d.relMu.Unlock()
}

func (d *driver) releasePending() {
	d.relMu.Lock()
	for _, i := range d.pending {
		d.slab.release(i)
	}
	d.pending = d.pending[:0]
	d.relN.Store(0)
	d.relMu.Unlock()
}

// shutdown marks every source closed, waking whatever waits on one, and
// closes the poller. Workers are gone by then.
func (d *driver) shutdown() {
	if !d.closed.CompareAndSwap(false, true) {
		return
	}
	d.slab.each(func(s *scheduledIO) { s.shutdown() })
	_ = d.waker.Close()
	_ = d.poll.Close()
}

// IO is a source registered with a runtime's I/O driver: tasks wait on it
// for readiness instead of blocking. The pattern, for reading:
//
//	for {
//		r, ok := io.PollReady(cx, poller.Readable)
//		if !ok {
//			return pending // the driver wakes the task on the next edge
//		}
//		n, err := read(fd, buf)
//		if errors.Is(err, poller.ErrWouldBlock) {
//			io.ClearReady(r) // drained: wait for the next edge
//			continue
//		}
//		return n, err
//	}
//
// Registration is edge-triggered; readiness stays set until ClearReady is
// called with the snapshot that saw it, and a ClearReady that lost to a
// newer edge does nothing. IO is safe for one reader and one writer at a
// time (they have a waker each).
type IO struct {
	d     *driver
	src   poller.Source
	idx   uint32
	gen   uint16
	sio   *scheduledIO
	state atomic.Bool // closed
}

// ErrIOClosed is returned by IO methods after Close.
var ErrIOClosed = errors.New("runtime: IO closed")

// Register registers src with the runtime's I/O driver for interest
// (edge-triggered). Close the IO before closing src.
func (rt *Runtime) Register(src poller.Source, interest poller.Interest) (*IO, error) {
	if rt.closed.Load() {
		return nil, fmt.Errorf("runtime: register: %w", ErrShutdown)
	}
	d := rt.driver
	idx, gen, sio, err := d.slab.alloc()
	if err != nil {
		return nil, err
	}
	if err := d.poll.Registry().Register(src, tokenOf(idx, gen), interest); err != nil {
		d.slab.release(idx)
		if errors.Is(err, poller.ErrClosed) {
			err = fmt.Errorf("%w (%w)", err, ErrShutdown)
		}
		return nil, fmt.Errorf("runtime: register: %w", err)
	}
	return &IO{d: d, src: src, idx: idx, gen: gen, sio: sio}, nil
}

// PollReady returns the source's readiness for interest, or, when there is
// none, arranges for cx's task to be woken when there is and returns false.
// Once the IO is closed or the runtime shut down, it returns a Ready whose
// IsClosed is true.
func (io *IO) PollReady(cx *task.Context, interest poller.Interest) (Ready, bool) {
	return io.sio.pollReady(cx, interest, io.gen)
}

// ClearReady forgets the readiness r reported, after the operation it
// allowed hit would-block. Readiness delivered after r stays.
func (io *IO) ClearReady(r Ready) {
	io.sio.clearReadiness(io.gen, r)
}

// Wake wakes the task waiting on the source for interest, without any
// readiness: it polls again and finds whatever changed that is not the
// kernel's to report (a deadline moved, a close of its own kind). A
// spurious wake-up costs one poll; nothing is lost.
func (io *IO) Wake(interest poller.Interest) {
	if io.state.Load() {
		return
	}
	io.sio.wake(interestMask(interest))
}

// Reregister changes the interest.
func (io *IO) Reregister(interest poller.Interest) error {
	if io.state.Load() {
		return ErrIOClosed
	}
	if err := io.d.poll.Registry().Reregister(io.src, tokenOf(io.idx, io.gen), interest); err != nil {
		return fmt.Errorf("runtime: reregister: %w", err)
	}
	return nil
}

// Close deregisters the source and wakes any task waiting on it (its
// PollReady reports closed). The source itself stays open: close it after.
// Closing twice returns ErrIOClosed.
func (io *IO) Close() error {
	if !io.state.CompareAndSwap(false, true) {
		return ErrIOClosed
	}
	err := io.d.poll.Registry().Deregister(io.src)
	io.sio.shutdown()
	io.d.deferRelease(io.idx)
	if err != nil && !errors.Is(err, poller.ErrClosed) {
		return fmt.Errorf("runtime: deregister: %w", err)
	}
	return nil
}
