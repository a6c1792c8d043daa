package reply

import (
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// The rules of each language, as data. A table lists what the mail clients
// of one language (or one family of clients) write around a quoted email:
//
//   - openers: the word an attribution line starts with, before its date
//     ("On", "Le", "Am");
//   - verbs: what ends an attribution, just before its colon ("wrote",
//     "a écrit", "写道"); verbsInside: verbs that the author or the date may
//     follow ("schrieb am …:", "Jane kirjoitti 4.1.2016 klo 19.03:");
//   - from and fields: the field names of a quoted header block ("From:",
//     "Sent:", "To:"…) in the language of the client that wrote it;
//   - separators: what stands between dashes ("-----Original Message-----"),
//     separatorLines: whole-line separators ("Begin forwarded message:");
//   - signatures: the line a mail app adds below what was typed on a phone,
//     "…" standing for the device or app ("Sent from my …").
//
// Every entry carries the line it exists for; TestRuleExamples checks that
// each example is recognised, so adding a language is a table here and a
// case in the corpus (internal/mail/inbound/testdata/replies).

// rule is one entry of a table: the word, field name or pattern, and an
// example of a line it exists for.
type rule struct {
	text, example string
}

type language struct {
	code           string // ISO 639-1, or a client family
	openers        []rule
	verbs          []rule
	verbsInside    []rule
	from, fields   []rule
	separators     []rule
	separatorLines []rule
	separatorDated []rule // a line of these words and a date ("Message du 04/01/16 19:03")
	signatures     []rule
}

// Gmail's attribution for the examples below is written with Jane Doe
// <jane@example.com> on Monday 4 January 2016 at 19:03.
var languages = []language{
	{
		code:    "en",
		openers: []rule{{"on", "On Mon, Jan 4, 2016 at 7:03 PM Jane Doe <jane@example.com> wrote:"}, {"at", "At 19:03 04/01/2016, Jane Doe wrote:"}},
		verbs:   []rule{{"wrote", "On Jan 4, 2016, at 19:03, Jane Doe <jane@example.com> wrote:"}},
		from:    []rule{{"from", "From: Jane Doe [mailto:jane@example.com]"}},
		fields: []rule{{"sent", "Sent: Monday, January 4, 2016 7:03 PM"}, {"date", "Date: 04/01/2016 19:03 (GMT+01:00)"},
			{"to", "To: ACME Support <reply@acme.example>"}, {"cc", "Cc: Sales <sales@acme.example>"}, {"bcc", "Bcc: archive@acme.example"},
			{"subject", "Subject: Your order"}, {"reply-to", "Reply-To: ACME <reply@acme.example>"}},
		separators: []rule{{"original message", "-----Original Message-----"}, {"forwarded message", "---------- Forwarded message ---------"},
			{"reply message", "------------------ Reply Message ------------------"}},
		separatorLines: []rule{{"begin forwarded message:", "Begin forwarded message:"}},
		signatures: []rule{{"sent from my …", "Sent from my iPhone"}, {"sent from …", "Sent from TypeApp ‹http://www.typeapp.com/r›"},
			{"sent with …", "Sent with Spark"}, {"sent via …", "Sent via BlueMail"}, {"sent using …", "Sent using Zoho Mail"},
			{"sent by …", "Sent by Outlook for Android"}, {"get outlook for …", "Get Outlook for iOS<https://aka.ms/o0ukef>"}},
	},
	{
		code:    "fr",
		openers: []rule{{"le", "Le lun. 4 janv. 2016 à 19:03, Jane Doe <jane@example.com> a écrit :"}},
		verbs:   []rule{{"a écrit", "Le 4 janv. 2016 à 19:03, Jane Doe <jane@example.com> a écrit :"}},
		from:    []rule{{"de", "De : Jane Doe <jane@example.com>"}},
		fields: []rule{{"envoyé", "Envoyé : lundi 4 janvier 2016 19:03"}, {"à", "À : ACME <reply@acme.example>"}, {"a", "A : ACME <reply@acme.example>"},
			{"objet", "Objet : Votre commande"}, {"répondre à", "Répondre à : reply@acme.example"}, {"copie à", "Copie à : sales@acme.example"}, {"cc", "Cc : sales@acme.example"}},
		separators: []rule{{"message d'origine", "-----Message d'origine-----"}, {"message d’origine", "-------- Message d’origine --------"},
			{"message original", "-------- Message original --------"}, {"message transféré", "---------- Message transféré ---------"}},
		separatorLines: []rule{{"début du message réexpédié :", "Début du message réexpédié :"}, {"début du message réexpédié:", "Début du message réexpédié:"}},
		// Orange's webmail, above the quoted header block.
		separatorDated: []rule{{"message du", "Message du 04/01/16 19:03"}},
		signatures: []rule{{"envoyé de mon …", "Envoyé de mon iPhone"}, {"envoyé depuis mon …", "Envoyé depuis mon appareil Galaxy"},
			{"envoyé de …", "Envoyé de Yahoo Mail pour Android"}, {"envoyé depuis …", "Envoyé depuis Outlook"}, {"envoyé avec …", "Envoyé avec TypeApp"},
			{"envoyé à partir de …", "Envoyé à partir de Courrier pour Windows"}, {"obtenir outlook pour …", "Obtenir Outlook pour Android"}},
	},
	{
		code:    "de",
		openers: []rule{{"am", "Am Mo., 4. Jan. 2016 um 19:03 Uhr schrieb Jane Doe <jane@example.com>:"}},
		verbs:   []rule{{"geschrieben", "Am Montag, 4. Januar 2016, 19:03:12 MEZ hat Jane Doe <jane@example.com> Folgendes geschrieben:"}},
		verbsInside: []rule{{"schrieb", "Am 04.01.2016 um 19:03 schrieb Jane Doe <jane@example.com>:"},
			{"schrieb", "Jane Doe <jane@example.com> schrieb am Mo., 4. Jan. 2016, 19:03:"}},
		from: []rule{{"von", "Von: Jane Doe <jane@example.com>"}},
		fields: []rule{{"gesendet", "Gesendet: Montag, 4. Januar 2016 19:03"}, {"an", "An: ACME <reply@acme.example>"},
			{"betreff", "Betreff: Ihre Bestellung"}, {"datum", "Datum: 04.01.2016 19:03 (GMT+01:00)"}, {"antwort an", "Antwort an: reply@acme.example"}},
		separators: []rule{{"ursprüngliche nachricht", "-----Ursprüngliche Nachricht-----"}, {"original-nachricht", "-------- Original-Nachricht --------"},
			{"originalnachricht", "-------- Originalnachricht --------"}, {"weitergeleitete nachricht", "---------- Weitergeleitete Nachricht ---------"}},
		separatorLines: []rule{{"anfang der weitergeleiteten nachricht:", "Anfang der weitergeleiteten Nachricht:"}},
		signatures: []rule{{"von meinem … gesendet", "Von meinem iPhone gesendet"}, {"von meiner … gesendet", "Von meiner Apple Watch gesendet"},
			{"gesendet von meinem …", "Gesendet von meinem Samsung Galaxy"}, {"gesendet von …", "Gesendet von Yahoo Mail auf Android"},
			{"gesendet mit …", "Gesendet mit der WEB.DE Mail App"}, {"diese nachricht wurde von meinem … gesendet", "Diese Nachricht wurde von meinem Android-Mobiltelefon mit WEB.DE Mail gesendet."},
			{"outlook für … herunterladen", "Outlook für iOS herunterladen"}},
	},
	{
		code:    "es",
		openers: []rule{{"el", "El lun, 4 ene 2016 a las 19:03, Jane Doe (<jane@example.com>) escribió:"}},
		verbs:   []rule{{"escribió", "El 4 ene 2016, a las 19:03, Jane Doe <jane@example.com> escribió:"}},
		from:    []rule{{"de", "De: Jane Doe <jane@example.com>"}},
		fields: []rule{{"enviado el", "Enviado el: lunes, 4 de enero de 2016 19:03"}, {"enviado", "Enviado: lunes, 4 de enero de 2016 19:03"},
			{"para", "Para: ACME <reply@acme.example>"}, {"asunto", "Asunto: Su pedido"}, {"fecha", "Fecha: 04/01/2016 19:03 (GMT+01:00)"}, {"responder a", "Responder a: reply@acme.example"}},
		separators:     []rule{{"mensaje original", "-------- Mensaje original --------"}, {"mensaje reenviado", "---------- Mensaje reenviado ---------"}},
		separatorLines: []rule{{"inicio del mensaje reenviado:", "Inicio del mensaje reenviado:"}},
		signatures: []rule{{"enviado desde mi …", "Enviado desde mi iPhone"}, {"enviado desde …", "Enviado desde Yahoo Mail para Android"},
			{"obtener outlook para …", "Obtener Outlook para iOS"}},
	},
	{
		code:    "it",
		openers: []rule{{"il", "Il giorno lun 4 gen 2016 alle ore 19:03 Jane Doe <jane@example.com> ha scritto:"}},
		verbs:   []rule{{"ha scritto", "Il giorno 4 gen 2016, alle ore 19:03, Jane Doe <jane@example.com> ha scritto:"}},
		from:    []rule{{"da", "Da: Jane Doe <jane@example.com>"}},
		fields: []rule{{"inviato", "Inviato: lunedì 4 gennaio 2016 19:03"}, {"a", "A: ACME <reply@acme.example>"}, {"oggetto", "Oggetto: Il suo ordine"},
			{"data", "Data: 04/01/2016 19:03 (GMT+01:00)"}, {"rispondi a", "Rispondi a: reply@acme.example"}, {"risposta", "Risposta: reply@acme.example"}},
		separators:     []rule{{"messaggio originale", "-------- Messaggio originale --------"}, {"messaggio inoltrato", "---------- Messaggio inoltrato ---------"}},
		separatorLines: []rule{{"inizio messaggio inoltrato:", "Inizio messaggio inoltrato:"}},
		signatures: []rule{{"inviato da …", "Inviato da iPhone"}, {"inviato dal mio …", "Inviato dal mio smartphone Samsung Galaxy."},
			{"scarica outlook per …", "Scarica Outlook per Android"}},
	},
	{
		code:    "pt",
		openers: []rule{{"em", "Em seg., 4 de jan. de 2016 às 19:03, Jane Doe <jane@example.com> escreveu:"}},
		verbs:   []rule{{"escreveu", "Em 4 de jan de 2016, à(s) 19:03, Jane Doe <jane@example.com> escreveu:"}},
		from:    []rule{{"de", "De: Jane Doe <jane@example.com>"}},
		fields: []rule{{"enviado", "Enviado: segunda-feira, 4 de janeiro de 2016 19:03"}, {"enviada", "Enviada: segunda-feira, 4 de janeiro de 2016 19:03"},
			{"enviada em", "Enviada em: segunda-feira, 4 de janeiro de 2016 19:03"}, {"para", "Para: ACME <reply@acme.example>"},
			{"assunto", "Assunto: Seu pedido"}, {"data", "Data: 04/01/2016 19:03 (GMT-03:00)"}},
		separators: []rule{{"mensagem original", "-------- Mensagem original --------"}, {"mensagem encaminhada", "---------- Mensagem encaminhada ---------"},
			{"mensagem reencaminhada", "---------- Mensagem reencaminhada ---------"}},
		separatorLines: []rule{{"início da mensagem reencaminhada:", "Início da mensagem reencaminhada:"}, {"início da mensagem encaminhada:", "Início da mensagem encaminhada:"}},
		signatures: []rule{{"enviado do meu …", "Enviado do meu iPhone"}, {"enviado do …", "Enviado do Yahoo Mail para Android"},
			{"enviado a partir do …", "Enviado a partir do Email para Windows"}, {"obter o outlook para …", "Obter o Outlook para Android"}},
	},
	{
		code:        "nl",
		openers:     []rule{{"op", "Op ma 4 jan. 2016 om 19:03 schreef Jane Doe <jane@example.com>:"}},
		verbs:       []rule{{"het volgende geschreven", "Op 4 jan. 2016 om 19:03 heeft Jane Doe <jane@example.com> het volgende geschreven:"}},
		verbsInside: []rule{{"schreef", "Op 04-01-16 om 19:03 schreef Jane Doe:"}},
		from:        []rule{{"van", "Van: Jane Doe <jane@example.com>"}},
		fields: []rule{{"verzonden", "Verzonden: maandag 4 januari 2016 19:03"}, {"aan", "Aan: ACME <reply@acme.example>"},
			{"onderwerp", "Onderwerp: Uw bestelling"}, {"datum", "Datum: 04-01-2016 19:03 (GMT+01:00)"}, {"beantwoorden", "Beantwoorden: reply@acme.example"}},
		separators: []rule{{"oorspronkelijk bericht", "-------- Oorspronkelijk bericht --------"}, {"origineel bericht", "-----Origineel bericht-----"},
			{"doorgestuurd bericht", "---------- Doorgestuurd bericht ---------"}},
		separatorLines: []rule{{"begin doorgestuurd bericht:", "Begin doorgestuurd bericht:"}},
		signatures: []rule{{"verzonden vanaf mijn …", "Verzonden vanaf mijn iPhone"}, {"verzonden met …", "Verzonden met BlueMail"},
			{"verzonden vanuit …", "Verzonden vanuit Outlook"}, {"verstuurd vanaf mijn …", "Verstuurd vanaf mijn Samsung Galaxy smartphone."},
			{"outlook voor … downloaden", "Outlook voor Android downloaden"}},
	},
	{
		code:    "ca",
		openers: []rule{{"el", "El dl., 4 de gen. 2016 a les 19:03, Jane Doe (<jane@example.com>) va escriure:"}},
		verbs:   []rule{{"va escriure", "El 4 gen. 2016, a les 19:03, Jane Doe <jane@example.com> va escriure:"}, {"ha escrit", "El 4/1/16 a les 19:03, Jane Doe ha escrit:"}},
		from:    []rule{{"de", "De: Jane Doe <jane@example.com>"}},
		fields: []rule{{"enviat el", "Enviat el: dilluns, 4 de gener de 2016 19:03"}, {"enviat", "Enviat: dilluns, 4 de gener de 2016 19:03"},
			{"per a", "Per a: ACME <reply@acme.example>"}, {"assumpte", "Assumpte: La vostra comanda"}, {"data", "Data: 04/01/2016 19:03 (GMT+01:00)"}},
		separators:     []rule{{"missatge original", "-------- Missatge original --------"}, {"missatge reenviat", "---------- Missatge reenviat ---------"}},
		separatorLines: []rule{{"inici del missatge reenviat:", "Inici del missatge reenviat:"}},
		signatures:     []rule{{"enviat des del meu …", "Enviat des del meu iPhone"}, {"enviat des de …", "Enviat des de Yahoo Mail per a Android"}},
	},
	{
		code:        "sv",
		openers:     []rule{{"den", "Den mån 4 jan. 2016 kl 19:03 skrev Jane Doe <jane@example.com>:"}},
		verbsInside: []rule{{"skrev", "4 jan. 2016 kl. 19:03 skrev Jane Doe <jane@example.com>:"}},
		from:        []rule{{"från", "Från: Jane Doe <jane@example.com>"}},
		fields: []rule{{"skickat", "Skickat: den 4 januari 2016 19:03"}, {"till", "Till: ACME <reply@acme.example>"},
			{"ämne", "Ämne: Din beställning"}, {"datum", "Datum: 2016-01-04 19:03 (GMT+01:00)"}},
		separators:     []rule{{"ursprungligt meddelande", "-------- Ursprungligt meddelande --------"}, {"originalmeddelande", "-----Originalmeddelande-----"}, {"vidarebefordrat meddelande", "---------- Vidarebefordrat meddelande ---------"}},
		separatorLines: []rule{{"vidarebefordrat mejl:", "Vidarebefordrat mejl:"}},
		signatures:     []rule{{"skickat från min …", "Skickat från min iPhone"}, {"skickat från …", "Skickat från Outlook för Android"}},
	},
	{
		code:        "da",
		openers:     []rule{{"den", "Den man. 4. jan. 2016 kl. 19.03 skrev Jane Doe <jane@example.com>:"}},
		verbsInside: []rule{{"skrev", "Den 4. jan. 2016 kl. 19.03 skrev Jane Doe <jane@example.com>:"}},
		from:        []rule{{"fra", "Fra: Jane Doe <jane@example.com>"}},
		fields: []rule{{"sendt", "Sendt: 4. januar 2016 19:03"}, {"til", "Til: ACME <reply@acme.example>"},
			{"emne", "Emne: Din bestilling"}, {"dato", "Dato: 04-01-2016 19:03 (GMT+01:00)"}},
		separators:     []rule{{"oprindelig meddelelse", "-------- Oprindelig meddelelse --------"}, {"videresendt meddelelse", "---------- Videresendt meddelelse ---------"}},
		separatorLines: []rule{{"start på videresendt besked:", "Start på videresendt besked:"}},
		signatures:     []rule{{"sendt fra min …", "Sendt fra min iPhone"}, {"sendt fra …", "Sendt fra Outlook til Android"}},
	},
	{
		code:        "no",
		verbsInside: []rule{{"skrev", "man. 4. jan. 2016 kl. 19:03 skrev Jane Doe <jane@example.com>:"}},
		from:        []rule{{"fra", "Fra: Jane Doe <jane@example.com>"}},
		fields: []rule{{"sendt", "Sendt: mandag 4. januar 2016 19:03"}, {"til", "Til: ACME <reply@acme.example>"},
			{"emne", "Emne: Din bestilling"}, {"dato", "Dato: 04.01.2016 19:03 (GMT+01:00)"}},
		separators:     []rule{{"opprinnelig melding", "-------- Opprinnelig melding --------"}, {"videresendt melding", "---------- Videresendt melding ---------"}},
		separatorLines: []rule{{"videresendt melding:", "Videresendt melding:"}},
		signatures:     []rule{{"sendt fra min …", "Sendt fra min iPhone"}, {"sendt fra …", "Sendt fra Outlook for Android"}},
	},
	{
		code:        "fi",
		verbs:       []rule{{"kirjoitti", "ma 4. tammik. 2016 klo 19.03 Jane Doe (jane@example.com) kirjoitti:"}},
		verbsInside: []rule{{"kirjoitti", "Jane Doe kirjoitti 4.1.2016 klo 19.03:"}},
		from:        []rule{{"lähettäjä", "Lähettäjä: Jane Doe <jane@example.com>"}},
		fields: []rule{{"lähetetty", "Lähetetty: maanantai 4. tammikuuta 2016 19.03"}, {"vastaanottaja", "Vastaanottaja: ACME <reply@acme.example>"},
			{"aihe", "Aihe: Tilauksesi"}, {"päivämäärä", "Päivämäärä: 4.1.2016 19.03 (GMT+02:00)"}, {"päiväys", "Päiväys: 4.1.2016 19.03"}},
		separators: []rule{{"alkuperäinen viesti", "-------- Alkuperäinen viesti --------"}, {"välitetty viesti", "---------- Välitetty viesti ---------"}},
		signatures: []rule{{"lähetetty …", "Lähetetty iPhonesta"}},
	},
	{
		code:    "pl",
		openers: []rule{{"w", "W dniu 4.01.2016 o 19:03, Jane Doe pisze:"}, {"dnia", "Dnia 4 stycznia 2016 19:03 Jane Doe <jane@example.com> napisał(a):"}},
		verbs: []rule{{"napisał(a)", "pon., 4 sty 2016 o 19:03 Jane Doe <jane@example.com> napisał(a):"}, {"napisała", "4 sty 2016 19:03 Jane Doe <jane@example.com> napisała:"},
			{"napisał", "4 sty 2016 19:03 Jane Doe <jane@example.com> napisał:"},
			{"napisał(-a)", "W poniedziałek, 4 stycznia 2016 19:03:12 CET, Jane Doe <jane@example.com> napisał(-a):"}, {"pisze", "W dniu 04.01.2016 o 19:03, Jane Doe pisze:"}},
		from: []rule{{"od", "Od: Jane Doe <jane@example.com>"}},
		fields: []rule{{"wysłano", "Wysłano: poniedziałek, 4 stycznia 2016 19:03"}, {"do", "Do: ACME <reply@acme.example>"},
			{"temat", "Temat: Twoje zamówienie"}, {"data", "Data: 04.01.2016 19:03 (GMT+01:00)"}},
		separators: []rule{{"wiadomość oryginalna", "-----Wiadomość oryginalna-----"}, {"oryginalna wiadomość", "-------- Oryginalna wiadomość --------"},
			{"przekazana wiadomość", "---------- Przekazana wiadomość ---------"}},
		signatures: []rule{{"wysłane z …", "Wysłane z iPhone'a"}, {"wysłano z …", "Wysłano z iPhone'a"}, {"wysłane z mojego …", "Wysłane z mojego smartfona Samsung Galaxy"}},
	},
	{
		code: "ru",
		verbs: []rule{{"написал(а)", "4 янв. 2016 г., в 19:03, Jane Doe <jane@example.com> написал(а):"}, {"написал", "04.01.2016 19:03, Jane Doe <jane@example.com> написал:"},
			{"написала", "04.01.2016 19:03, Jane Doe <jane@example.com> написала:"}, {"пишет", "04.01.2016 19:03, Jane Doe пишет:"}},
		from: []rule{{"от", "От: Jane Doe <jane@example.com>"}},
		fields: []rule{{"отправлено", "Отправлено: 4 января 2016 г. 19:03"}, {"кому", "Кому: ACME <reply@acme.example>"},
			{"тема", "Тема: Ваш заказ"}, {"дата", "Дата: 04.01.2016 19:03 (GMT+03:00)"}, {"копия", "Копия: sales@acme.example"}},
		separators: []rule{{"исходное сообщение", "-------- Исходное сообщение --------"}, {"пересылаемое сообщение", "-------- Пересылаемое сообщение --------"},
			{"оригинальное сообщение", "-----Оригинальное сообщение-----"}},
		signatures: []rule{{"отправлено с …", "Отправлено с iPhone"}, {"отправлено из …", "Отправлено из мобильной Почты Mail.ru"}},
	},
	{
		code: "uk",
		verbs: []rule{{"пише", "пн, 4 січ. 2016 р. о 19:03 Jane Doe <jane@example.com> пише:"}, {"написав(ла)", "4 січ. 2016 р. о 19:03 Jane Doe <jane@example.com> написав(ла):"},
			{"написав", "04.01.2016 19:03, Jane Doe <jane@example.com> написав:"}},
		from: []rule{{"від", "Від: Jane Doe <jane@example.com>"}},
		fields: []rule{{"надіслано", "Надіслано: 4 січня 2016 р. 19:03"}, {"кому", "Кому: ACME <reply@acme.example>"},
			{"тема", "Тема: Ваше замовлення"}, {"дата", "Дата: 04.01.2016 19:03 (GMT+02:00)"}},
		separators: []rule{{"оригінальне повідомлення", "-------- Оригінальне повідомлення --------"}, {"вихідне повідомлення", "-----Вихідне повідомлення-----"}},
		signatures: []rule{{"надіслано з …", "Надіслано з iPhone"}},
	},
	{
		code:    "cs",
		openers: []rule{{"dne", "Dne 04. 01. 16 v 19:03 Jane Doe napsal(a):"}},
		verbs: []rule{{"napsal(a)", "Dne 4. 1. 2016 19:03 Jane Doe <jane@example.com> napsal(a):"}, {"napsal", "po 4. 1. 2016 v 19:03 odesílatel Jane Doe <jane@example.com> napsal:"},
			{"napsala", "4. 1. 2016 v 19:03 Jane Doe <jane@example.com> napsala:"}},
		from: []rule{{"od", "Od: Jane Doe <jane@example.com>"}},
		fields: []rule{{"odesláno", "Odesláno: pondělí 4. ledna 2016 19:03"}, {"komu", "Komu: ACME <reply@acme.example>"},
			{"předmět", "Předmět: Vaše objednávka"}, {"datum", "Datum: 04.01.2016 19:03 (GMT+01:00)"}},
		separators: []rule{{"původní zpráva", "-------- Původní zpráva --------"}, {"přeposlaná zpráva", "---------- Přeposlaná zpráva ---------"}},
		signatures: []rule{{"odesláno z …", "Odesláno z iPhonu"}, {"odesláno z mého …", "Odesláno z mého smartphonu Samsung Galaxy."}},
	},
	{
		code: "hu",
		verbs: []rule{{"írta", "2016. jan. 4. dátummal, 19:03 időpontban Jane Doe <jane@example.com> írta:"},
			{"írta", "Jane Doe <jane@example.com> ezt írta (időpont: 2016. jan. 4., H, 19:03):"}},
		verbsInside: []rule{{"írta", "Jane Doe <jane@example.com> ezt írta (időpont: 2016. jan. 4., H, 19:03):"}},
		from:        []rule{{"feladó", "Feladó: Jane Doe <jane@example.com>"}},
		fields: []rule{{"elküldve", "Elküldve: 2016. január 4. 19:03"}, {"címzett", "Címzett: ACME <reply@acme.example>"},
			{"tárgy", "Tárgy: Az Ön rendelése"}, {"dátum", "Dátum: 2016.01.04. 19:03 (GMT+01:00)"}},
		separators: []rule{{"eredeti üzenet", "-------- Eredeti üzenet --------"}, {"továbbított üzenet", "---------- Továbbított üzenet ---------"}},
		signatures: []rule{{"…ról küldve", "iPhone-ról küldve"}, {"…ről küldve", "Samsung Galaxy okostelefonről küldve"}, {"küldve …", "Küldve iPhone-ról"}},
	},
	{
		code:        "ro",
		openers:     []rule{{"pe", "Pe 4 ian. 2016, la 19:03, Jane Doe <jane@example.com> a scris:"}, {"în", "În 4 ian. 2016, la 19:03, Jane Doe <jane@example.com> a scris:"}},
		verbs:       []rule{{"a scris", "Jane Doe <jane@example.com> a scris (lun., 4 ian. 2016, 19:03):"}},
		verbsInside: []rule{{"a scris", "Jane Doe <jane@example.com> a scris (lun., 4 ian. 2016, 19:03):"}},
		from:        []rule{{"de la", "De la: Jane Doe <jane@example.com>"}},
		fields: []rule{{"trimis", "Trimis: luni, 4 ianuarie 2016 19:03"}, {"către", "Către: ACME <reply@acme.example>"},
			{"subiect", "Subiect: Comanda dvs."}, {"data", "Data: 04.01.2016 19:03 (GMT+02:00)"}},
		separators: []rule{{"mesaj original", "-------- Mesaj original --------"}, {"mesaj redirecționat", "---------- Mesaj redirecționat ---------"}},
		signatures: []rule{{"trimis de pe …", "Trimis de pe iPhone-ul meu"}, {"trimis din …", "Trimis din Yahoo Mail pe Android"}},
	},
	{
		code: "tr",
		verbs: []rule{{"yazdı", "4.01.2016 19:03 tarihinde Jane Doe yazdı:"},
			{"şunu yazdı", "Jane Doe <jane@example.com>, 4 Oca 2016 Pzt, 19:03 tarihinde şunu yazdı:"},
			{"şunları yazdı", "4 Oca 2016 tarihinde 19:03 saatinde, Jane Doe <jane@example.com> şunları yazdı:"}},
		from: []rule{{"kimden", "Kimden: Jane Doe <jane@example.com>"}},
		fields: []rule{{"gönderildi", "Gönderildi: 4 Ocak 2016 Pazartesi 19:03"}, {"gönderilme", "Gönderilme: 4 Ocak 2016 Pazartesi 19:03"},
			{"kime", "Kime: ACME <reply@acme.example>"}, {"konu", "Konu: Siparişiniz"}, {"tarih", "Tarih: 04.01.2016 19:03 (GMT+03:00)"}},
		separators: []rule{{"orijinal mesaj", "-------- Orijinal mesaj --------"}, {"özgün ileti", "-----Özgün İleti-----"}, {"iletilen mesaj", "---------- İletilen mesaj ---------"}},
		signatures: []rule{{"… gönderildi", "iPhone'umdan gönderildi"}},
	},
	{
		code: "zh",
		// Chinese attributions run the verb into the date: "…下午7:03写道：".
		openers: []rule{{"在", "在 2016/1/4 19:03, Jane Doe 写道:"}},
		verbs:   []rule{{"写道", "Jane Doe <jane@example.com> 于2016年1月4日周一 下午7:03写道："}, {"寫道", "Jane Doe <jane@example.com> 於 2016年1月4日 週一 下午7:03 寫道："}},
		from:    []rule{{"发件人", "发件人: Jane Doe <jane@example.com>"}, {"寄件者", "寄件者: Jane Doe <jane@example.com>"}},
		fields: []rule{{"发送时间", "发送时间: 2016年1月4日 19:03"}, {"收件人", "收件人: ACME <reply@acme.example>"}, {"主题", "主题: 您的订单"},
			{"日期", "日期: 2016年1月4日 19:03"}, {"抄送", "抄送: sales@acme.example"}, {"时间", "时间：2016年1月4日(星期一) 晚上7:03"},
			{"寄件日期", "寄件日期: 2016年1月4日 下午 07:03"}, {"收件者", "收件者: ACME <reply@acme.example>"}, {"主旨", "主旨: 您的訂單"}},
		separators: []rule{{"原始邮件", "------------------ 原始邮件 ------------------"}, {"原始郵件", "-------- 原始郵件 --------"}, {"转发邮件", "---------- 转发邮件 ---------"}},
		signatures: []rule{{"发自我的…", "发自我的iPhone"}, {"從我的…傳送", "從我的 iPhone 傳送"}, {"从我的…发送", "从我的 iPhone 发送"},
			{"来自我的…", "来自我的华为手机"}, {"發自我的…", "發自我的 iPhone"}},
	},
	{
		code: "ja",
		verbs: []rule{{"のメッセージ", "2016/01/04 19:03、Jane Doe <jane@example.com> のメッセージ:"}, {"のメール", "2016/01/04 19:03、Jane Doe <jane@example.com>のメール:"},
			{"wrote", "On 2016/01/04 19:03, Jane Doe wrote:"}, {"書きました", "2016年1月4日(月) 19:03 Jane Doe <jane@example.com> さんは書きました:"}},
		from: []rule{{"差出人", "差出人: Jane Doe <jane@example.com>"}, {"送信者", "送信者: Jane Doe <jane@example.com>"}},
		fields: []rule{{"送信日時", "送信日時: 2016年1月4日 19:03"}, {"宛先", "宛先: ACME <reply@acme.example>"}, {"件名", "件名: ご注文について"},
			{"日付", "日付: 2016/01/04 19:03 (GMT+09:00)"}, {"cc", "CC: sales@acme.example"}},
		separators: []rule{{"元のメッセージ", "-------- 元のメッセージ --------"}, {"転送メッセージ", "---------- 転送メッセージ ---------"}},
		signatures: []rule{{"…から送信", "iPhoneから送信"}},
	},
	{
		code:  "ko",
		verbs: []rule{{"작성", "2016년 1월 4일 (월) 오후 7:03, Jane Doe <jane@example.com>님이 작성:"}, {"쓴 글", "2016-01-04 오후 7:03에 Jane Doe 이(가) 쓴 글:"}},
		from:  []rule{{"보낸 사람", "보낸 사람: Jane Doe <jane@example.com>"}},
		fields: []rule{{"보낸 날짜", "보낸 날짜: 2016년 1월 4일 월요일 오후 7:03"}, {"받는 사람", "받는 사람: ACME <reply@acme.example>"},
			{"제목", "제목: 주문 문의"}, {"날짜", "날짜: 2016/01/04 19:03 (GMT+09:00)"}},
		separators: []rule{{"원본 메시지", "-------- 원본 메시지 --------"}, {"원래 메시지", "-----원래 메시지-----"}, {"전달된 메시지", "---------- 전달된 메시지 ---------"}},
		signatures: []rule{{"…에서 보냄", "iPhone에서 보냄"}, {"… 에서 보냄", "Galaxy 에서 보냄"}},
	},
	{
		code:    "vi",
		openers: []rule{{"vào", "Vào Th 2, 4 thg 1, 2016 vào lúc 19:03 Jane Doe <jane@example.com> đã viết:"}},
		verbs:   []rule{{"đã viết", "Vào 19:03, ngày 4 thg 1, 2016, Jane Doe <jane@example.com> đã viết:"}},
		from:    []rule{{"từ", "Từ: Jane Doe <jane@example.com>"}},
		fields: []rule{{"đã gửi", "Đã gửi: Thứ Hai, ngày 4 tháng 1 năm 2016 19:03"}, {"đến", "Đến: ACME <reply@acme.example>"},
			{"chủ đề", "Chủ đề: Đơn hàng của bạn"}, {"ngày", "Ngày: 04/01/2016 19:03 (GMT+07:00)"}},
		separators: []rule{{"thư gốc", "-------- Thư gốc --------"}, {"tin nhắn gốc", "-------- Tin nhắn gốc --------"}, {"thư được chuyển tiếp", "---------- Thư được chuyển tiếp ---------"}},
		signatures: []rule{{"gửi từ …", "Gửi từ iPhone của tôi"}, {"được gửi từ …", "Được gửi từ iPhone của tôi"}},
	},
}

// The tables, merged into what the scan looks up.
var (
	attributionWords      = map[string]bool{}
	attributionVerbs      []string
	attributionVerbsFirst []string
	fromFields            = map[string]bool{}
	otherFields           = map[string]bool{}
	separatorNames        = map[string]bool{}
	separatorLines        = map[string]bool{}
	separatorDated        []string
	signatures            = compileSignatures()
)

func init() {
	seen := map[*[]string]map[string]bool{}
	add := func(list *[]string, r rule) {
		if seen[list] == nil {
			seen[list] = map[string]bool{}
		}
		if !seen[list][r.text] {
			seen[list][r.text] = true
			*list = append(*list, r.text)
		}
	}
	for _, l := range languages {
		for _, r := range l.openers {
			attributionWords[r.text] = true
		}
		for _, r := range l.verbs {
			add(&attributionVerbs, r)
		}
		for _, r := range l.verbsInside {
			add(&attributionVerbsFirst, r)
		}
		for _, r := range l.from {
			fromFields[r.text] = true
		}
		for _, r := range l.fields {
			otherFields[r.text] = true
		}
		for _, r := range l.separators {
			separatorNames[r.text] = true
		}
		for _, r := range l.separatorLines {
			separatorLines[r.text] = true
		}
		for _, r := range l.separatorDated {
			separatorDated = append(separatorDated, r.text)
		}
	}
	// Longer verbs first, so that "napisał(a)" is tried before "napisał".
	sort.SliceStable(attributionVerbs, func(i, j int) bool { return len(attributionVerbs[i]) > len(attributionVerbs[j]) })
}

// devices names the phones, tablets and mail apps that mobile signatures
// mention ("Sent from my iPhone", "Envoyé de mon appareil Galaxy", "Sent
// from TypeApp"), lower-case, as parts of words ("iphon" for "iPhonu"). A
// signature naming one is cut wherever it stands; one that names something
// else ("Sent from my desk") only when it is the whole end of the text.
var devices = strings.Fields(`iphon ipad ipod watch android samsung galaxy smartphone smartfon mobil мобильн cell phone tablet
	telefon téléphone telefone telefono teléfono telèfon telefoon celular cellulare móvil mobiel handy puhelin
	blackberry huawei xiaomi redmi honor oppo oneplus nokia xperia motorola pixel
	outlook yahoo aol gmail zoho mail courrier correo posta почт windows appareil dispositivo dispositif gerät
	typeapp bluemail aquamail spark proton tutanota edison airmail newton k-9 fairemail web.de gmx t-online seznam
	手机 手機 スマートフォン 휴대폰 갤럭시 thoại`)

// possessives mark a signature pattern whose free part is the writer's own
// thing ("Sent from my …"): only those may match a device not listed.
var possessives = setOf("my", "mon", "ma", "meinem", "meiner", "mi", "mio", "meu", "mijn", "min", "mojego", "mého")

// signaturePattern is one signature rule, compiled: the line must match
// shape, whose group is the free part ("…").
type signaturePattern struct {
	shape   *regexp.Regexp
	generic bool // the free part may be anything without sentence punctuation
}

// signatureSet is the signature patterns of every table, indexed by the
// word a line must start or end with to be tried against them.
type signatureSet struct {
	byFirst, byLast    map[string][]signaturePattern // lower-case first or last words
	byPrefix, bySuffix map[string][]signaturePattern // for scripts without spaces ("发自我的…", "…から送信")
	prefixes, suffixes []string
}

// signatureLink is a link some apps put after their name ("Sent from
// TypeApp ‹http://www.typeapp.com/r›").
const signatureLink = `(?:\s*[<‹(\[]?\s*(?:https?://|www\.)[^\s>›)\]]*\s*[>›)\]]?)?`

func compileSignatures() signatureSet {
	set := signatureSet{
		byFirst: map[string][]signaturePattern{}, byLast: map[string][]signaturePattern{},
		byPrefix: map[string][]signaturePattern{}, bySuffix: map[string][]signaturePattern{},
	}
	for _, l := range languages {
		for _, r := range l.signatures {
			lead, tail, _ := strings.Cut(r.text, "…")
			p := signaturePattern{shape: regexp.MustCompile(`(?i)^` + regexp.QuoteMeta(lead) + `(.+?)` + regexp.QuoteMeta(tail) + signatureLink + `[\s.)>*_]*$`)}
			if w := strings.Fields(lead); len(w) > 0 && possessives[w[len(w)-1]] {
				p.generic = true
			}
			switch {
			case strings.Contains(lead, " "):
				k := strings.Fields(lead)[0]
				set.byFirst[k] = append(set.byFirst[k], p)
			case lead != "":
				if set.byPrefix[lead] == nil {
					set.prefixes = append(set.prefixes, lead)
				}
				set.byPrefix[lead] = append(set.byPrefix[lead], p)
			case strings.Contains(tail, " "):
				f := strings.Fields(tail)
				k := f[len(f)-1]
				set.byLast[k] = append(set.byLast[k], p)
			default:
				if set.bySuffix[tail] == nil {
					set.suffixes = append(set.suffixes, tail)
				}
				set.bySuffix[tail] = append(set.bySuffix[tail], p)
			}
		}
	}
	return set
}

// signatureKind tells a mobile signature naming a device or app (strong)
// from one that may be a sentence of the writer's ("Sent from my desk").
type signatureKind int

const (
	notSignature signatureKind = iota
	genericSignature
	strongSignature
)

// match reports whether line is a mobile signature, and of which kind.
// Only the patterns filed under the line's first or last word are tried.
func (s *signatureSet) match(line string) signatureKind {
	if len(line) > 300 || utf8.RuneCountInString(line) > 120 {
		return notSignature
	}
	l := strings.TrimLeft(line, " \t(<*_")
	if l == "" {
		return notSignature
	}
	first, _, _ := strings.Cut(l, " ")
	kind := s.try(l, s.byFirst[lowerKey(first)], notSignature)
	last := strings.TrimRight(l[strings.LastIndexByte(l, ' ')+1:], ".")
	if kind != strongSignature && len(s.byLast) > 0 {
		kind = s.try(l, s.byLast[lowerKey(last)], kind)
	}
	if l[0] < utf8.RuneSelf && l[len(l)-1] < utf8.RuneSelf {
		return kind
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(l, p) {
			kind = s.try(l, s.byPrefix[p], kind)
		}
	}
	t := strings.TrimRight(l, ". ")
	for _, p := range s.suffixes {
		if strings.HasSuffix(t, p) {
			kind = s.try(l, s.bySuffix[p], kind)
		}
	}
	return kind
}

// try matches l against patterns and returns the strongest kind found,
// at least kind.
func (s *signatureSet) try(l string, patterns []signaturePattern, kind signatureKind) signatureKind {
	named := -1 // whether l names a device, once known
	for _, p := range patterns {
		if costHook != nil {
			costHook(len(l))
		}
		m := p.shape.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		// The lead may name the app itself ("Get Outlook for iOS").
		if named < 0 {
			named = 0
			if namesDevice(strings.ToLower(l)) {
				named = 1
			}
		}
		if named == 1 {
			return strongSignature
		}
		if p.generic && !strings.ContainsAny(m[1], ",;!?") {
			kind = max(kind, genericSignature)
		}
	}
	return kind
}

// lowerKey lower-cases a word to look it up among the keys of the
// signature patterns, none of which is longer than 24 bytes.
func lowerKey(w string) string {
	if len(w) > 24 || len(w) < 2 {
		return ""
	}
	return strings.ToLower(w)
}

func namesDevice(s string) bool {
	for _, d := range devices {
		if strings.Contains(s, d) {
			return true
		}
	}
	return false
}
