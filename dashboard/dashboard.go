// Package dashboard is smsim's web page and its handler: the page at / that
// shows the phones, the orders, the clock, the fault profile and live
// charts, kept up to date over one websocket of the event log
// (GET /ws/events, served by simulator/server). The page shows
// one namespace at a time, the one its URL names (?namespace=NAME, the
// default one without): its requests carry the X-Smsim-Namespace header,
// its websocket ?namespace=, and all it knows of the namespace is one
// object (static/shown.js) that a switch leaves behind for a new one. Its
// namespace field suggests the namespaces in use (GET
// /admin/v1/namespaces), read again whenever the field gets the focus.
//
// The page is plain HTML, CSS and JavaScript modules embedded in the
// binary: nothing to build. It writes every text from the network with
// textContent, and the server sends it under a Content-Security-Policy
// that allows no inline script and no other origin.
//
// The tests drive the page in a headless Chromium (chromedp), and run the
// unit tests of its modules, jstest/*.test.js, with node --test
// (TestJavaScriptUnits; package.json only marks the modules as ES modules
// for Node). Both live outside static/, so nothing of them is embedded.
// Without Chromium or Node.js the tests that need it are skipped, saying
// how to install it; in CI (CI set) they fail.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// AssetPrefix is the path under which the page's scripts, styles and icon
// are served: mount Handler on "GET /{$}" and on "GET "+AssetPrefix+"{file...}".
const AssetPrefix = "/dashboard/"

// CSP is the Content-Security-Policy of the page and its assets: scripts,
// styles, images and connections (the API and the websocket) of this
// origin only, no inline script or style, no plugins, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// assets is the page's tree: index.html and what it loads.
var assets = func() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}()

// HasAsset tells whether the page has a file of that name (as under
// AssetPrefix: "app.js").
func HasAsset(name string) bool {
	if !fs.ValidPath(name) || name == "." {
		return false
	}
	st, err := fs.Stat(assets, name)
	return err == nil && !st.IsDir()
}

// Handler serves the page at / and its assets under AssetPrefix.
func Handler() http.Handler {
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(AssetPrefix, http.FileServerFS(assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		switch {
		case r.URL.Path == "/" || r.URL.Path == AssetPrefix+"index.html":
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.Write(index)
		case strings.HasPrefix(r.URL.Path, AssetPrefix) && !strings.HasSuffix(r.URL.Path, "/"):
			files.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
