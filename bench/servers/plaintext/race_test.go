//go:build race

package plaintext

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
