package testkit

import (
	"errors"
	"strings"
	"testing"
)

// WantRefusal fails unless err is an error of status 400 (a core.Error,
// which tells its status) whose detail names a field ("sync_lag.min: …");
// with under given, a field that is one of them or within one
// ("outages[0].start" is within "outages").
func WantRefusal(t testing.TB, err error, under ...string) {
	t.Helper()
	var e interface {
		error
		Status() int
	}
	if !errors.As(err, &e) || e.Status() != 400 {
		t.Fatalf("refused with %T %v, want a core.Error of status 400", err, err)
	}
	field, what, ok := strings.Cut(e.Error(), ": ")
	if !ok || field == "" || what == "" {
		t.Fatalf("detail %q names no field", e.Error())
	}
	if len(under) == 0 {
		return
	}
	for _, u := range under {
		if field == u || strings.HasPrefix(field, u+".") || strings.HasPrefix(field, u+"[") {
			return
		}
	}
	t.Fatalf("detail %q names %q, not one of %v", e.Error(), field, under)
}
