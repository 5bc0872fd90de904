package main

// This file builds the example servers and runs each as a process of its
// own: it learns the address the server serves on from its first line of
// output, and the address of its /debug/vars from the line -debug logs.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// startTimeout bounds how long a server has to print its addresses.
	startTimeout = 15 * time.Second
	// stopTimeout bounds how long a server has to exit after SIGTERM.
	stopTimeout = 10 * time.Second
	// metalModule is the module that holds the examples.
	metalModule = "github.com/metalio/metal"
)

// buildExamples builds examples/echo and examples/kv of the metal module
// the current directory's module uses (bench's replace directive makes
// that the repository around it) into dir, and returns the binaries'
// paths by name.
func buildExamples(ctx context.Context, dir string) (map[string]string, error) {
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", metalModule)
	list.Stderr = os.Stderr
	out, err := list.Output()
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", metalModule, err)
	}
	root := strings.TrimSpace(string(out))
	if root == "" {
		return nil, fmt.Errorf("finding %s: go list printed no directory (run from the bench module)", metalModule)
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./examples/echo", "./examples/kv")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the examples in %s: %w", root, err)
	}
	return map[string]string{
		"echo": filepath.Join(dir, "echo"),
		"kv":   filepath.Join(dir, "kv"),
	}, nil
}

// debugLine matches the line -debug logs, and captures the URL.
var debugLine = regexp.MustCompile(`debug: serving (http://\S+/debug/vars)`)

// process is one running example server.
type process struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it serves on
	vars string // URL of its /debug/vars
	// client fetches vars over a single connection, kept alive, so that
	// watching the server adds one connection to it, always the same.
	client *http.Client
	probe  sync.Mutex // one sample at a time, over that one connection

	exited  chan struct{} // closed once the process has exited
	waitErr error         // its exit status, once exited is closed
}

// startProcess runs bin with args plus -addr 127.0.0.1:0 -debug
// 127.0.0.1:0 and waits for it to say where it serves both. Its standard
// error is copied to logs, each line prefixed with name.
func startProcess(name, bin string, args []string, logs io.Writer) (*process, error) {
	args = append([]string{"-addr", "127.0.0.1:0", "-debug", "127.0.0.1:0"}, args...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = serverProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{
		name:   name,
		cmd:    cmd,
		exited: make(chan struct{}),
		client: &http.Client{
			Timeout: 10 * time.Second,
			Transport: &http.Transport{
				MaxConnsPerHost:     1,
				MaxIdleConnsPerHost: 1,
				DisableCompression:  true,
			},
		},
	}

	addrs, urls := make(chan string, 1), make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Go(func() {
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		if err == nil {
			addrs <- strings.TrimSpace(line)
		}
		_, _ = io.Copy(io.Discard, r)
	})
	pipes.Go(func() {
		s := bufio.NewScanner(stderr)
		found := false
		for s.Scan() {
			if m := debugLine.FindStringSubmatch(s.Text()); m != nil && !found {
				urls <- m[1]
				found = true
			}
			fmt.Fprintf(logs, "[%s] %s\n", name, s.Text())
		}
		_, _ = io.Copy(io.Discard, stderr)
	})
	go func() {
		pipes.Wait() // Wait must not close the pipes under their readers
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	timeout := time.NewTimer(startTimeout)
	defer timeout.Stop()
	for p.addr == "" || p.vars == "" {
		select {
		case p.addr = <-addrs:
		case p.vars = <-urls:
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before it served: %v", name, p.waitErr)
		case <-timeout.C:
			p.kill()
			return nil, fmt.Errorf("%s did not print its addresses within %v", name, startTimeout)
		}
	}
	return p, nil
}

// pid is the process's id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits for the process to exit; it is an error if
// it does not exit within stopTimeout or exits with a status other than 0.
func (p *process) stop() error {
	p.client.CloseIdleConnections()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGTERM: %w", p.name, err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("%s: exit after SIGTERM: %w", p.name, p.waitErr)
		}
		return nil
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("%s did not exit within %v of SIGTERM", p.name, stopTimeout)
	}
}

// kill kills the process, if it is still running, and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// fetchVars gets the server's /debug/vars and reads what it holds.
func (p *process) fetchVars() (vars, error) {
	resp, err := p.client.Get(p.vars)
	if err != nil {
		return vars{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return vars{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return vars{}, fmt.Errorf("GET %s: %s", p.vars, resp.Status)
	}
	return parseVars(bytes.NewReader(body))
}
