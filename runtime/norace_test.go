//go:build unix && !race

package runtime_test

const raceEnabled = false
