package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVmRSSReadsKilobytesAsBytes(t *testing.T) {
	status := "Name:\techo\nVmPeak:\t  812344 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   13312 kB\nRssAnon:\t    9000 kB\n"
	got, err := parseVmRSS(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(13312 << 10); got != want {
		t.Fatalf("parseVmRSS = %d, want %d", got, want)
	}
}

func TestParseVmRSSRejectsMissingOrMalformedLines(t *testing.T) {
	for _, status := range []string{
		"",
		"Name:\techo\nVmHWM:\t 20480 kB\n", // a kernel thread has no VmRSS
		"VmRSS:\t 13312\n",                 // no unit
		"VmRSS:\t 13312 MB\n",              // a unit it does not know
		"VmRSS:\t lots kB\n",
		"VmRSS:\t -1 kB\n",
	} {
		if got, err := parseVmRSS(strings.NewReader(status)); err == nil {
			t.Errorf("parseVmRSS(%q) = %d, want an error", status, got)
		}
	}
}

func TestReadRSSOfThisProcess(t *testing.T) {
	rss, err := readRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A Go test binary is resident in more than a MiB and less than a GiB.
	if rss < 1<<20 || rss > 1<<30 {
		t.Fatalf("this process's RSS = %d bytes", rss)
	}
}

func TestCountFDsSeesAFileOpenedAndClosed(t *testing.T) {
	before, err := countFDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "held"))
	if err != nil {
		t.Fatal(err)
	}
	during, err := countFDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	after, err := countFDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if during != before+1 || after != before {
		t.Fatalf("descriptors before, while a file is open, after: %d, %d, %d; want n, n+1, n", before, during, after)
	}
}

func TestCountFDsOfAProcessThatDoesNotExist(t *testing.T) {
	if n, err := countFDs(-1); err == nil {
		t.Fatalf("countFDs(-1) = %d, want an error", n)
	}
}

func TestParseVarsReadsGoroutinesAndHeap(t *testing.T) {
	page := `{
"cmdline": ["/tmp/echo", "-addr", "127.0.0.1:0"],
"goroutines": 8,
"memstats": {"Alloc": 1234, "HeapInuse": 4194304, "BySize": [{"Size": 0, "Mallocs": 0, "Frees": 0}]}
}`
	v, err := parseVars(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	if *v.Goroutines != 8 || v.Memstats.HeapInuse != 4194304 {
		t.Fatalf("parseVars: goroutines %d, heap in use %d; want 8 and 4194304", *v.Goroutines, v.Memstats.HeapInuse)
	}
}

func TestParseVarsRejectsAPageWithoutGoroutines(t *testing.T) {
	for _, page := range []string{
		`{"cmdline": ["/tmp/echo"], "memstats": {"HeapInuse": 1}}`, // a server without -debug's var
		`{"goroutines": "eight"}`,
		`not json`,
		``,
	} {
		if _, err := parseVars(strings.NewReader(page)); err == nil {
			t.Errorf("parseVars(%q) succeeded", page)
		}
	}
}
