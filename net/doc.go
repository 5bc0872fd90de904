// Package net holds metal's sockets. Today these are the raw non-blocking
// sockets of mio::net: TCP, UDP and Unix-domain sockets and a pipe, each a
// poller.Source, opened O_NONBLOCK|FD_CLOEXEC, returning
// poller.ErrWouldBlock instead of waiting. Async sockets on the runtime and a
// net.Conn facade come with later issues.
package net
