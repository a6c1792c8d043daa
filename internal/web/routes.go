package web

import (
	"net/http"
	"strings"

	"github.com/parleychat/parley/internal/channels/meta"
)

// routes maps every URL to its handler, so that any handler is found from
// its URL here. A new page or endpoint adds its lines to the group it
// belongs to, and its handlers in the file named after it.
func (s *Server) routes() {
	m := routeTable{s}
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("GET /api/openapi.json", s.openAPI) // openapi.go: describes every route of /api/v1 and /api/widget/v1

	// Agent API (api.go).
	m.HandleFunc("POST /api/v1/auth/login", s.login)
	m.HandleFunc("POST /api/v1/auth/logout", s.agent(s.logout))
	m.HandleFunc("GET /api/v1/me", s.agent(s.me))
	m.HandleFunc("PUT /api/v1/me/status", s.agent(s.putStatus))
	m.HandleFunc("GET /api/v1/conversations", s.agent(s.listConversations))
	m.HandleFunc("GET /api/v1/conversations/{id}", s.agent(s.getConversation))
	m.HandleFunc("GET /api/v1/conversations/{id}/messages", s.agent(s.listMessages))
	m.HandleFunc("GET /api/v1/conversations/{id}/messages/{message_id}/original", s.agent(s.apiEmailOriginal)) // original.go
	m.HandleFunc("POST /api/v1/conversations/{id}/messages", s.agent(s.postMessage))
	m.HandleFunc("POST /api/v1/conversations/{id}/close", s.agent(s.closeConversation))
	m.HandleFunc("POST /api/v1/conversations/{id}/reopen", s.agent(s.reopenConversation))
	m.HandleFunc("POST /api/v1/conversations/{id}/read", s.agent(s.readConversation))
	m.HandleFunc("POST /api/v1/conversations/{id}/ask-email", s.agent(s.askEmail))          // askemail.go
	m.HandleFunc("GET /api/v1/reports/continuity", s.agent(reportAPI(s, s.svc.Continuity))) // report.go
	m.HandleFunc("GET /api/v1/reports/responses", s.agent(reportAPI(s, s.svc.Responses)))   // report.go
	m.HandleFunc("PUT /api/v1/conversations/{id}/assignee", s.agent(s.putAssignee))         // assign.go
	m.HandleFunc("PUT /api/v1/conversations/{id}/tags", s.agent(s.putTags))                 // tags.go
	m.HandleFunc("GET /api/v1/tags", s.agent(s.listTags))
	m.HandleFunc("POST /api/v1/conversations/{id}/typing", s.agent(s.postTyping)) // typing.go
	m.HandleFunc("GET /api/v1/canned", s.agent(s.listCanned))                     // canned.go
	m.HandleFunc("POST /api/v1/canned", s.agent(s.createCanned))
	m.HandleFunc("PATCH /api/v1/canned/{id}", s.agent(s.patchCanned))
	m.HandleFunc("DELETE /api/v1/canned/{id}", s.agent(s.deleteCanned))
	m.HandleFunc("GET /api/v1/visitors/{id}", s.agent(s.getVisitor))
	m.HandleFunc("PATCH /api/v1/visitors/{id}", s.agent(s.patchVisitor))
	m.HandleFunc("POST /api/v1/visitors/{id}/reset-links", s.agent(s.resetVisitorLinks))
	m.HandleFunc("GET /api/v1/visitors/{id}/export", s.agent(s.exportVisitor)) // privacy.go
	m.HandleFunc("DELETE /api/v1/visitors/{id}", s.agent(s.eraseVisitor))
	m.HandleFunc("GET /api/v1/visitors/{id}/pages", s.agent(s.visitorPages)) // typing.go
	m.HandleFunc("GET /api/v1/settings", s.agent(s.getSettings))
	m.HandleFunc("PUT /api/v1/settings", s.agent(s.putSettings))
	m.HandleFunc("GET /api/v1/settings/identity-secret", s.agent(s.getIdentitySecret)) // identity.go
	m.HandleFunc("POST /api/v1/settings/identity-secret", s.agent(s.rotateIdentitySecret))
	m.HandleFunc("GET /api/v1/attachments/{id}", s.agent(s.attachment)) // uploads.go
	m.HandleFunc("POST /api/v1/conversations/{id}/uploads", s.agent(s.agentUpload))
	m.HandleFunc("GET /api/v1/agents", s.agent(s.listAgents)) // agents.go
	m.HandleFunc("POST /api/v1/agents", s.agent(s.postAgent))
	m.HandleFunc("PATCH /api/v1/agents/{id}", s.agent(s.patchAgent))
	m.HandleFunc("DELETE /api/v1/agents/{id}", s.agent(s.deleteAgent))
	m.HandleFunc("GET /api/v1/agents/{id}/tokens", s.agent(s.listAgentAPITokens)) // apitokens.go
	m.HandleFunc("DELETE /api/v1/agents/{id}/tokens/{token_id}", s.agent(s.deleteAgentAPIToken))
	m.HandleFunc("PUT /api/v1/agents/{id}/avatar", s.agent(s.putAvatar)) // avatars.go
	m.HandleFunc("DELETE /api/v1/agents/{id}/avatar", s.agent(s.deleteAvatar))
	m.HandleFunc("PUT /api/v1/me/password", s.agent(s.putPassword)) // account.go
	m.HandleFunc("GET /api/v1/me/tokens", s.agent(s.listAPITokens)) // apitokens.go
	m.HandleFunc("POST /api/v1/me/tokens", s.agent(s.createAPIToken))
	m.HandleFunc("DELETE /api/v1/me/tokens/{id}", s.agent(s.deleteAPIToken))
	m.HandleFunc("GET /api/v1/search", s.agent(s.search)) // search.go
	m.HandleFunc("GET /api/v1/ws", s.agentWS)             // ws.go
	m.HandleFunc("POST /api/inbound/v1/mime", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.InboundHook == nil {
			writeError(w, http.StatusNotFound, "not_found", "the inbound mail endpoint is off (PARLEY_INBOUND_SECRET is empty)")
			return
		}
		s.opts.InboundHook.ServeHTTP(w, r)
	})

	// Webhooks (webhooks.go).
	m.HandleFunc("GET /api/v1/webhooks", s.agent(s.listWebhooks))
	m.HandleFunc("POST /api/v1/webhooks", s.agent(s.createWebhook))
	m.HandleFunc("DELETE /api/v1/webhooks/{id}", s.agent(s.deleteWebhook))
	m.HandleFunc("POST /api/v1/webhooks/{id}/enable", s.agent(s.enableWebhook))
	m.HandleFunc("GET /api/v1/webhooks/{id}/deliveries", s.agent(s.webhookDeliveries))

	// Messenger and Instagram (channels.go).
	m.HandleFunc("GET "+meta.WebhookPath, s.metaVerify)
	m.HandleFunc("POST "+meta.WebhookPath, s.metaWebhook)
	m.HandleFunc("GET /api/v1/conversations/{id}/channel", s.agent(s.getChannelWindow))
	m.HandleFunc("POST /api/v1/conversations/{id}/channel-messages", s.agent(s.postChannelMessage))
	m.HandleFunc("GET /api/v1/channels/meta", s.agent(s.getMetaAccount))
	m.HandleFunc("PUT /api/v1/channels/meta", s.agent(s.adminAPI(s.putMetaAccount)))
	m.HandleFunc("DELETE /api/v1/channels/meta", s.agent(s.adminAPI(s.deleteMetaAccount)))

	// Widget API (widget.go, ws.go).
	m.HandleFunc("POST /api/widget/v1/session", s.widgetSession)
	m.HandleFunc("GET /api/widget/v1/look", s.widgetLook)
	m.HandleFunc("POST /api/widget/v1/token/rotate", s.widgetRotateToken)
	m.HandleFunc("OPTIONS /api/widget/v1/", s.widgetPreflight)
	m.HandleFunc("GET /api/widget/v1/messages", s.widgetMessages)
	m.HandleFunc("POST /api/widget/v1/messages", s.widgetPost)
	m.HandleFunc("GET /api/widget/v1/ws", s.widgetWS)
	m.HandleFunc("POST /api/widget/v1/uploads", s.widgetUpload) // uploads.go
	m.HandleFunc("GET /api/widget/v1/attachments/{id}", s.widgetAttachment)
	m.HandleFunc("GET /api/widget/v1/avatars/{id}", s.avatar) // avatars.go
	m.HandleFunc("GET /widget.js", s.widgetJS)
	m.HandleFunc("GET /widget/{file}", s.widgetVersioned)
	m.HandleFunc("GET /demo", s.demo)

	// Links in forwarded emails (links.go).
	m.HandleFunc("GET /chat/{token}", s.chatLink)
	m.HandleFunc("GET /unsubscribe/{token}", s.unsubscribeForm)
	m.HandleFunc("POST /unsubscribe/{token}", s.unsubscribe)
	m.HandleFunc("GET /files/{link}", s.emailedFile) // uploads.go
	m.HandleFunc("GET /email-change/undo/{token}", s.undoEmailForm)
	m.HandleFunc("POST /email-change/undo/{token}", s.undoEmail)
	m.HandleFunc("GET /email-opt-in/{token}", s.optInForm)
	m.HandleFunc("POST /email-opt-in/{token}", s.optIn)

	// Dashboard: s.dash wraps a page, s.dashPartial a fragment (session.go).
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	})
	m.HandleFunc("GET /dashboard/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	})
	// A page of the dashboard that does not exist: with the top bar.
	m.HandleFunc("GET /dashboard/", s.dash(s.dashNotFound))    // pages.go
	m.HandleFunc("GET /dashboard/static/{file}", s.dashStatic) // assets.go
	m.HandleFunc("GET /favicon.ico", s.favicon)                // static.go
	m.HandleFunc("GET /dashboard/login", s.dashLoginPage)      // session.go
	m.HandleFunc("POST /dashboard/login", s.dashLogin)
	m.HandleFunc("POST /dashboard/logout", s.dash(s.dashLogout))
	m.HandleFunc("POST /dashboard/status", s.dash(s.dashStatus)) // status.go

	m.HandleFunc("GET /dashboard", s.dash(s.dashInbox)) // inbox.go
	m.HandleFunc("GET /dashboard/partials/list", s.dashPartial(s.dashListPartial))
	m.HandleFunc("GET /dashboard/partials/away", s.dashPartial(s.dashAwayPartial)) // status.go

	m.HandleFunc("GET /dashboard/conversations/{id}", s.dash(s.dashConversation))                                 // conversation.go
	m.HandleFunc("GET /dashboard/conversations/{id}/messages/{message_id}/original", s.dash(s.dashEmailOriginal)) // original.go
	m.HandleFunc("POST /dashboard/conversations/{id}/messages", s.dash(s.dashPostMessage))
	m.HandleFunc("POST /dashboard/conversations/bulk", s.dash(s.dashBulk)) // bulk.go
	m.HandleFunc("GET /dashboard/conversations/bulk", s.dash(s.dashBulkPage))
	m.HandleFunc("POST /dashboard/conversations/{id}/close", s.dash(s.dashClose))
	m.HandleFunc("POST /dashboard/conversations/{id}/reopen", s.dash(s.dashReopen))
	m.HandleFunc("POST /dashboard/conversations/{id}/ask-email", s.dash(s.dashAskEmail)) // askemail.go
	m.HandleFunc("POST /dashboard/visitors/{id}", s.dash(s.dashUpdateVisitor))
	m.HandleFunc("POST /dashboard/visitors/{id}/reset-links", s.dash(s.dashResetLinks))
	m.HandleFunc("GET /dashboard/visitors/{id}/erase", s.dash(s.dashEraseVisitorPage)) // privacy.go
	m.HandleFunc("POST /dashboard/visitors/{id}/erase", s.dash(s.dashEraseVisitor))
	m.HandleFunc("GET /dashboard/partials/conversation/{id}", s.dashPartial(s.dashConversationPartial))
	m.HandleFunc("GET /dashboard/partials/messages/{id}", s.dashPartial(s.dashMessagesPartial))
	m.HandleFunc("POST /dashboard/conversations/{id}/assignee", s.dash(s.dashAssign)) // assign.go
	m.HandleFunc("POST /dashboard/conversations/{id}/tags", s.dash(s.dashAddTag))     // tags.go
	m.HandleFunc("POST /dashboard/conversations/{id}/tags/remove", s.dash(s.dashRemoveTag))

	m.HandleFunc("GET /dashboard/search", s.dash(s.dashSearch))                 // search.go
	m.HandleFunc("GET /dashboard/reports/continuity", s.dash(s.dashContinuity)) // report.go
	m.HandleFunc("GET /dashboard/reports/responses", s.dash(s.dashResponses))   // responses.go
	// The reports' address, typed or kept from the menu: its one report.
	m.Handle("GET /dashboard/reports", http.RedirectHandler("/dashboard/reports/continuity", http.StatusSeeOther))

	m.HandleFunc("GET /dashboard/settings", s.dash(s.dashSettings)) // settings.go
	m.HandleFunc("POST /dashboard/settings", s.dash(s.dashSaveSettings))
	m.HandleFunc("POST /dashboard/settings/identity-secret", s.dash(s.adminPage(s.dashRotateIdentitySecret))) // settings_identity.go
	m.HandleFunc("GET /dashboard/settings/canned", s.dash(s.dashCanned))                                      // canned.go
	m.HandleFunc("POST /dashboard/settings/canned", s.dash(s.dashCreateCanned))
	m.HandleFunc("POST /dashboard/settings/canned/{id}", s.dash(s.dashUpdateCanned))
	m.HandleFunc("POST /dashboard/settings/canned/{id}/delete", s.dash(s.dashDeleteCanned))

	m.HandleFunc("GET /dashboard/settings/channels", s.dash(s.dashChannels)) // settings_channels.go
	m.HandleFunc("POST /dashboard/settings/channels", s.dash(s.adminPage(s.dashConnectChannel)))
	m.HandleFunc("POST /dashboard/settings/channels/disconnect", s.dash(s.adminPage(s.dashDisconnectChannel)))

	m.HandleFunc("GET /dashboard/settings/agents", s.dash(s.dashAgents)) // agents.go
	m.HandleFunc("POST /dashboard/settings/agents", s.dash(s.dashInviteAgent))
	m.HandleFunc("POST /dashboard/settings/agents/{id}/role", s.dash(s.dashChangeRole))
	m.HandleFunc("POST /dashboard/settings/agents/{id}/invite", s.dash(s.dashRenewInvite))
	m.HandleFunc("POST /dashboard/settings/agents/{id}/remove", s.dash(s.dashRemoveAgent))
	m.HandleFunc("POST /dashboard/settings/agents/{id}/tokens/{token_id}/revoke", s.dash(s.dashRevokeAgentAPIToken)) // apitokens.go

	m.HandleFunc("GET /dashboard/settings/account", s.dash(s.dashAccount)) // account.go
	m.HandleFunc("POST /dashboard/settings/account/name", s.dash(s.dashSaveName))
	m.HandleFunc("POST /dashboard/settings/account/password", s.dash(s.dashChangePassword))
	m.HandleFunc("POST /dashboard/settings/account/tokens", s.dash(s.dashCreateAPIToken)) // apitokens.go
	m.HandleFunc("POST /dashboard/settings/account/tokens/{id}/revoke", s.dash(s.dashRevokeAPIToken))
	m.HandleFunc("POST /dashboard/settings/account/avatar/remove", s.dash(s.dashRemoveAvatar)) // avatars.go

	// The invitation link (invite.go).
	m.HandleFunc("GET /invite/{token}", s.invitePage)
	m.HandleFunc("POST /invite/{token}", s.acceptInvite)

	m.HandleFunc("GET /dashboard/settings/integrations", s.dash(s.dashIntegrations)) // webhooks.go
	m.HandleFunc("POST /dashboard/settings/integrations", s.dash(s.dashCreateWebhook))
	m.HandleFunc("POST /dashboard/settings/integrations/{id}/delete", s.dash(s.dashDeleteWebhook))
	m.HandleFunc("POST /dashboard/settings/integrations/{id}/enable", s.dash(s.dashEnableWebhook))

	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if allow := s.otherMethods(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
				"this endpoint takes "+strings.Join(allow, ", ")+", not "+r.Method)
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	m.HandleFunc("/", s.notFoundPage) // pages.go
}

// otherMethods lists the methods a route of the API takes at r's path
// when r's own is not one of them (the catch-all "/api/" took r): such a
// request is answered 405 with them, not 404 as for a path nobody serves.
func (s *Server) otherMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		other := r.Clone(r.Context())
		other.Method = m
		if _, pattern := s.mux.Handler(other); pattern != "" && pattern != "/api/" {
			allow = append(allow, m)
		}
	}
	return allow
}
