// Package net holds metal's sockets, in three layers.
//
// Raw sockets, as mio::net: TCPListener, TCPStream, UDPSocket,
// UnixListener, UnixStream, UnixDatagram and a pipe. Each is a
// poller.Source, opened O_NONBLOCK|FD_CLOEXEC, and returns
// poller.ErrWouldBlock instead of waiting. Use them with a poller.Poll of
// your own.
//
// Async sockets, on a runtime.Runtime: Listener, Conn and PacketConn.
// Tasks use their poll methods (PollAccept, PollRead, PollWrite,
// PollRecvFrom, ...) or the futures that AcceptAsync, ReadAsync,
// WriteAsync and the like return: an operation that would block returns
// pending, and the runtime's I/O driver wakes the task when the socket is
// ready. A write completes when its bytes are in the kernel, so a slow peer
// slows its writer instead of growing the process (BufWriter adds
// buffering bounded by watermarks). Deadlines and idle timeouts run on the
// runtime's timer wheel. The hot paths allocate nothing.
//
// The netpoller facade: the same Listener, Conn and PacketConn are a
// net.Listener, net.Conn and net.PacketConn for ordinary goroutines, whose
// blocking calls wait on metal's poller instead of Go's. Listen, Dial and
// ListenPacket use a default runtime; ListenRuntime, DialRuntime,
// ListenConfig and Dialer take one; NewListener and NewConn adopt sockets
// Go's net opened. net/http and crypto/tls run over them unchanged, and
// Conn passes golang.org/x/net/nettest's conformance suite.
package net
