package load

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"smsim/simulator/client"
	"smsim/simulator/people"
)

// The latencies the driver measures: the keys of Report.Latency.
const (
	LatCode         = "code_delivery" // the submit sent → a person's first code read off the phone
	LatFlow         = "flow"          // the flow's start → its order's end, learnt from the log and read back
	LatSubmit       = "submit"        // POST /provider/v1/filings
	LatValidate     = "validate"      // POST /miit/v1/validations
	LatResend       = "resend"        // POST /miit/v1/resends
	LatProviderView = "provider_view" // GET /provider/v1/filings/{id}
	LatWatch        = "watch"         // the phone websocket's handshake (--listen ws)
)

// Latencies lists the latencies in the order of the report.
var Latencies = []string{LatCode, LatFlow, LatSubmit, LatValidate, LatResend, LatProviderView, LatWatch}

// The outcomes of a flow: how its order ended, or why the flow did not see
// it end.
const (
	OutApproved   = client.FilingApproved
	OutReturned   = client.FilingReturned
	OutRejected   = client.FilingRejected
	OutCanceled   = client.FilingCanceled
	OutError      = "error"      // an API call failed
	OutUnfinished = "unfinished" // still going when the run stopped
)

// Histogram range: a microsecond to a week, three significant digits.
const (
	histMin    = 1
	histMax    = int64(7 * 24 * time.Hour / time.Microsecond)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// record adds d to h, in microseconds, within its range.
func record(h *hdrhistogram.Histogram, d time.Duration) {
	h.RecordValue(min(max(d.Microseconds(), 0), histMax))
}

// recorder keeps what the flows measure: a histogram of each latency for
// the whole run and one since the last progress line, and the counts of
// flows, outcomes and errors. It is safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	whole   map[string]*hdrhistogram.Histogram
	window  map[string]*hdrhistogram.Histogram
	started int
	// flows an open loop's schedule had due that never started
	unstarted int
	total     Outcomes
	byPers    map[people.Personality]*Outcomes
	byType    map[string]*Outcomes
	errs      map[string]*ErrorCount
	errKeys   []string // in the order first seen
	// flows completed since the last progress line
	windowDone int
}

func newRecorder() *recorder {
	r := &recorder{whole: map[string]*hdrhistogram.Histogram{}, window: map[string]*hdrhistogram.Histogram{},
		byPers: map[people.Personality]*Outcomes{}, byType: map[string]*Outcomes{}, errs: map[string]*ErrorCount{}}
	for _, name := range Latencies {
		r.whole[name], r.window[name] = newHist(), newHist()
	}
	return r
}

// latency records a latency of the kind name.
func (r *recorder) latency(name string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	record(r.whole[name], d)
	record(r.window[name], d)
}

// notStarted counts n flows that were due and never started.
func (r *recorder) notStarted(n int) {
	if n <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unstarted += n
}

func (r *recorder) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started++
}

// end records how flow f ended; for an error, its kind and message.
func (r *recorder) end(f *flow, outcome, errKind, errMsg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.add(outcome)
	if completed(outcome) {
		r.windowDone++
	}
	name := kindName(f.kind)
	if r.byType[name] == nil {
		r.byType[name] = &Outcomes{}
	}
	r.byType[name].add(outcome)
	if r.byPers[f.personality] == nil {
		r.byPers[f.personality] = &Outcomes{}
	}
	r.byPers[f.personality].add(outcome)
	if outcome == OutError {
		e := r.errs[errKind]
		if e == nil {
			e = &ErrorCount{Kind: errKind, Example: errMsg}
			r.errs[errKind] = e
			r.errKeys = append(r.errKeys, errKind)
		}
		e.Count++
	}
}
