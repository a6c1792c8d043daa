package web_test

import (
	"strings"

	"github.com/parleychat/parley/internal/search"
)

// common are frequent words of support chats in English, French, Spanish
// and German, accented ones included, most frequent first.
const common = `the to you i and a is it for my of in that have on can this be with your order we not
are do was please what but me if at an will so no there how just thanks hello hi help
le la de et je vous un une est pour pas que les des mon ma merci bonjour commande
el de que y en un los por favor gracias hola pedido envío
der die und ich sie das ist nicht mit danke hallo bestellung
delivery refund payment account password email shipping address invoice price product
size return exchange tracking package card subscription cancel discount code coupon
café crème thé déjà reçu été à où très problème réponse numéro livraison adresse
remboursement paiement facture après télécharger sécurité mise à jour préféré
pâtisserie forêt hôtel château garçon naïve noël français
envío también información teléfono número dirección contraseña devolución pequeño año mañana
español atención cámara página
größe lieferung rückerstattung straße grüße schön über für würde können zurück
möchte bestätigung verfügbar
today tomorrow yesterday week month time day hour minute still yet again soon
working broken error issue problem question answer update change wrong right
login logout sign app website page link button cart checkout basket stock available`

var syllables = []string{"ka", "lo", "mi", "ne", "ru", "ta", "vé", "zo", "pri", "stel", "bran", "dor",
	"fen", "gal", "hus", "jor", "kel", "lun", "mar", "nor", "pel", "quin", "ros", "sal", "tor", "ül", "vin", "wen"}

// vocabulary is the seeded text's words: the common ones, then rarer
// made-up ones (product names, places), about 20,000 in all.
func vocabulary() []string {
	words := strings.Fields(common)
	for _, a := range syllables {
		for _, b := range syllables {
			for _, c := range syllables {
				words = append(words, a+b+c)
			}
		}
	}
	return words
}

var firstNames = []string{"zoé", "chloé", "josé", "andrés", "jürgen", "müller", "françois", "hélène", "søren",
	"ana", "maría", "lucía", "élodie", "anaïs", "noël", "renée", "björn", "agnès", "inés", "ramón",
	"john", "mary", "peter", "sarah", "dupont", "martin", "garcía", "schmidt", "rossi", "smith"}

// stripAccents writes a word as an agent in a hurry types it.
func stripAccents(w string) string { return search.Fold(w) }
