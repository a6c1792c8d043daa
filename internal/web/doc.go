// Package web serves Parley over HTTP: the agent API, the widget API, their
// WebSocket endpoints, the dashboard pages and the embedded assets. Handlers
// translate HTTP to calls on the chat service and back; they hold no rules.
//
// Where things are:
//
//	server.go             the Server, its options and shutdown
//	routes.go             every URL and its handler
//	errors.go             errors → answers (status, code, message), and one
//	                      responder per kind: JSON, page, fragment, frame
//	json.go               reading and writing JSON bodies
//	api.go                the agent API
//	widget.go, ws.go      the widget API and both WebSocket endpoints
//	channels.go           Meta's webhook and the Messenger/Instagram API
//	links.go              pages reached from forwarded emails
//
// The dashboard:
//
//	session.go            login, logout, the session cookie and CSRF checks
//	render.go             templates and the error page
//	views.go              view models shared by pages, times, names, links
//	assets.go             precompressed assets: gzip/brotli by Accept-Encoding, ETags
//	static.go             the embedded dashboard scripts and styles
//	inbox.go              /dashboard and its list partial
//	conversation.go       /dashboard/conversations/{id}, its forms and partial
//	status.go             the agent's status switch
//	settings.go           /dashboard/settings
//	settings_channels.go  /dashboard/settings/channels
//
// A new dashboard page is a file of its own named after its URL, holding its
// handlers and its view model, with a template in templates/ and its routes
// in routes.go; it answers failures with failPage (or failFragment for a
// partial), and a refused form shows the page again with answerOf(err).text().
// A new API endpoint goes beside its resource's others (api.go, or a file
// named after the resource) and answers failures with fail. A new domain
// error code whose status is not 400 adds one line to statusOfCode.
package web
