package net

import "time"

// AcceptExhaustions exposes to the external tests how many accepts of l
// have failed for want of descriptors or memory (see accept_backoff.go).
func AcceptExhaustions(l *Listener) uint64 { return l.bo.exhausted() }

// AcceptPause exposes the pause l's last such failure started; zero once
// an accept has succeeded since.
func AcceptPause(l *Listener) time.Duration { return l.bo.pause() }

// AcceptUnsure exposes whether l accepts without readiness until its
// backlog is found empty.
func AcceptUnsure(l *Listener) bool { return l.bo.unsure() }
