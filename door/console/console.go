// Package console is roster's web console: static HTML, CSS and ES
// modules embedded in the binary and served under /ui/, with / and Nacos'
// /nacos/ redirecting there. The pages call the node's own HTTP APIs (the
// native /v1/ API and the Nacos /nacos/v1/ API) from the browser; the
// package itself reads nothing of the registry. The files need no token;
// the API calls the pages make carry one when ACLs are on.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// file is one embedded file, read once.
type file struct {
	body  []byte
	etag  string
	ctype string
}

// Console serves the embedded console.
type Console struct {
	files map[string]file // by path below static/, "index.html" for the root
}

// New reads the embedded files.
func New() (*Console, error) {
	c := &Console{files: map[string]file{}}
	err := fs.WalkDir(static, "static", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(b)
		}
		c.files[strings.TrimPrefix(p, "static/")] = file{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if _, ok := c.files["index.html"]; !ok {
		return nil, fmt.Errorf("console: index.html is not embedded")
	}
	return c, nil
}

// Routes registers the console's handlers on mux: GET /ui/..., and
// redirects from /, /ui and /nacos/ (where Nacos serves its console).
func (c *Console) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix, c.serve)
	for _, p := range []string{"/{$}", "/ui", "/nacos", "/nacos/{$}"} {
		mux.HandleFunc("GET "+p, redirect)
	}
}

// redirect sends a browser to the console.
func redirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix, http.StatusFound)
}

// securityHeaders keep the pages to their own origin: scripts, styles and
// API calls from the node only, no framing, no referrer.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// serve answers one embedded file; the pages route with the URL's
// fragment, so every path that names no file is index.html.
func (c *Console) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/ui")
	name = strings.TrimPrefix(name, "/")
	f, ok := c.files[name]
	if !ok {
		if path.Ext(name) != "" {
			http.NotFound(w, r)
			return
		}
		f = c.files["index.html"]
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	// Revalidate every time: after an upgrade the node serves new files
	// at the same paths.
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
