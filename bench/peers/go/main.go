// main.go: the runtime's benchmark workloads with goroutines (a peer).
//
//	go-bench WORKLOAD [N [REPS]]
//
// Same workloads, arguments and output as bench/runtime_bench.c: each prints
// "RESULT <name> <median of the rounds> <unit>" on stdout and every round on
// stderr. The Go scheduler runs on one thread (GOMAXPROCS=1, unless the
// environment sets GOMAXPROCS), as the runtime does, so that hand-offs are
// switches rather than wake-ups across cores. Goroutines stand in for tasks,
// runtime.Gosched for async_yield, a buffered channel of capacity 1 for the
// queue of maxsize 1, a channel of capacity 1 per event (send sets, receive
// waits and clears), sync.Mutex for the forks.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const meals = 100

func report(name string, samples []float64, unit string) {
	rounds := make([]string, len(samples))
	for i, s := range samples {
		rounds[i] = strconv.FormatFloat(s, 'g', 4, 64)
	}
	fmt.Fprintf(os.Stderr, "%s rounds (%s): %s\n", name, unit,
		strings.Join(rounds, " "))
	sorted := append([]float64(nil), samples...)
	sort.Float64s(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + median) / 2
	}
	fmt.Printf("RESULT %s %.6g %s\n", name, median, unit)
}

func nsSince(start time.Time) float64 {
	return float64(time.Since(start).Nanoseconds())
}

// rssBytes reads the resident set from /proc/self/statm, as the C side does.
func rssBytes() float64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	fields := strings.Fields(string(data))
	pages, err := strconv.ParseFloat(fields[1], 64)
	if err != nil {
		panic(err)
	}
	return pages * float64(os.Getpagesize())
}

// twoWay runs a and b side by side to the end; the nanoseconds it took.
func twoWay(a, b func()) float64 {
	var done sync.WaitGroup
	done.Add(2)
	start := time.Now()
	go func() { a(); done.Done() }()
	go func() { b(); done.Done() }()
	done.Wait()
	return nsSince(start)
}

func handoffQueue(n, reps int) {
	samples := make([]float64, reps)
	for r := range samples {
		queue := make(chan int, 1)
		samples[r] = twoWay(func() {
			for i := 1; i <= n; i++ {
				queue <- i
			}
		}, func() {
			for i := 1; i <= n; i++ {
				if <-queue != i {
					panic("lost or reordered item")
				}
			}
		}) / float64(n)
	}
	report("handoff-queue", samples, "ns")
}

func handoffEvent(n, reps int) {
	samples := make([]float64, reps)
	for r := range samples {
		ping, pong := make(chan struct{}, 1), make(chan struct{}, 1)
		samples[r] = twoWay(func() {
			for i := 0; i < n; i++ {
				ping <- struct{}{}
				<-pong
			}
		}, func() {
			for i := 0; i < n; i++ {
				<-ping
				pong <- struct{}{}
			}
		}) / float64(2*n)
	}
	report("handoff-event", samples, "ns")
}

func switches(n, reps int) {
	yielder := func() {
		for i := 0; i < n; i++ {
			runtime.Gosched()
		}
	}
	samples := make([]float64, reps)
	for r := range samples {
		samples[r] = twoWay(yielder, yielder) / float64(2*n)
	}
	report("switch", samples, "ns")
}

func spawn(n, reps int) {
	round := func() float64 {
		var done sync.WaitGroup
		start := time.Now()
		done.Add(n)
		for i := 0; i < n; i++ {
			go func() {
				runtime.Gosched()
				done.Done()
			}()
		}
		done.Wait()
		return nsSince(start) / float64(n)
	}
	first := round()
	samples := make([]float64, reps)
	for r := range samples {
		samples[r] = round()
	}
	report("spawn-first", []float64{first}, "ns")
	report("spawn", samples, "ns")
}

func parked(n, reps int) {
	goSignal := make(chan struct{})
	var parkedCount, wokenCount int64
	var done sync.WaitGroup
	done.Add(n)
	before := rssBytes()
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&parkedCount, 1)
			<-goSignal
			atomic.AddInt64(&wokenCount, 1)
			done.Done()
		}()
	}
	for atomic.LoadInt64(&parkedCount) < int64(n) {
		runtime.Gosched()
	}
	after := rssBytes()
	close(goSignal)
	done.Wait()
	if wokenCount != int64(n) {
		panic("not every parked goroutine woke")
	}
	fmt.Fprintf(os.Stderr, "parked: RSS %.1f MiB before, %.1f MiB with %d parked\n",
		before/1048576, after/1048576, n)
	perTask := (after - before) / float64(n)
	if perTask < 0 {
		perTask = 0
	}
	report("parked-rss", []float64{perTask}, "bytes")
	fmt.Printf("RESULT live-tasks %d tasks\n", n)
}

func philosophers(n, reps int) {
	samples := make([]float64, reps)
	for r := range samples {
		forks := make([]sync.Mutex, n)
		var eaten int64
		var done sync.WaitGroup
		done.Add(n)
		start := time.Now()
		for seat := 0; seat < n; seat++ {
			left, right := seat, (seat+1)%n
			if right < left {
				left, right = right, left
			}
			first, second := &forks[left], &forks[right]
			go func() {
				for meal := 0; meal < meals; meal++ {
					runtime.Gosched() // think
					first.Lock()
					second.Lock()
					runtime.Gosched() // eat
					atomic.AddInt64(&eaten, 1)
					second.Unlock()
					first.Unlock()
				}
				done.Done()
			}()
		}
		done.Wait()
		samples[r] = nsSince(start) / 1e6
		if eaten != int64(n*meals) {
			panic("meals went missing")
		}
	}
	report("philosophers", samples, "ms")
}

type workload struct {
	run         func(n, reps int)
	defaultN    int
	defaultReps int
}

var workloads = map[string]workload{
	"handoff-queue": {handoffQueue, 1000000, 5},
	"handoff-event": {handoffEvent, 1000000, 5},
	"switch":        {switches, 1000000, 5},
	"spawn":         {spawn, 100000, 5},
	"parked":        {parked, 100000, 1},
	"philosophers":  {philosophers, 1000, 5},
}

func main() {
	args := os.Args[1:]
	w, ok := workload{}, false
	if len(args) >= 1 && len(args) <= 3 {
		w, ok = workloads[args[0]]
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: go-bench WORKLOAD [N [REPS]]")
		os.Exit(2)
	}
	n, reps := w.defaultN, w.defaultReps
	var err error
	if len(args) > 1 {
		if n, err = strconv.Atoi(args[1]); err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "go-bench: N must be a positive number")
			os.Exit(2)
		}
	}
	if len(args) > 2 {
		if reps, err = strconv.Atoi(args[2]); err != nil || reps <= 0 {
			fmt.Fprintln(os.Stderr, "go-bench: REPS must be a positive number")
			os.Exit(2)
		}
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	w.run(n, reps)
}
