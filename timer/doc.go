// Package timer will hold the hierarchical timing wheel that metal's runtime
// uses for sleeps and timeouts. The wheel is a plain data structure: it
// starts no goroutines and reads no clock of its own; the runtime's timer
// driver advances it and fires what has expired.
//
// The package is being built: it has no API yet.
package timer
