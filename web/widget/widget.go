// Package widget embeds the visitor chat widget and the demo page served by Parley.
package widget

import _ "embed"

// JS is widget.js, the dependency-free visitor chat widget, as written
// (Parley serves it minified).
//
//go:embed widget.js
var JS []byte

// DemoHTML is the demo page, an html/template executed with the fields
// PublicURL and SiteKey.
//
//go:embed demo.html
var DemoHTML string
