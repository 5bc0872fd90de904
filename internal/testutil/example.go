package testutil

// The examples' process tests: each example under examples/ is built once
// per test binary, run as a process of its own on a free loopback port,
// and driven the way a user would drive it, with real tools (nc, curl,
// redis-cli) and raw sockets, until a signal stops it.

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ExitTimeout bounds how long StopWithSignal waits for a process to exit.
const ExitTimeout = 10 * time.Second

// Example is an example program, built from the test's package directory
// the first time a test asks for it, so that unit tests and fuzz workers
// never pay for the build. Declare one per package, and let it run the
// package's tests so that it can remove its binary afterwards:
//
//	var server = testutil.NewExample("chat")
//
//	func TestMain(m *testing.M) { server.TestMain(m) }
type Example struct {
	name string
	once sync.Once
	dir  string // the temporary directory holding the binary, once built
	bin  string
	err  error
}

// NewExample returns the example called name (the binary's name), built
// from the current directory, which go test makes the package's.
func NewExample(name string) *Example {
	return &Example{name: name}
}

// Binary builds the example on first use and returns the binary's path;
// a failed build fails every test that asks for it.
func (e *Example) Binary(t testing.TB) string {
	t.Helper()
	e.once.Do(func() {
		e.dir, e.err = os.MkdirTemp("", e.name+"-test-")
		if e.err != nil {
			return
		}
		e.bin = filepath.Join(e.dir, e.name)
		build := exec.Command("go", "build", "-o", e.bin, ".")
		build.Stderr = os.Stderr
		e.err = build.Run()
	})
	if e.err != nil {
		t.Fatalf("building %s: %v", e.name, e.err)
	}
	return e.bin
}

// TestMain runs the package's tests, removes the binary if one was built,
// and exits with the tests' status: the whole of the package's TestMain.
func (e *Example) TestMain(m *testing.M) {
	code := m.Run()
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
	os.Exit(code)
}

// Start runs the example as a process of its own with -addr 127.0.0.1:0
// followed by args, and returns the address it listens on, which it must
// print as its first line of output, and the running command. The process
// is killed when the test ends, if it has not exited by then; its standard
// error is the test's.
func (e *Example) Start(t testing.TB, args ...string) (addr string, cmd *exec.Cmd) {
	t.Helper()
	cmd = exec.Command(e.Binary(t), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: stdout: %v", e.name, err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", e.name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: reading its address: %v (got %q)", e.name, err, line)
	}
	addr = strings.TrimSpace(line)
	if _, err := netip.ParseAddrPort(addr); err != nil {
		t.Fatalf("%s: the first line is not the address: %v", e.name, err)
	}
	return addr, cmd
}

// StopWithSignal sends sig to the process and fails the test unless it
// exits with status 0 within ExitTimeout.
func StopWithSignal(t testing.TB, cmd *exec.Cmd, sig os.Signal) {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v: %v", sig, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit status after %v: %v", sig, err)
		}
	case <-time.After(ExitTimeout):
		t.Fatalf("%s did not stop within %v after %v", filepath.Base(cmd.Path), ExitTimeout, sig)
	}
}

// RequireTool returns the path of the command name, which a test drives
// the example with. Where it is missing the test fails in CI (the
// environment variable CI is set, and .ci/run installs debianPackage) and
// is skipped elsewhere.
func RequireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (Debian %s) is required in CI; .ci/run installs it", name, debianPackage)
		}
		t.Skipf("%s not installed; apt-get install %s", name, debianPackage)
	}
	return path
}

// HostPort splits addr into the host and port that tools take as separate
// arguments (nc host port, redis-cli -h host -p port).
func HostPort(t testing.TB, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("split %q: %v", addr, err)
	}
	return host, port
}

// DialTCP connects to addr within dialTimeout and closes the connection
// when the test ends. A non-zero deadline, counted from now, bounds all of
// the connection's reads and writes.
func DialTCP(t testing.TB, addr string, dialTimeout, deadline time.Duration) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	if deadline > 0 {
		if err := c.SetDeadline(time.Now().Add(deadline)); err != nil {
			t.Fatalf("set deadline: %v", err)
		}
	}
	return c.(*net.TCPConn)
}
