//go:build !unix

package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "netpoller: unsupported on %s: the example drives raw Unix file descriptors\n", runtime.GOOS)
	os.Exit(1)
}
