package main

// This file samples a server: its resident memory and open descriptors
// from /proc, its goroutines and heap from the expvar page its -debug flag
// serves, and the soak's own counts of what was asked of it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Sample is one look at one server.
type Sample struct {
	T          float64 `json:"t"`     // seconds since the soak began
	Phase      string  `json:"phase"` // what the soak was doing: see the phase constants
	RSS        int64   `json:"rss_bytes"`
	FDs        int     `json:"fds"`
	Goroutines int     `json:"goroutines"`
	HeapInuse  uint64  `json:"heap_inuse_bytes"` // the Go heap's in-use spans (runtime.MemStats.HeapInuse)
	Requests   uint64  `json:"requests"`         // verified so far
	Conns      uint64  `json:"conns"`            // opened so far
	Lost       uint64  `json:"lost"`             // lost so far
}

// vars is what the soak reads from a server's /debug/vars.
type vars struct {
	Goroutines *int `json:"goroutines"`
	Memstats   struct {
		HeapInuse uint64 `json:"HeapInuse"`
	} `json:"memstats"`
}

// parseVars decodes a /debug/vars page. It fails if the page has no
// "goroutines", which only a server started with -debug publishes.
func parseVars(r io.Reader) (vars, error) {
	var v vars
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		return vars{}, fmt.Errorf("decoding /debug/vars: %w", err)
	}
	if v.Goroutines == nil {
		return vars{}, errors.New(`/debug/vars has no "goroutines"`)
	}
	return v, nil
}

// parseVmRSS returns the resident set size, in bytes, from the text of a
// /proc/PID/status file.
func parseVmRSS(r io.Reader) (int64, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		rest, ok := bytes.CutPrefix(s.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want a number of kB", s.Text())
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("VmRSS line %q: want a number of kB", s.Text())
		}
		return kb << 10, nil
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmRSS line")
}

// readRSS returns process pid's resident set size in bytes.
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

// countFDs returns how many descriptors process pid has open.
func countFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// sample looks at the server: its vars first, so that the connection the
// soak fetches them over is open when its descriptors are counted, as it
// is at every sample.
func (p *process) sample() (Sample, error) {
	p.probe.Lock()
	defer p.probe.Unlock()
	v, err := p.fetchVars()
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", p.name, err)
	}
	rss, err := readRSS(p.pid())
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", p.name, err)
	}
	fds, err := countFDs(p.pid())
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w", p.name, err)
	}
	return Sample{RSS: rss, FDs: fds, Goroutines: *v.Goroutines, HeapInuse: v.Memstats.HeapInuse}, nil
}
