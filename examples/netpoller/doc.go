// Command netpoller shows metal's poller used as another framework's
// netpoller: the framework keeps its own file descriptors, made with raw
// system calls, and its own callback API, and lets metal do the waiting.
//
//	go run ./examples/netpoller -addr 127.0.0.1:7002
//	nc 127.0.0.1 7002        # every line comes back in upper case
//
// Frameworks such as gnet and evio own an epoll (or kqueue) loop per
// core: they register descriptors, wait, and call the user's code for each
// event. This example keeps that shape and swaps the loop for metal:
//
//   - reactor.go is the framework's poller layer, a Reactor with
//     Watch(fd, onReadable), NotifyWritable(fd, onWritable) and
//     Unwatch(fd). It registers each descriptor with a metal runtime's
//     I/O driver (rt.Register(poller.SourceFd(fd), ...)) and runs a task
//     per descriptor that calls the callback whenever the driver reports
//     readiness. The framework gets metal's edge-triggered poller, its
//     timers and its work-stealing workers, and the fds stay its own.
//   - server.go and lines.go are the "framework" itself: a TCP line server
//     that opens its listening socket with unix.Socket, Bind and Listen,
//     accepts with accept4(SOCK_NONBLOCK|SOCK_CLOEXEC), and reads and
//     writes with unix.Read and unix.Write, answering each line in upper
//     case. It never blocks: a write that hits EAGAIN waits for the
//     reactor's writable callback, and nothing more is read meanwhile.
//
// The first line it prints is the address it serves on (useful with port
// 0). SIGINT or SIGTERM stops it cleanly: the reactor stops every
// callback, the descriptors are closed, the runtime shuts down, and it
// exits with status 0.
//
// It runs on Unix systems only; elsewhere it says so and exits with
// status 1.
package main
