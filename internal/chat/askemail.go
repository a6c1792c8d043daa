package chat

import (
	"context"
	"strings"

	"github.com/parleychat/parley/internal/model"
)

// askEmailTexts is the request an agent sends in one click, in each
// language the widget speaks. It is a plain reply: other clients and
// forwarded emails show it as text, the widget adds an email field under it.
var askEmailTexts = map[string]string{
	"en": "Could you leave your email address? If you leave the page, we will send our replies there.",
	"fr": "Pourriez-vous nous laisser votre adresse e-mail ? Si vous quittez la page, nous vous y enverrons nos réponses.",
	"de": "Können Sie uns Ihre E-Mail-Adresse hinterlassen? Wenn Sie die Seite verlassen, schicken wir Ihnen unsere Antworten dorthin.",
	"es": "¿Podría dejarnos su dirección de correo electrónico? Si sale de la página, le enviaremos allí nuestras respuestas.",
	"it": "Può lasciarci il suo indirizzo email? Se lascia la pagina, le invieremo lì le nostre risposte.",
	"pt": "Pode deixar-nos o seu endereço de e-mail? Se sair da página, enviaremos as nossas respostas para lá.",
	"nl": "Wilt u uw e-mailadres achterlaten? Als u de pagina verlaat, sturen we onze antwoorden daarheen.",
}

// defaultAskLanguage is the language of the request when none is known.
const defaultAskLanguage = "en"

// AskEmailText returns the request for an email in the language of a BCP 47
// tag ("fr", "fr-CA", "PT_br"), or in English when the language is not one
// Parley speaks.
func AskEmailText(locale string) string {
	lang, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"), "-")
	if t, ok := askEmailTexts[strings.ToLower(lang)]; ok {
		return t
	}
	return askEmailTexts[defaultAskLanguage]
}

// AskEmail sends the visitor of a website conversation a reply asking for
// their email address, in the language locale names (see AskEmailText).
// The reply is marked (Message.AsksEmail) so that the widget shows an email
// field under it. A visitor who has an email already is not asked.
func (s *Service) AskEmail(ctx context.Context, a model.Agent, conversationID, locale string) (model.Message, error) {
	return s.postMessage(ctx, a, conversationID, AskEmailText(locale), model.KindReply, nil, true)
}

// canAskEmail refuses to ask for an email where the widget cannot take it
// or the visitor gave one already.
func canAskEmail(c model.Conversation) error {
	if c.Channel != model.ChannelWebsite {
		return newError(CodeNotWebsite, "only a website visitor can be asked for an email in the chat")
	}
	if c.Visitor.HasEmail() {
		return newError(CodeVisitorHasEmail, "the visitor has an email address already")
	}
	return nil
}
