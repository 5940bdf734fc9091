// Package dashboard serves smsim's web page: for now a page that says what
// is running and where the API is.
package dashboard

import (
	_ "embed"
	"net/http"
)

//go:embed index.html
var index []byte

// Handler serves the page.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Write(index)
	})
}
