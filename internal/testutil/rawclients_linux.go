//go:build linux

package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// DialRawEcho opens n TCP connections to addr, an echo server, and on each
// sends one message and reads its echo back, all from the calling
// goroutine: the sockets are non-blocking and one epoll instance waits for
// them all. So a process holds thousands of connections with one
// goroutine, where the race detector allows at most 8128.
//
// At most inFlight connections are connecting or waiting for their echo at
// once, so the server's listen backlog never overflows (a dropped SYN is
// retried only after a second). The message of connection i is
// "hello NNNNN\n" with i in it, so an echo on the wrong connection is
// noticed. It returns the descriptors, connected and open, for the caller
// to hold and close; on error it closes everything it opened.
func DialRawEcho(addr netip.AddrPort, n, inFlight int, timeout time.Duration) (fds []int, err error) {
	if !addr.Addr().Is4() {
		return nil, fmt.Errorf("dial raw echo: %v is not an IPv4 address", addr)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(ep)
	fds = make([]int, 0, n)
	defer func() {
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			fds = nil
		}
	}()

	type conn struct {
		fd        int
		connected bool
		want      []byte
		got       []byte
	}
	conns := make([]conn, 0, n)
	sa := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	deadline := time.Now().Add(timeout)
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64)
	active, done := 0, 0

	open := func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket (after %d): %w", len(fds), err)
		}
		fds = append(fds, fd)
		i := len(conns)
		conns = append(conns, conn{fd: fd, want: fmt.Appendf(nil, "hello %05d\n", i)})
		if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
			return fmt.Errorf("connect %d: %w", i, err)
		}
		ev := unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fmt.Errorf("epoll_ctl add %d: %w", i, err)
		}
		active++
		return nil
	}

	for done < n {
		for len(conns) < n && active < inFlight {
			if err := open(); err != nil {
				return fds, err
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fds, fmt.Errorf("dial raw echo: %d of %d connections echoed within %v", done, n, timeout)
		}
		k, err := unix.EpollWait(ep, events, int(min(left, 100*time.Millisecond)/time.Millisecond)+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fds, fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:k] {
			i := int(ev.Fd)
			c := &conns[i]
			if !c.connected {
				soErr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
				if err != nil {
					return fds, fmt.Errorf("getsockopt %d: %w", i, err)
				}
				if soErr != 0 {
					return fds, fmt.Errorf("connect %d: %w", i, unix.Errno(soErr))
				}
				c.connected = true
				// A new connection's send buffer takes a few bytes whole.
				if w, err := unix.Write(c.fd, c.want); err != nil || w != len(c.want) {
					return fds, fmt.Errorf("write %d: %d bytes, %v", i, w, err)
				}
				mod := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(i)}
				if err := unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, c.fd, &mod); err != nil {
					return fds, fmt.Errorf("epoll_ctl mod %d: %w", i, err)
				}
				continue
			}
			r, err := unix.Read(c.fd, buf)
			if errors.Is(err, unix.EAGAIN) {
				continue
			}
			if err != nil {
				return fds, fmt.Errorf("read %d: %w", i, err)
			}
			if r == 0 {
				return fds, fmt.Errorf("read %d: the server closed the connection after %q", i, c.got)
			}
			c.got = append(c.got, buf[:r]...)
			if len(c.got) < len(c.want) {
				continue
			}
			if !bytes.Equal(c.got, c.want) {
				return fds, fmt.Errorf("connection %d: echo %q, sent %q", i, c.got, c.want)
			}
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, c.fd, nil); err != nil {
				return fds, fmt.Errorf("epoll_ctl del %d: %w", i, err)
			}
			c.got, c.want = nil, nil
			active--
			done++
		}
	}
	return fds, nil
}

// RaiseFdLimit raises the soft limit on open descriptors to the hard limit
// and returns the new soft limit.
func RaiseFdLimit() (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("setrlimit: %w", err)
		}
	}
	return lim.Cur, nil
}

// FdTargets lists the process's open descriptors with what each refers
// to, as /proc/self/fd shows it ("socket:[123]", "anon_inode:[eventpoll]",
// "pipe:[456]", a path). The descriptor of the directory read itself is
// left out.
func FdTargets(t testing.TB) map[int]string {
	t.Helper()
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatalf("open /proc/self/fd: %v", err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		t.Fatalf("read /proc/self/fd: %v", err)
	}
	self := int(dir.Fd())
	out := make(map[int]string, len(names))
	for _, name := range names {
		var fd int
		if _, err := fmt.Sscan(name, &fd); err != nil || fd == self {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if err != nil {
			continue // closed since the directory was read
		}
		out[fd] = target
	}
	return out
}

// FdKinds counts descriptors by kind: "socket", "anon_inode:[eventpoll]",
// "pipe", and "file" for the rest.
func FdKinds(fds map[int]string) map[string]int {
	kinds := make(map[string]int)
	for _, target := range fds {
		switch {
		case strings.HasPrefix(target, "socket:"):
			kinds["socket"]++
		case strings.HasPrefix(target, "pipe:"):
			kinds["pipe"]++
		case strings.HasPrefix(target, "anon_inode:"):
			kinds[target]++
		default:
			kinds["file"]++
		}
	}
	return kinds
}
