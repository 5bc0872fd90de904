package queue

import (
	"fmt"
	"sync"
	"testing"

	"go.uber.org/atomic"
)

// The queue alone: producers set readiness and enqueue their nodes, one
// consumer dequeues; beside a buffered channel of node pointers fed by the
// same producers. One op is one readiness change (or one send).
func BenchmarkQueueSetDequeue(b *testing.B) {
	for _, producers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			q := New(nil)
			const perProducer = 64
			nodes := make([]Node, producers*perProducer)
			for i := range nodes {
				nodes[i].Update(uint64(i), 1, false, false)
				q.Attach(&nodes[i])
			}
			var done atomic.Int32
			var wg sync.WaitGroup
			per := b.N / producers
			b.ReportAllocs()
			b.ResetTimer()
			for g := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer done.Inc()
					mine := nodes[g*perProducer : (g+1)*perProducer]
					for i := range per {
						n := &mine[i%perProducer]
						if set(n, 1) {
							q.Enqueue(n)
						}
					}
				}()
			}
			for {
				n, o := q.Dequeue(nil)
				switch o {
				case Data:
					n.Dequeued()
				case Inconsistent:
					yield()
				case Empty:
					if done.Load() == int32(producers) {
						wg.Wait()
						return
					}
					yield()
				}
			}
		})
	}
}

func BenchmarkChanNode(b *testing.B) {
	for _, producers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			nodes := make([]Node, producers*64)
			ch := make(chan *Node, 256)
			var wg sync.WaitGroup
			per := b.N / producers
			b.ReportAllocs()
			b.ResetTimer()
			for g := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						ch <- &nodes[g*64+i%64]
					}
				}()
			}
			go func() { wg.Wait(); close(ch) }()
			for range ch {
			}
		})
	}
}
