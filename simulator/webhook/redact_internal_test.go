package webhook

import "testing"

// A webhook's URL is logged without its password or its query, either of
// which may hold a secret.
func TestRedactedURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:9000/hook":                         "http://127.0.0.1:9000/hook",
		"http://alice:s3cret@127.0.0.1:9000/hook":            "http://alice:xxxxx@127.0.0.1:9000/hook",
		"http://127.0.0.1:9000/hook?token=QTOKEN77&x=1":      "http://127.0.0.1:9000/hook?xxxxx",
		"http://alice:s3cret@127.0.0.1:9000/hook?token=QT77": "http://alice:xxxxx@127.0.0.1:9000/hook?xxxxx",
	} {
		if got := redacted(raw); got != want {
			t.Errorf("redacted(%q) = %q, want %q", raw, got, want)
		}
	}
}
