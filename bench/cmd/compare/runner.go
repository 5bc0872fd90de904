package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runner holds what every scenario needs: where things are, which CPUs
// serve and which load, the binaries built, and the report being filled.
type runner struct {
	ctx     context.Context
	opts    options
	bench   string // the bench module's directory
	root    string // metal's repository, the bench module's parent
	bin     string // a temporary directory for the binaries
	out     string // where the results go
	srvCPUs string // taskset list for servers, e.g. "0"
	cliCPUs string // taskset list for load generators, e.g. "1"
	srvN    int    // CPUs in srvCPUs: the servers' GOMAXPROCS

	missing map[string]string // tool → Debian package, for tools not found
	report  *Report
}

func newRunner(ctx context.Context, o options) (*runner, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	bench := filepath.Dir(strings.TrimSpace(string(gomod)))
	if filepath.Base(bench) != "bench" || !exists(filepath.Join(bench, "cmd", "compare")) {
		return nil, fmt.Errorf("run compare from metal's bench module (cd bench && go run ./cmd/compare); go.mod here is %s", strings.TrimSpace(string(gomod)))
	}
	bin, err := os.MkdirTemp("", "metal-compare-")
	if err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, opts: o, bench: bench, root: filepath.Dir(bench), bin: bin, out: o.out}
	if r.out == "" {
		r.out = filepath.Join(bench, "results")
	}
	n := goruntime.NumCPU()
	if n < 2 {
		return nil, errors.New("compare needs at least 2 CPUs: one for the server, one for the load")
	}
	r.srvN = n / 2
	r.srvCPUs = cpuRange(0, r.srvN)
	r.cliCPUs = cpuRange(r.srvN, n)
	r.report = &Report{
		Machine: readMachine(ctx, r.root),
		Quick:   o.quick,
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Placement: fmt.Sprintf("servers on CPUs %s with GOMAXPROCS=%d; load generators on CPUs %s",
			r.srvCPUs, r.srvN, r.cliCPUs),
	}
	return r, nil
}

func cpuRange(lo, hi int) string {
	if hi-lo == 1 {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi-1)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (r *runner) cleanup() { os.RemoveAll(r.bin) }

// say prints a line of progress.
func (r *runner) say(format string, args ...any) {
	fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// tools maps each external program compare runs to its Debian package.
var tools = []struct{ name, pkg, need string }{
	{"taskset", "util-linux", "every scenario"},
	{"redis-benchmark", "redis-tools", "resp"},
	{"redis-server", "redis-server", "the redis anchor in resp"},
	{"wrk", "wrk", "http"},
	{"nginx", "nginx-light", "the nginx anchor in http"},
	{"perf", "linux-perf", "syscalls"},
}

// checkTools finds the external programs and says how to install the
// missing ones.
func (r *runner) checkTools() {
	r.missing = map[string]string{}
	var pkgs []string
	for _, t := range tools {
		if _, err := lookTool(t.name); err != nil {
			r.missing[t.name] = t.pkg
			pkgs = append(pkgs, t.pkg)
			r.say("missing: %s (Debian package %s), needed for %s", t.name, t.pkg, t.need)
		}
	}
	if len(pkgs) > 0 {
		r.say("install them with: sudo apt-get install -y %s", strings.Join(pkgs, " "))
	}
	if _, ok := r.missing["taskset"]; ok {
		r.say("without taskset server and load share every CPU; the figures are not comparable to a pinned run")
	}
}

// lookTool finds a program on PATH or in /usr/sbin and /sbin, where
// Debian puts nginx.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); exists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// have reports whether every named tool is present; if not it records
// the scenario as skipped, with the packages to install.
func (r *runner) have(what string, names ...string) bool {
	var pkgs []string
	for _, n := range names {
		if pkg, ok := r.missing[n]; ok {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return true
	}
	r.skip(what, "install Debian packages: "+strings.Join(pkgs, " "))
	return false
}

func (r *runner) skip(what, why string) {
	r.say("skip %s: %s", what, why)
	r.report.Skipped = append(r.report.Skipped, what+": "+why)
}

// build compiles bench's server and load client and metal's kv example.
func (r *runner) build() error {
	builds := []struct{ dir, pkg, out string }{
		{r.bench, "./cmd/server", "server"},
		{r.bench, "./cmd/echoload", "echoload"},
		{r.root, "./examples/kv", "kv"},
	}
	for _, b := range builds {
		r.say("build %s", b.pkg)
		cmd := exec.CommandContext(r.ctx, "go", "build", "-o", filepath.Join(r.bin, b.out), b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// pinned returns the command line that runs name args on cpus.
func (r *runner) pinned(cpus, name string, args ...string) []string {
	if _, ok := r.missing["taskset"]; ok {
		return append([]string{name}, args...)
	}
	return append([]string{"taskset", "-c", cpus, name}, args...)
}

// proc is a server process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	lines  <-chan string // stdout after the address line, when read
	stderr *tailBuffer
	done   chan error
}

// startServer starts a server pinned to the server CPUs. With port 0 the
// server prints its address as its first line; otherwise it listens on
// 127.0.0.1:port and startServer waits until it accepts.
func (r *runner) startServer(argv []string, port int) (*proc, error) {
	line := r.pinned(r.srvCPUs, argv[0], argv[1:]...)
	cmd := exec.Command(line[0], line[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", r.srvN))
	p := &proc{cmd: cmd, stderr: &tailBuffer{max: 4 << 10}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.done <- cmd.Wait() }()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			// A server that logs to stdout must never block on it: lines
			// nobody waits for are dropped once the buffer is full.
			select {
			case lines <- s.Text():
			default:
			}
		}
	}()
	p.lines = lines
	if port != 0 {
		p.addr = fmt.Sprintf("127.0.0.1:%d", port)
		if err := p.waitAccepting(10 * time.Second); err != nil {
			p.stop()
			return nil, err
		}
		return p, nil
	}
	select {
	case l, ok := <-lines:
		if !ok || l == "" {
			p.stop()
			return nil, fmt.Errorf("%s printed no address; stderr: %s", argv[0], p.stderr)
		}
		p.addr = l
		return p, nil
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s printed no address within 15s; stderr: %s", argv[0], p.stderr)
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) port() string {
	_, port, _ := net.SplitHostPort(p.addr)
	return port
}

// waitAccepting dials until the server accepts or d passes.
func (p *proc) waitAccepting(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("%s exited: %v; stderr: %s", p.cmd.Path, err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept on %s: %w; stderr: %s", p.cmd.Path, p.addr, err, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM, then SIGKILL if the server has not exited in 10 s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// gc asks one of bench's servers to collect garbage (SIGUSR1) and waits
// for its "gc" line.
func (p *proc) gc() error {
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return err
	}
	select {
	case l := <-p.lines:
		if l != "gc" {
			return fmt.Errorf("server answered SIGUSR1 with %q", l)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("server did not answer SIGUSR1 within 30s")
	}
}

// cpuTime is the CPU time the process has used, user and system, from
// /proc/PID/stat (in USER_HZ ticks of 10 ms, as on every Linux
// platform Go supports).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// counted from its closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// rss is the process's resident memory in bytes, from /proc/PID/status.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("/proc/%d/status: VmRSS line %q", pid, line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// load runs a load generator pinned to the client CPUs, within limit,
// and returns its standard output.
func (r *runner) load(limit time.Duration, name string, args ...string) (string, error) {
	line := r.pinned(r.cliCPUs, name, args...)
	ctx, cancel := context.WithTimeout(r.ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, line[0], line[1:]...)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return stdout.String(), fmt.Errorf("%s did not finish within %s", name, limit)
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w; stderr: %s", name, err, stderr)
	}
	return stdout.String(), nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }

// implsOf returns the implementations bench's server has for kind,
// filtered by -impls.
func (r *runner) implsOf(kind string) ([]string, error) {
	out, err := exec.Command(filepath.Join(r.bin, "server"), "-kind", kind, "-list").Output()
	if err != nil {
		return nil, fmt.Errorf("server -kind %s -list: %w", kind, err)
	}
	var impls []string
	for _, name := range strings.Fields(string(out)) {
		if r.wants(name) {
			impls = append(impls, name)
		}
	}
	return impls, nil
}

// wants reports whether -impls selects name.
func (r *runner) wants(name string) bool {
	return len(r.opts.impls) == 0 || containsString(r.opts.impls, name)
}

func containsString(list []string, s string) bool { return slices.Contains(list, s) }

// loopbackPort matches the loopback addresses in command lines, whose
// ports change from run to run.
var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// command records a command line for RESULTS.md, once, with the server's
// address written as 127.0.0.1:$PORT.
func (r *runner) command(scenario string, argv ...string) {
	line := scenario + ": " + loopbackPort.ReplaceAllString(strings.Join(argv, " "), "127.0.0.1:$$PORT")
	if !containsString(r.report.Commands, line) {
		r.report.Commands = append(r.report.Commands, line)
	}
}
