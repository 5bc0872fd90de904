// Package timer holds the hierarchical timing wheel that metal's runtime
// uses for sleeps and timeouts.
//
// A Wheel is a plain data structure: it starts no goroutines, takes no
// locks and reads no clock. Its time is a count of ticks (milliseconds)
// since an origin the caller picks; the caller tells Poll what time it is,
// and Poll hands back, one at a time, the entries whose deadline has come.
// The runtime owns one wheel per worker and uses it from that worker alone;
// cancelling a timer that lives on another worker is the runtime's business,
// not the wheel's.
//
// Why a wheel and not a heap: a server sets a timeout on nearly every
// request and cancels nearly all of them before they fire. A heap pays
// O(log n) to add and to cancel; the wheel pays O(1) for both, and only the
// few timers that live long enough pay for moving down the levels, at most
// once per level.
//
// The numbers, and why:
//
//   - One tick is 1 ms. Sleeps and timeouts in a network runtime are
//     milliseconds and up, and epoll_wait's timeout is in milliseconds, so a
//     finer tick would buy precision the poller cannot deliver.
//   - 64 slots a level, so that one uint64 says which slots hold entries and
//     one TrailingZeros64 finds the next of them, without looking at a slot.
//   - 6 levels. Level L's slots are 64^L ticks wide: 1 ms, 64 ms, 4.1 s,
//     4.4 min, 4.7 h and 12.4 days; the top level spans 64^6 ms = 2^36 ms,
//     about 2.2 years. That covers any timeout a program means; a deadline
//     farther out than the wheel reaches is parked at the wheel's horizon
//     and looked at again when the wheel gets there, so it too fires on time.
//
// Entries are intrusive: the caller owns each Entry (it may embed one in its
// own struct) and reuses it, and nothing the wheel does allocates.
//
// Ticks and ElapsedTicks convert durations to ticks, rounding deadlines up
// and the current time down, so that the wheel never fires early.
package timer
