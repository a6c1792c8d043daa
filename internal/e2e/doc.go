// Package e2e holds Parley's browser end-to-end tests: a real Parley started
// in-process (apptest) driven through the visitor widget and the agent
// dashboard in headless Chromium (chromedp).
//
// The browser is /usr/bin/chromium, or the one named by PARLEY_CHROMIUM.
// Without it the tests skip, unless CI=true, where they fail.
package e2e
