package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The OpenAPI 3.1 description of the agent API (/api/v1) and the widget
// API (/api/widget/v1), served at GET /api/openapi.json. It is written
// here in Go, one line per operation, so that shared shapes are written
// once; openapi_test.go checks it against the routes the server
// registers and the answers of a real server.

// schema is a JSON Schema (OpenAPI 3.1 uses JSON Schema 2020-12).
type schema = map[string]any

func ref(name string) schema { return schema{"$ref": "#/components/schemas/" + name} }
func str() schema            { return schema{"type": "string"} }
func dateTime() schema       { return schema{"type": "string", "format": "date-time"} }
func integer() schema        { return schema{"type": "integer"} }
func boolean() schema        { return schema{"type": "boolean"} }
func arrayOf(s schema) schema {
	return schema{"type": "array", "items": s}
}
func enum(values ...string) schema { return schema{"type": "string", "enum": values} }

// orNull lets a value be null as well.
func orNull(s schema) schema {
	if t, ok := s["type"].(string); ok {
		c := schema{}
		for k, v := range s {
			c[k] = v
		}
		c["type"] = []string{t, "null"}
		if e, ok := s["enum"].([]string); ok {
			c["enum"] = append(append([]any{}, toAny(e)...), nil)
		}
		return c
	}
	return schema{"oneOf": []schema{s, {"type": "null"}}}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// field is a property of an object; optional fields may be absent.
type field struct {
	name     string
	s        schema
	optional bool
}

func f(name string, s schema) field   { return field{name: name, s: s} }
func opt(name string, s schema) field { return field{name: name, s: s, optional: true} }

func object(fields ...field) schema {
	props := schema{}
	var required []string
	for _, fl := range fields {
		props[fl.name] = fl.s
		if !fl.optional {
			required = append(required, fl.name)
		}
	}
	o := schema{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// auth is how an operation is authenticated.
type auth int

const (
	public  auth = iota
	agent        // Bearer token (or the dashboard's session cookie)
	admin        // an agent whose role is admin
	visitor      // a visitor token in the query or the body
)

// operation describes one route.
type operation struct {
	route   string // "METHOD /path", as in routes.go
	tag     string
	summary string
	auth    auth
	query   []param
	body    schema // JSON request body (nil: none)
	// multipart: the body is multipart/form-data with one "file" part.
	multipart bool
	status    int    // the success status
	answer    schema // nil: no body (204) or not JSON
	// raw is the content type of a non-JSON answer (a file download).
	raw    string
	errors []int
}

type param struct {
	name     string
	required bool
	s        schema
	desc     string
}

func q(name string, s schema, desc string) param { return param{name: name, s: s, desc: desc} }
func qReq(name string, s schema, desc string) param {
	return param{name: name, s: s, desc: desc, required: true}
}
func visitorTokenParam() param {
	return qReq("visitor_token", str(), "the visitor token from POST /api/widget/v1/session")
}

func components() schema {
	visitorFields := []field{
		f("id", str()), f("name", orNull(str())), f("email", orNull(str())), f("online", boolean()),
		f("left_at", orNull(dateTime())), f("last_active_at", orNull(dateTime())),
		f("email_status", enum("ok", "bouncing", "unsubscribed")),
		opt("email_source", orNull(enum("contact_form", "agent", "conversation", "identity"))),
		opt("locale", orNull(str())), opt("time_zone", orNull(str())),
		opt("page", orNull(ref("Page"))), opt("referrer", orNull(str())),
		opt("browser", orNull(str())), opt("os", orNull(str())),
	}
	agentFields := []field{
		f("id", str()), f("name", str()), f("email", str()),
		opt("role", enum("admin", "agent")), opt("status", enum("online", "invisible", "offline")),
		opt("status_source", enum("agent", "away_timer")), opt("avatar_url", orNull(str())),
	}
	widgetLook := object(opt("color", str()), opt("position", enum("right", "left")), opt("greeting", str()), opt("away_message", str()))
	// The widget's answers say too whether the away note is the workspace's.
	shownLook := object(opt("color", str()), opt("position", enum("right", "left")), opt("greeting", str()), opt("away_message", str()), opt("away_custom", boolean()))
	return schema{
		"Error":   object(f("error", object(f("code", str()), f("message", str())))),
		"Agent":   object(agentFields...),
		"Me":      object(append(agentFields, f("workspace_id", str()))...),
		"Visitor": object(visitorFields...),
		"Page":    object(f("url", str()), f("title", str()), f("at", dateTime())),
		"Conversation": object(
			f("id", str()), f("status", enum("open", "closed")),
			f("channel", enum("website", "email", "messenger", "instagram")),
			f("visitor", ref("Visitor")), f("created_at", dateTime()), f("last_message_at", dateTime()),
			opt("unread", integer()), opt("last_message", str()),
			opt("forwarding", object(f("code", str()), f("reason", str()), f("due_at", orNull(dateTime())))),
			opt("assignee", orNull(object(f("id", str()), f("name", str())))),
			f("tags", arrayOf(str())),
		),
		"Message": object(
			f("id", str()), f("conversation_id", str()),
			f("author", object(f("kind", enum("visitor", "agent", "system")), f("id", orNull(str())), f("name", orNull(str())), opt("avatar_url", str()))),
			f("kind", enum("reply", "comment", "event")),
			f("channel", enum("widget", "email", "messenger", "instagram", "dashboard")),
			f("body", str()), f("created_at", dateTime()), f("read_by_visitor_at", orNull(dateTime())),
			f("forwarded", orNull(object(f("to", str()), f("at", dateTime()), f("status", enum("queued", "sent", "failed", "bounced"))))),
			opt("client_id", str()),
			opt("attachments", arrayOf(ref("Attachment"))),
			opt("delivery", object(f("status", enum("queued", "sent", "delivered", "failed")), opt("error", str()), opt("tag", str()))),
			opt("asks_email", boolean()),
		),
		"Attachment": object(f("id", str()), f("filename", str()), f("content_type", str()), f("size", integer()), opt("url", str())),
		"Settings": object(
			f("email_forwarding", enum("off", "unread", "transcript")),
			f("contact_form", object(f("offline_requires_form", boolean()), f("online", enum("off", "optional", "required")))),
			opt("workspace_name", str()), opt("time_zone", str()), opt("widget", widgetLook),
			opt("default_locale", enum("en", "fr", "de", "es", "it", "pt", "nl")),
			opt("identity_verification", boolean()), opt("retention_days", integer()),
			opt("typing_preview", boolean()), opt("auto_assign", boolean()), opt("auto_assign_limit", integer()),
		),
		"WidgetLook": widgetLook,
		"ShownLook":  shownLook,
		"ContinuityCounts": object(
			f("conversations", integer()),
			f("identified", object(f("contact_form", integer()), f("agent", integer()), f("conversation", integer()), f("identity", integer()), f("unknown", integer()))),
			f("identified_total", integer()),
			f("emails", object(f("sent", integer()), f("bounced", integer()), f("unsubscribed", integer()))),
			f("answered_by_email", integer()), f("returned_to_widget", integer()),
		),
		"Canned":       object(f("id", str()), f("shortcut", str()), f("body", str())),
		"Webhook":      object(f("id", str()), f("url", str()), f("events", arrayOf(ref("WebhookEvent")))),
		"WebhookEvent": enum("conversation.created", "message.created", "conversation.updated", "email.sent", "email.bounced"),
		"ChannelWindow": object(f("channel", enum("messenger", "instagram")), f("open", boolean()),
			f("last_inbound_at", orNull(dateTime())), f("closes_at", orNull(dateTime())),
			f("human_agent_allowed", boolean()), f("human_agent_allowed_until", orNull(dateTime()))),
		"MetaAccount": schema{"type": "object", "description": "The workspace's Facebook Page and Instagram connection; secrets are write-only (only their last 4 characters are shown)."},
		"Session": object(
			f("visitor_token", str()), f("visitor", ref("Visitor")), f("conversation_id", orNull(str())),
			f("agents_available", boolean()), f("contact_form_required", boolean()),
			opt("contact_form", object(f("offline_requires_form", boolean()), f("online", enum("off", "optional", "required")))),
			opt("workspace_name", str()), opt("locale", str()), opt("widget", shownLook),
		),
	}
}

// operations lists every route of /api/v1 and /api/widget/v1 with its
// contract (spec/api.md, spec/api-1.1.md and docs/api.md).
func operations() []operation {
	conv, msg, vis, att := ref("Conversation"), ref("Message"), ref("Visitor"), ref("Attachment")
	tokenFields := []field{f("id", str()), f("name", str()), f("created_at", dateTime()), f("expires_at", orNull(dateTime())), f("last_used_at", orNull(dateTime()))}
	apiToken, apiTokenMade := object(tokenFields...), object(append(slices.Clone(tokenFields), f("token", str()))...)
	return []operation{
		// Authentication and the agent.
		{route: "POST /api/v1/auth/login", tag: "agents", summary: "Log in; the token goes in Authorization: Bearer TOKEN", auth: public,
			body:   object(f("email", str()), f("password", str())),
			status: 200, answer: object(f("token", str()), f("expires_at", dateTime()), f("agent", ref("Agent"))), errors: []int{400, 401, 429}},
		{route: "POST /api/v1/auth/logout", tag: "agents", summary: "Log out: the login's token stops working (an API token is refused: revoke it instead)", auth: agent, status: 204, errors: []int{400}},
		{route: "GET /api/v1/me", tag: "agents", summary: "The agent the token belongs to", auth: agent, status: 200, answer: ref("Me")},
		{route: "PUT /api/v1/me/status", tag: "agents", summary: "Set the agent's status", auth: agent,
			body: object(f("status", enum("online", "invisible", "offline"))), status: 200, answer: ref("Me"), errors: []int{400}},
		{route: "PUT /api/v1/me/password", tag: "agents", summary: "Change the agent's password; every other login's token and session stops (API tokens stay)", auth: agent,
			body: object(f("current_password", str()), f("new_password", str())), status: 204, errors: []int{400, 403}},
		{route: "GET /api/v1/me/tokens", tag: "agents", summary: "The agent's API tokens (never their secrets), newest first", auth: agent,
			status: 200, answer: object(f("tokens", arrayOf(apiToken)))},
		{route: "POST /api/v1/me/tokens", tag: "agents", summary: "Make an API token acting as the agent (at most 20); its secret is in this answer alone", auth: agent,
			body:   object(f("password", str()), f("name", str()), opt("expires_in_days", orNull(schema{"type": "integer", "enum": []any{30, 90, 365, 0}}))),
			status: 201, answer: apiTokenMade, errors: []int{400, 403, 429}},
		{route: "DELETE /api/v1/me/tokens/{id}", tag: "agents", summary: "Revoke one of the agent's API tokens, with the live connections opened with it", auth: agent,
			status: 204, errors: []int{404}},
		{route: "GET /api/v1/agents", tag: "agents", summary: "The workspace's agents", auth: agent,
			status: 200, answer: object(f("agents", arrayOf(ref("Agent"))))},
		{route: "POST /api/v1/agents", tag: "agents", summary: "Invite an agent: a single-use link valid 7 days", auth: admin,
			body:   object(f("email", str()), f("name", str()), f("role", enum("admin", "agent"))),
			status: 201, answer: object(f("agent", ref("Agent")), f("invite_url", str())), errors: []int{400, 403, 409}},
		{route: "PATCH /api/v1/agents/{id}", tag: "agents", summary: "Rename an agent or change their role", auth: agent,
			body: object(opt("name", str()), opt("role", enum("admin", "agent"))), status: 200, answer: ref("Agent"), errors: []int{400, 403, 404, 409}},
		{route: "PUT /api/v1/agents/{id}/avatar", tag: "agents", summary: "Set an agent's picture (their own, or any for an admin): PNG, JPEG, WebP or GIF, at most 1 MiB", auth: agent,
			multipart: true, status: 200, answer: ref("Agent"), errors: []int{400, 403, 404, 413, 415}},
		{route: "DELETE /api/v1/agents/{id}/avatar", tag: "agents", summary: "Remove an agent's picture: their initials show again", auth: agent,
			status: 204, errors: []int{403, 404}},
		{route: "DELETE /api/v1/agents/{id}", tag: "agents", summary: "Remove an agent: their tokens and sessions stop, their conversations become unassigned", auth: admin,
			status: 204, errors: []int{403, 404, 409}},
		{route: "GET /api/v1/agents/{id}/tokens", tag: "agents", summary: "An agent's API tokens (never their secrets), newest first: an admin's look at any agent's, an agent's at their own", auth: agent,
			status: 200, answer: object(f("tokens", arrayOf(apiToken))), errors: []int{403, 404}},
		{route: "DELETE /api/v1/agents/{id}/tokens/{token_id}", tag: "agents", summary: "Revoke an agent's API token (an admin: any agent's; an agent: their own), with the live connections opened with it", auth: agent,
			status: 204, errors: []int{403, 404}},

		// Conversations.
		{route: "GET /api/v1/conversations", tag: "conversations", summary: "Conversations, most recent activity first, a page at a time", auth: agent,
			query: []param{
				q("status", enum("open", "closed", "all"), "default open"),
				q("assignee", str(), "me, none or an agent id"),
				q("tag", str(), "only conversations with this tag (in any case)"),
				q("mentioned", enum("me"), "only conversations whose internal notes named the caller (@Name)"),
				q("limit", integer(), "default 50, at most 200"),
				q("cursor", str(), "next_cursor of the previous page"),
			},
			status: 200, answer: object(f("conversations", arrayOf(conv)), f("next_cursor", orNull(str()))), errors: []int{400}},
		{route: "GET /api/v1/conversations/{id}", tag: "conversations", summary: "A conversation", auth: agent, status: 200, answer: conv, errors: []int{404}},
		{route: "GET /api/v1/conversations/{id}/messages", tag: "conversations", summary: "Its messages, oldest first: all of them, or a page with limit, before, after or around", auth: agent,
			query: []param{
				q("limit", integer(), "a page of at most this many (default 50, at most 200); without any paging parameter, the whole history"),
				q("before", str(), "the newest messages older than this message id (the first message of the page shown)"),
				q("after", str(), "the oldest messages newer than this message id (the last message of the page shown)"),
				q("around", str(), "the page holding this message of the conversation (a search result)"),
			},
			status: 200, answer: object(f("messages", arrayOf(msg)), opt("older", boolean()), opt("newer", boolean())), errors: []int{400, 404}},
		{route: "GET /api/v1/conversations/{id}/messages/{message_id}/original", tag: "conversations", summary: "The whole text of an email answer, of which the message holds only the new part", auth: agent,
			status: 200, answer: object(f("message_id", str()), f("conversation_id", str()), f("may_hold_quote", boolean()), f("subject", str()), f("text", str())), errors: []int{404}},
		{route: "POST /api/v1/conversations/{id}/messages", tag: "conversations", summary: "Reply to the visitor, or write an internal comment", auth: agent,
			body:   object(f("body", str()), opt("kind", enum("reply", "comment")), opt("attachment_ids", arrayOf(str()))),
			status: 201, answer: msg, errors: []int{400, 404, 413}},
		{route: "POST /api/v1/conversations/{id}/close", tag: "conversations", summary: "Close it", auth: agent, status: 200, answer: conv, errors: []int{404}},
		{route: "POST /api/v1/conversations/{id}/reopen", tag: "conversations", summary: "Reopen it", auth: agent, status: 200, answer: conv, errors: []int{404}},
		{route: "POST /api/v1/conversations/{id}/read", tag: "conversations", summary: "Mark it read for agents", auth: agent, status: 200, answer: conv, errors: []int{404}},
		{route: "POST /api/v1/conversations/{id}/ask-email", tag: "conversations", summary: "Ask the visitor for their email: a reply in their language, with an email field under it in the widget", auth: agent,
			body: object(opt("locale", str())), status: 201, answer: msg, errors: []int{400, 404, 409}},
		{route: "PUT /api/v1/conversations/{id}/assignee", tag: "conversations", summary: "Assign it to an agent, or to no one", auth: agent,
			body: object(f("agent_id", orNull(str()))), status: 200, answer: conv, errors: []int{400, 404}},
		{route: "PUT /api/v1/conversations/{id}/tags", tag: "conversations", summary: "Replace its tags (at most 10; [] removes them all); any agent may tag", auth: agent,
			body: object(f("tags", arrayOf(str()))), status: 200, answer: conv, errors: []int{400, 404}},
		{route: "GET /api/v1/tags", tag: "conversations", summary: "The workspace's tags in use, with how many open conversations (and conversations in all) have each", auth: agent,
			status: 200, answer: object(f("tags", arrayOf(object(f("name", str()), f("open_conversations", integer()), f("conversations", integer())))))},
		{route: "POST /api/v1/conversations/{id}/typing", tag: "conversations", summary: "The agent is typing (never stored)", auth: agent, status: 204, errors: []int{404}},
		{route: "POST /api/v1/conversations/{id}/uploads", tag: "conversations", summary: "Upload a file to attach to a reply (at most 10 MiB)", auth: agent,
			multipart: true, status: 201, answer: att, errors: []int{400, 404, 413, 415}},
		{route: "GET /api/v1/conversations/{id}/channel", tag: "channels", summary: "The Messenger/Instagram messaging window", auth: agent,
			status: 200, answer: ref("ChannelWindow"), errors: []int{400, 404}},
		{route: "POST /api/v1/conversations/{id}/channel-messages", tag: "channels", summary: "Send a Messenger/Instagram reply, optionally with the HUMAN_AGENT tag", auth: agent,
			body: object(f("body", str()), opt("tag", enum("HUMAN_AGENT"))), status: 201, answer: msg, errors: []int{400, 404, 409}},
		{route: "GET /api/v1/search", tag: "conversations", summary: "Search message bodies, visitor names and emails, newest first", auth: agent,
			query:  []param{qReq("q", str(), "every word must match; the last one as a prefix"), q("limit", integer(), "default 20, at most 100")},
			status: 200, answer: object(f("results", arrayOf(object(f("conversation", conv), f("message_id", orNull(str())), f("snippet", str()),
				f("highlights", arrayOf(arrayOf(integer()))), f("at", dateTime()))))), errors: []int{400}},

		{route: "GET /api/v1/reports/continuity", tag: "reports", summary: "Per day in the workspace's time zone: conversations, identified visitors, forwarded emails and who came back", auth: agent,
			query:  []param{qReq("from", str(), "first day, YYYY-MM-DD"), qReq("to", str(), "last day, YYYY-MM-DD (at most 366 days)")},
			status: 200, answer: object(f("from", str()), f("to", str()), f("time_zone", str()),
				f("days", arrayOf(schema{"allOf": []schema{object(f("date", str())), ref("ContinuityCounts")}})), f("totals", ref("ContinuityCounts"))),
			errors: []int{400}},
		{route: "GET /api/v1/reports/responses", tag: "reports", summary: "Per day the conversations started: how many were answered and closed, and how fast (median and 90th percentile, in seconds); in all; per agent who answered first", auth: agent,
			query:  []param{qReq("from", str(), "first day, YYYY-MM-DD"), qReq("to", str(), "last day, YYYY-MM-DD (at most 366 days)")},
			status: 200, answer: object(f("from", str()), f("to", str()), f("time_zone", str()),
				f("days", arrayOf(schema{"allOf": []schema{object(f("date", str())), responseFigures}})), f("totals", responseFigures),
				f("agents", arrayOf(object(f("id", str()), f("name", str()), f("answered", integer()), f("first_response", durations))))),
			errors: []int{400}},

		// Canned replies.
		{route: "GET /api/v1/canned", tag: "canned", summary: "The workspace's canned replies", auth: agent,
			status: 200, answer: object(f("canned", arrayOf(ref("Canned"))))},
		{route: "POST /api/v1/canned", tag: "canned", summary: "Add a canned reply", auth: agent,
			body: object(f("shortcut", str()), f("body", str())), status: 201, answer: ref("Canned"), errors: []int{400, 409}},
		{route: "PATCH /api/v1/canned/{id}", tag: "canned", summary: "Change a canned reply", auth: agent,
			body: object(opt("shortcut", str()), opt("body", str())), status: 200, answer: ref("Canned"), errors: []int{400, 403, 404, 409}},
		{route: "DELETE /api/v1/canned/{id}", tag: "canned", summary: "Delete a canned reply", auth: agent, status: 204, errors: []int{403, 404}},

		// Visitors.
		{route: "GET /api/v1/visitors/{id}", tag: "visitors", summary: "A visitor", auth: agent, status: 200, answer: vis, errors: []int{404}},
		{route: "PATCH /api/v1/visitors/{id}", tag: "visitors", summary: "Change a visitor's email or name", auth: agent,
			body: object(opt("email", str()), opt("name", str())), status: 200, answer: vis, errors: []int{400, 404}},
		{route: "DELETE /api/v1/visitors/{id}", tag: "visitors", summary: "Erase a visitor: messages, files, pages and unsent emails; reply addresses are refused from then on", auth: admin,
			status: 204, errors: []int{403, 404}},
		{route: "POST /api/v1/visitors/{id}/reset-links", tag: "visitors", summary: "Reset the visitor's links: their visitor token and the links of emails sent so far stop working, and their open widgets are closed", auth: agent,
			status: 204, errors: []int{404}},
		{route: "GET /api/v1/visitors/{id}/pages", tag: "visitors", summary: "The last 50 pages the visitor viewed", auth: agent,
			status: 200, answer: object(f("pages", arrayOf(ref("Page")))), errors: []int{404}},
		{route: "GET /api/v1/visitors/{id}/export", tag: "visitors", summary: "Everything kept about a visitor, in one JSON document", auth: admin,
			status: 200, answer: object(f("visitor", vis), f("conversations", arrayOf(conv)), f("messages", arrayOf(msg)), f("pages", arrayOf(ref("Page"))), f("attachments", arrayOf(att))), errors: []int{403, 404}},

		// Settings and the workspace.
		{route: "GET /api/v1/settings", tag: "settings", summary: "The workspace's settings", auth: agent, status: 200, answer: ref("Settings")},
		{route: "PUT /api/v1/settings", tag: "settings", summary: "Change settings (a subset may be sent)", auth: admin,
			body: ref("Settings"), status: 200, answer: ref("Settings"), errors: []int{400, 403}},
		{route: "GET /api/v1/settings/identity-secret", tag: "settings", summary: "The identity verification secret", auth: admin,
			status: 200, answer: object(f("secret", str())), errors: []int{403}},
		{route: "POST /api/v1/settings/identity-secret", tag: "settings", summary: "Make a new identity verification secret", auth: admin,
			status: 200, answer: object(f("secret", str())), errors: []int{403}},
		{route: "GET /api/v1/attachments/{id}", tag: "conversations", summary: "Download a file, always as an attachment", auth: agent,
			status: 200, raw: "application/octet-stream", errors: []int{404}},
		{route: "GET /api/v1/channels/meta", tag: "channels", summary: "The Messenger/Instagram connection", auth: agent, status: 200, answer: ref("MetaAccount"), errors: []int{404}},
		{route: "PUT /api/v1/channels/meta", tag: "channels", summary: "Connect or change the Page and Instagram account", auth: admin,
			body: ref("MetaAccount"), status: 200, answer: ref("MetaAccount"), errors: []int{400, 403}},
		{route: "DELETE /api/v1/channels/meta", tag: "channels", summary: "Disconnect Messenger and Instagram", auth: admin, status: 204, errors: []int{403}},

		// Webhooks.
		{route: "GET /api/v1/webhooks", tag: "webhooks", summary: "The workspace's webhooks", auth: admin,
			status: 200, answer: object(f("webhooks", arrayOf(ref("Webhook")))), errors: []int{403}},
		{route: "POST /api/v1/webhooks", tag: "webhooks", summary: "Add a webhook; its signing secret is shown only in this answer", auth: admin,
			body:   object(f("url", str()), f("events", arrayOf(ref("WebhookEvent")))),
			status: 201, answer: object(f("webhook", ref("Webhook")), f("secret", str())), errors: []int{400, 403}},
		{route: "DELETE /api/v1/webhooks/{id}", tag: "webhooks", summary: "Delete a webhook", auth: admin, status: 204, errors: []int{403, 404}},
		{route: "POST /api/v1/webhooks/{id}/enable", tag: "webhooks", summary: "Enable again a webhook disabled after failing for 24 hours", auth: admin, status: 204, errors: []int{403, 404}},
		{route: "GET /api/v1/webhooks/{id}/deliveries", tag: "webhooks", summary: "The last 100 delivery attempts", auth: admin,
			status: 200, answer: object(f("deliveries", arrayOf(object(f("id", str()), f("event_id", str()), f("event_type", ref("WebhookEvent")), f("at", dateTime()),
				f("status_code", orNull(integer())), f("ok", boolean()), opt("error", str()), opt("excerpt", str()), f("duration_ms", integer()))))), errors: []int{403, 404}},

		{route: "GET /api/v1/ws", tag: "realtime", summary: "WebSocket: the workspace's events ({\"type\",\"data\"}) pushed to the agent", auth: agent,
			query: []param{q("token", str(), "the agent's token, for clients that cannot set a header")}, status: 101, errors: []int{401}},

		// The widget.
		{route: "POST /api/widget/v1/session", tag: "widget", summary: "Start or resume a visitor's session", auth: public,
			body: object(f("site_key", str()), opt("visitor_token", str()), opt("page_url", str()), opt("page_title", str()), opt("referrer", str()),
				opt("locale", str()), opt("time_zone", str()),
				opt("identity", object(f("user_id", str()), f("email", str()), opt("name", str()), f("hash", str()))),
				opt("continue_link", str())),
			status: 200, answer: ref("Session"), errors: []int{400, 401, 404, 429}},
		{route: "GET /api/widget/v1/look", tag: "widget", summary: "The site's widget look and language before any session (creates no visitor; cacheable)", auth: public,
			query:  []param{qReq("site_key", str(), "the site key of the widget snippet"), q("locale", str(), "the page's language (BCP 47); else Accept-Language, else the workspace's default_locale")},
			status: 200, answer: object(f("locale", str()), f("widget", ref("ShownLook"))), errors: []int{404}},
		{route: "POST /api/widget/v1/token/rotate", tag: "widget", summary: "Reset the visitor's links from the widget: the token sent and the links of emails sent so far stop working; the answer carries the new token", auth: visitor,
			body: object(f("visitor_token", str())), status: 200, answer: object(f("visitor_token", str())), errors: []int{400, 401}},
		{route: "GET /api/widget/v1/messages", tag: "widget", summary: "The visitor's public messages (without WebSocket)", auth: visitor,
			query: []param{visitorTokenParam()}, status: 200, answer: object(f("messages", arrayOf(msg)), opt("seen_id", str())), errors: []int{400, 401}},
		{route: "POST /api/widget/v1/messages", tag: "widget", summary: "The visitor writes (without WebSocket); client_id makes a resend idempotent", auth: visitor,
			body:   object(f("visitor_token", str()), f("body", str()), f("client_id", str()), opt("attachment_ids", arrayOf(str()))),
			status: 201, answer: msg, errors: []int{400, 401, 403, 429}},
		{route: "POST /api/widget/v1/uploads", tag: "widget", summary: "Upload a file for the visitor's next message (at most 10 MiB)", auth: visitor,
			query: []param{visitorTokenParam()}, multipart: true, status: 201, answer: att, errors: []int{400, 401, 413, 415, 429}},
		{route: "GET /api/widget/v1/attachments/{id}", tag: "widget", summary: "Download a file of the visitor's own conversation", auth: visitor,
			query: []param{visitorTokenParam()}, status: 200, raw: "application/octet-stream", errors: []int{401, 404}},
		{route: "GET /api/widget/v1/avatars/{id}", tag: "widget", summary: "An agent's picture (the avatar_url of Agent and of a message's author); never changes, cached for good", auth: public,
			status: 200, raw: "image/*", errors: []int{404}},
		{route: "GET /api/widget/v1/ws", tag: "widget", summary: "WebSocket: the visitor's live connection (frames in spec/api.md)", auth: visitor,
			query: []param{visitorTokenParam()}, status: 101, errors: []int{400, 401}},
	}
}

// durations and responseFigures are the shapes of the response-times
// report (chat.Durations, chat.ResponseFigures).
var (
	durations       = object(f("median_seconds", orNull(integer())), f("p90_seconds", orNull(integer())))
	responseFigures = object(f("conversations", integer()), f("answered", integer()), f("first_response", durations),
		f("closed", integer()), f("resolution", durations))
)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPIDocument builds the document.
func openAPIDocument(version string) schema {
	paths := schema{}
	for _, o := range operations() {
		method, path, _ := strings.Cut(o.route, " ")
		item, _ := paths[path].(schema)
		if item == nil {
			item = schema{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = o.document()
	}
	return schema{
		"openapi": "3.1.0",
		"info": schema{
			"title":       "Parley",
			"version":     version,
			"description": "The agent API (/api/v1) and the widget API (/api/widget/v1) of Parley, a self-hosted live chat. JSON is snake_case, times are RFC 3339 UTC, ids are opaque. Every agent call is scoped to the agent's workspace: another workspace's ids answer 404. Errors are {\"error\":{\"code\",\"message\"}}; a rate limit answers 429 rate_limited with Retry-After.",
			"license":     schema{"name": "See the project's repository"},
		},
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"servers":           []schema{{"url": "/"}},
		"tags": []schema{
			{"name": "agents"}, {"name": "conversations"}, {"name": "canned"}, {"name": "visitors"},
			{"name": "settings"}, {"name": "channels"}, {"name": "webhooks"}, {"name": "reports"}, {"name": "realtime"}, {"name": "widget"},
		},
		"paths": paths,
		"components": schema{
			"schemas": components(),
			"securitySchemes": schema{
				"bearer":  schema{"type": "http", "scheme": "bearer", "description": "The token of POST /api/v1/auth/login."},
				"session": schema{"type": "apiKey", "in": "cookie", "name": sessionCookie, "description": "The dashboard's session (state-changing calls also need its CSRF token)."},
			},
			"responses": schema{
				"Error": schema{"description": "An error", "content": schema{"application/json": schema{"schema": ref("Error")}}},
			},
		},
	}
}

func (o operation) document() schema {
	_, path, _ := strings.Cut(o.route, " ")
	id := operationID(o.route)
	op := schema{"operationId": id, "summary": o.summary, "tags": []string{o.tag}}
	var params []schema
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		params = append(params, schema{"name": m[1], "in": "path", "required": true, "schema": str()})
	}
	for _, p := range o.query {
		ps := schema{"name": p.name, "in": "query", "required": p.required, "schema": p.s}
		if p.desc != "" {
			ps["description"] = p.desc
		}
		params = append(params, ps)
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	switch {
	case o.multipart:
		op["requestBody"] = schema{"required": true, "content": schema{"multipart/form-data": schema{
			"schema": object(f("file", schema{"type": "string", "contentMediaType": "application/octet-stream"}))}}}
	case o.body != nil:
		op["requestBody"] = schema{"required": true, "content": schema{"application/json": schema{"schema": o.body}}}
	}
	switch o.auth {
	case agent:
		op["security"] = []schema{{"bearer": []string{}}, {"session": []string{}}}
	case admin:
		op["security"] = []schema{{"bearer": []string{}}, {"session": []string{}}}
		op["description"] = "Admins only: an agent whose role is agent gets 403 forbidden."
	case public, visitor:
		op["security"] = []schema{}
	}
	ok := schema{"description": http.StatusText(o.status)}
	switch {
	case o.status == http.StatusSwitchingProtocols:
		ok["description"] = "Switching Protocols: a WebSocket of JSON text frames"
	case o.answer != nil:
		ok["content"] = schema{"application/json": schema{"schema": o.answer}}
	case o.raw != "":
		ok["content"] = schema{o.raw: schema{"schema": schema{"type": "string", "contentMediaType": o.raw}}}
	}
	responses := schema{strconv.Itoa(o.status): ok}
	errs := append([]int(nil), o.errors...)
	if o.auth != public {
		errs = append(errs, http.StatusUnauthorized)
	}
	errs = append(errs, http.StatusInternalServerError)
	sort.Ints(errs)
	for _, code := range errs {
		responses[strconv.Itoa(code)] = schema{"$ref": "#/components/responses/Error"}
	}
	op["responses"] = responses
	return op
}

// operationID makes "getApiV1ConversationsById" style ids from a route.
func operationID(route string) string {
	method, path, _ := strings.Cut(route, " ")
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '-' }) {
		by := strings.HasPrefix(part, "{")
		part = strings.Trim(part, "{}")
		if by {
			b.WriteString("By")
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// openAPI serves GET /api/openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	s.openapiOnce.Do(func() {
		s.openapiJSON, s.openapiErr = json.MarshalIndent(openAPIDocument(s.opts.Version), "", "  ")
	})
	if s.openapiErr != nil {
		s.log.Error("encode the OpenAPI document", "err", s.openapiErr)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.openapiJSON)
}
