// Package queue holds metal's queues:
//
//   - Queue and Node: the readiness queue, the intrusive MPSC queue of
//     reusable nodes, one atomic state word per node, that carries
//     user-space readiness (poller.Registration and SetReadiness) from any
//     goroutine to the Poll.
//   - Local: a worker's bounded run queue of 256 tasks, which its owner
//     pushes to and pops from and other workers steal half of.
//   - Inject: the runtime's shared run queue, for tasks spawned from
//     outside the workers and for the overflow of full Local rings.
package queue
