package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// memWatch records the memory high-water marks of one scenario: the Go heap
// (objects live or not yet collected, sampled every 10 ms through
// runtime/metrics) and the process's peak resident set (VmHWM, reset at the
// start when /proc/self/clear_refs allows it).
type memWatch struct {
	done     chan struct{}
	peak     chan uint64
	rssReset bool
}

func watchMemory() *memWatch {
	runtime.GC()
	w := &memWatch{done: make(chan struct{}), peak: make(chan uint64)}
	// Writing 5 to clear_refs resets the peak RSS to the current RSS.
	w.rssReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var peak uint64
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-w.done:
				w.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// memPeaks are a scenario's high-water marks in bytes; RSS is 0 where
// /proc is unavailable and PeakRSSSinceStart says whether it covers only the
// scenario (true) or the whole process so far.
type memPeaks struct {
	Heap          uint64
	RSS           uint64
	RSSScenarioOK bool
}

func (w *memWatch) stop() memPeaks {
	close(w.done)
	return memPeaks{Heap: <-w.peak, RSS: procStatus("VmHWM:"), RSSScenarioOK: w.rssReset}
}

// procStatus reads a kB figure of /proc/self/status, in bytes.
func procStatus(key string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// machineInfo fills what the host tells about itself.
func machineInfo() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.MemoryBytes = kb << 10
			}
		}
	}
	return m
}

// loadAverage is the 1-minute load average (0 where /proc is unavailable).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}
