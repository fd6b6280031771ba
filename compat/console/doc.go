// Package console tests roster's web console (door/console) in a real
// browser: chromedp drives a headless Chromium against in-process roster
// agents (agent/agenttest), and the tests compare what the pages show with
// what the HTTP API answers, act through the pages and check the result
// through the API. It is a nested module so chromedp stays out of
// roster's go.mod.
//
// Chromium is found as $ROSTER_CHROMIUM, or chromium, chromium-browser or
// google-chrome on the PATH; .ci/run installs Debian's chromium when it is
// missing. `go test -screenshots DIR` also writes the README's
// screenshots to DIR (make screenshots).
package console
