package poller

// Source is anything a Registry can watch: a file descriptor (SourceFd),
// a user-space Registration, or one of package net's sockets. A type
// implements it by forwarding to the Source it wraps; callers use the
// Registry's methods, which call these.
//
// A source is registered with one Registry at a time. Deregister it before
// closing it: epoll forgets a closed descriptor only when every duplicate of
// it is closed, and kqueue's bookkeeping is kept by metal.
type Source interface {
	Register(r *Registry, t Token, i Interest) error
	Reregister(r *Registry, t Token, i Interest) error
	Deregister(r *Registry) error
}

// SourceFd makes a raw file descriptor a Source. The descriptor should be
// non-blocking; metal neither owns nor closes it.
//
//	r.Register(poller.SourceFd(fd), tok, poller.Readable)
type SourceFd int

// Register registers the descriptor with r.
func (fd SourceFd) Register(r *Registry, t Token, i Interest) error {
	return r.registerFd(int(fd), t, i)
}

// Reregister changes the token and interest of the registered descriptor.
func (fd SourceFd) Reregister(r *Registry, t Token, i Interest) error {
	return r.reregisterFd(int(fd), t, i)
}

// Deregister stops the descriptor's events.
func (fd SourceFd) Deregister(r *Registry) error {
	return r.deregisterFd(int(fd))
}
