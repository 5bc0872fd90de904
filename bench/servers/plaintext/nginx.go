package plaintext

// nginx is the anchor: the plaintext route as TechEmpower's nginx entry
// configures it ("return 200" with default_type text/plain, keep-alive
// for practically every request), in one process with one worker,
// without root. Everything nginx writes (its pid file, temporary
// directories) is under the directory it is given, its error log goes to
// stderr and it keeps no access log.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/metalio/metal/bench/servers/internal/peer"
)

// NginxBinary is where Debian's nginx packages (nginx-light among them)
// install nginx; StartNginx uses it when no nginx is on the PATH.
const NginxBinary = "/usr/sbin/nginx"

// nginxConfName is the configuration file NginxConfig writes.
const nginxConfName = "nginx.conf"

// nginxConf is the configuration's text: the listening port, the
// descriptor limit, worker_connections and the temporary-path directives.
const nginxConf = `# The plaintext route for bench; written by plaintext.NginxConfig.
daemon off;
master_process off;
worker_processes 1;
pid nginx.pid;
error_log stderr warn;
worker_rlimit_nofile %d;

events {
    worker_connections %d;
}

http {
    access_log off;
    keepalive_requests 100000000;
%s
    server {
        listen 127.0.0.1:%d;

        location / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
`

// nginxTempPaths are the temporary directories nginx creates at start for
// its modules, and the configure option that names each one's built-in
// default (under /var/lib/nginx, which needs root).
var nginxTempPaths = []struct{ directive, option string }{
	{"client_body_temp_path", "--http-client-body-temp-path="},
	{"proxy_temp_path", "--http-proxy-temp-path="},
	{"fastcgi_temp_path", "--http-fastcgi-temp-path="},
	{"uwsgi_temp_path", "--http-uwsgi-temp-path="},
	{"scgi_temp_path", "--http-scgi-temp-path="},
}

// NginxConfig writes into dir an nginx configuration serving the plaintext
// route on 127.0.0.1:port, and returns its path. The configuration keeps
// every file nginx writes inside dir, so nginx runs it without root when
// started with dir as its prefix: nginx -c PATH -p DIR -e stderr.
func NginxConfig(dir string, port int) (string, error) {
	// nginx sets both descriptor limits to worker_rlimit_nofile, which an
	// ordinary user may do up to the hard limit.
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return "", fmt.Errorf("nginx config: %w", err)
	}
	nofile := min(rl.Max, 1<<17)
	conns := min(nofile-32, 65535) // a few descriptors for the listener and logs

	var temps bytes.Buffer
	for _, d := range nginxTempDirectives(nginxPath()) {
		fmt.Fprintf(&temps, "    %s \"%s\";\n", d, filepath.Join(dir, strings.TrimSuffix(d, "_path")))
	}
	path := filepath.Join(dir, nginxConfName)
	conf := fmt.Sprintf(nginxConf, nofile, conns, temps.String(), port)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", fmt.Errorf("nginx config: %w", err)
	}
	return path, nil
}

// nginxTempDirectives returns the temporary-path directives nginx at path
// knows: those of the modules it was built with (nginx -V names each one's
// default path), all of them if it cannot tell.
func nginxTempDirectives(path string) []string {
	out, err := exec.Command(path, "-V").CombinedOutput()
	var names []string
	for _, t := range nginxTempPaths {
		if err != nil || bytes.Contains(out, []byte(t.option)) {
			names = append(names, t.directive)
		}
	}
	return names
}

// nginxPath returns the nginx to run: the one on the PATH, or NginxBinary.
func nginxPath() string {
	if path, err := exec.LookPath("nginx"); err == nil {
		return path
	}
	return NginxBinary
}

const (
	// nginxStartTimeout bounds the wait for nginx to accept connections.
	nginxStartTimeout = 10 * time.Second
	// nginxStartAttempts is how many ports StartNginx tries: the free port
	// it picks may be taken by someone else before nginx binds it.
	nginxStartAttempts = 3
)

// nginxBindFailed matches nginx's complaint when its port is taken.
var nginxBindFailed = regexp.MustCompile(`bind\(\) to \S+ failed \(98: `)

// StartNginx runs nginx (NginxBinary, or the one on the PATH) as a
// subprocess serving the plaintext route on a free loopback port, with
// its configuration, pid file and temporary directories in dir, and
// returns once it accepts connections. Its Close stops nginx (SIGTERM,
// then SIGKILL if it has not exited within peer.ShutdownTimeout) and
// waits for it to exit.
func StartNginx(dir string) (Server, error) {
	var err error
	for range nginxStartAttempts {
		var srv Server
		srv, err = startNginx(dir)
		if err == nil {
			return srv, nil
		}
		if !nginxBindFailed.MatchString(err.Error()) {
			break
		}
	}
	return nil, fmt.Errorf("plaintext: start nginx: %w", err)
}

// startNginx makes one attempt at StartNginx.
func startNginx(dir string) (Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf, err := NginxConfig(dir, port)
	if err != nil {
		return nil, err
	}
	stderr := new(syncBuffer)
	cmd := exec.Command(nginxPath(), "-c", conf, "-p", dir, "-e", "stderr")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	if err := awaitListening(addr, exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return nil, fmt.Errorf("%w (exit: %v); nginx said: %s", err, waitErr, bytes.TrimSpace(stderr.Bytes()))
	}
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(peer.ShutdownTimeout):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("nginx did not stop in time; killed")
		}
		var exit *exec.ExitError
		if errors.As(waitErr, &exit) && !exit.Exited() {
			return nil // ended by the signal
		}
		return waitErr
	}
	return peer.New(addr, stop), nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// awaitListening dials addr until it accepts, the process exits (exited
// is closed) or nginxStartTimeout passes.
func awaitListening(addr *net.TCPAddr, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), nginxStartTimeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr.String())
		if err == nil {
			return c.Close()
		}
		select {
		case <-exited:
			return errors.New("nginx exited before it accepted connections")
		case <-ctx.Done():
			return fmt.Errorf("nginx did not accept connections on %v within %v", addr, nginxStartTimeout)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// syncBuffer collects a process's output, which its writer goroutine and
// a reader may touch at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
