package runtime

import (
	"sync"

	"go.uber.org/atomic"
)

// Idle workers, and how many of the others are looking for work.
//
// A worker that runs out of tasks first searches: it steals from the other
// workers and takes from the inject queue. Searching costs the victims
// (thieves contend on their queues), so at most half the workers search at
// once; the rest park straight away. When new work appears (a spawn, a
// task queued behind a busy worker), one parked worker is woken, and only
// if nobody is searching already: a searcher will find it. A searcher that
// finds work stops searching, and if it was the last searcher it wakes
// another parked worker to take its place, so work fans out one worker at a
// time rather than waking every sleeper for every task (tokio's scheme;
// Go's runtime does the same with its spinning Ms).

// idleWord is a snapshot of the idle state word.
//
//	bits 0-15   searching   workers searching for work
//	bits 16-31  unparked    workers not parked (running, searching, or
//	                        between the two)
//
// Both change in one atomic step, so "nobody searching and somebody
// parked" is read in one load.
type idleWord uint32

const (
	searchingOne idleWord = 1
	unparkedOne  idleWord = 1 << 16
	countMask             = 0xffff
)

func (w idleWord) searching() int { return int(w & countMask) }
func (w idleWord) unparked() int  { return int(w >> 16 & countMask) }

type idle struct {
	word    atomic.Uint32
	workers int

	mu       sync.Mutex
	sleepers []int // ids of parked workers, guarded by mu
	asleep   []bool
}

func newIdle(workers int) *idle {
	i := &idle{workers: workers, sleepers: make([]int, 0, workers), asleep: make([]bool, workers)}
	i.word.Store(uint32(idleWord(workers) * unparkedOne))
	return i
}

func (i *idle) load() idleWord { return idleWord(i.word.Load()) }

// shouldWake: nobody is searching and somebody is parked.
func (i *idle) shouldWake() bool {
	s := i.load()
	return s.searching() == 0 && s.unparked() < i.workers
}

// workerToWake picks a parked worker to wake for new work, counting it as
// unparked and searching; -1 when none should be woken.
func (i *idle) workerToWake() int {
	if !i.shouldWake() {
		return -1
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.shouldWake() || len(i.sleepers) == 0 {
		return -1
	}
	id := i.sleepers[len(i.sleepers)-1]
	i.sleepers = i.sleepers[:len(i.sleepers)-1]
	i.asleep[id] = false
	i.word.Add(uint32(searchingOne + unparkedOne))
	return id
}

// toSearching lets a worker search unless half the workers already do.
func (i *idle) toSearching() bool {
	for {
		s := i.load()
		if 2*s.searching() >= i.workers {
			return false
		}
		if i.word.CompareAndSwap(uint32(s), uint32(s+searchingOne)) {
			return true
		}
	}
}

// fromSearching ends a worker's search; it reports whether it was the
// last searcher (who then wakes another worker if there is work).
func (i *idle) fromSearching() (last bool) {
	prev := idleWord(i.word.Sub(uint32(searchingOne)) + uint32(searchingOne))
	return prev.searching() == 1
}

// toParked records worker id as parked. The worker then looks at the
// queues once more (worker.park): work queued while it searched woke
// nobody.
func (i *idle) toParked(id int, searching bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	dec := unparkedOne
	if searching {
		dec += searchingOne
	}
	i.word.Sub(uint32(dec))
	i.sleepers = append(i.sleepers, id)
	i.asleep[id] = true
}

// unparked is called by worker id when it wakes. If nobody chose it (it
// was woken for its own queue, or by the driver), it takes itself out of
// the sleepers and counts itself unparked, not searching; it reports
// whether a waker had chosen it (it then counts as searching).
func (i *idle) unparked(id int) (chosen bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.asleep[id] {
		return true
	}
	i.asleep[id] = false
	for k, s := range i.sleepers {
		if s == id {
			i.sleepers = append(i.sleepers[:k], i.sleepers[k+1:]...)
			break
		}
	}
	i.word.Add(uint32(unparkedOne))
	return false
}

// anySleeper takes a parked worker to wake whatever the searching count,
// counting it unparked and searching; -1 when none is parked.
func (i *idle) anySleeper() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.sleepers) == 0 {
		return -1
	}
	id := i.sleepers[len(i.sleepers)-1]
	i.sleepers = i.sleepers[:len(i.sleepers)-1]
	i.asleep[id] = false
	i.word.Add(uint32(searchingOne + unparkedOne))
	return id
}
