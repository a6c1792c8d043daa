/*
 * Parley visitor chat widget. One file, no dependencies, no build step.
 *
 * Embed with:
 *   <script src="https://chat.example.com/widget.js" data-site-key="SITEKEY" async></script>
 *
 * The API base is the origin of this script's src. The visitor token is kept in
 * localStorage under "parley.visitor_token.<site key>"; when the chat was
 * opened or left open, for the site's next page, in sessionStorage under
 * "parley.open.<site key>". Everything the widget draws lives in an open
 * shadow root on <div id="parley-widget">, and every piece of text that
 * comes from the server is set with textContent.
 *
 * A first-time visitor costs the page nothing but this file and the site's
 * look (one small, cached request): the session, the history and the live
 * connection start when the chat is opened. A returning visitor (a stored
 * token) connects at once, for the unread badge and their presence.
 */
(() => {
  'use strict';

  const W = window, D = document;
  if (W.Parley && W.Parley.visitorToken) return; // loaded twice
  // Calls the page made before this file loaded (see "identity" below).
  const earlyCalls = W.Parley && Array.isArray(W.Parley.q) ? W.Parley.q.slice() : [];

  const script = D.currentScript || D.querySelector('script[data-site-key]');
  const siteKey = script && script.getAttribute('data-site-key');
  if (!siteKey) {
    console.warn('Parley: the widget script has no data-site-key attribute.');
    return;
  }
  let base = '';
  try { base = new URL(script.src || '', location.href).origin; } catch (e) { /* keep empty */ }
  if (!base || base === 'null') base = location.origin;
  const API = base + '/api/widget/v1';
  // A site's Content-Security-Policy that refuses Parley: the console says
  // once what the widget needs (README: sites with a Content-Security-Policy).
  const wsBase = base.replace(/^http/, 'ws');
  let policyTold = false;
  // Only what the widget asks for counts (a page served beside Parley
  // refuses its own things too), and only a policy enforced.
  const ours = (u) => u.indexOf(base + '/api/widget/') === 0 || u.indexOf(wsBase + '/api/widget/') === 0;
  D.addEventListener('securitypolicyviolation', (e) => {
    const u = e.blockedURI || '';
    if (policyTold || e.disposition === 'report' || !/^(connect|img|script)-src/.test(e.effectiveDirective) || !ours(u)) return;
    policyTold = true;
    console.warn('Parley: this page\'s Content-Security-Policy (' + e.effectiveDirective + ') refuses ' + u.split('?')[0] +
      '; the widget needs ' + base + ' in script-src and img-src, and ' + base + ' ' + wsBase + ' in connect-src.');
  });
  const TOKEN_KEY = 'parley.visitor_token.' + siteKey;
  const SKIP_KEY = 'parley.contact_skipped.' + siteKey;
  const COLLECT_KEY = 'parley.collector_dismissed.' + siteKey;
  const OPTIN_KEY = 'parley.optin_dismissed.' + siteKey;
  const OPEN_KEY = 'parley.open.' + siteKey; // in this tab's session storage
  const PEND_KEY = 'parley.pending.' + siteKey; // messages not confirmed yet
  const DRAFT_KEY = 'parley.draft.' + siteKey; // in this tab's session storage
  const PEEK_KEY = 'parley.preview_hidden.' + siteKey; // in this tab's session storage
  const MAX_CHARS = 10000;
  const COUNTER_FROM = 9000;
  const PING_EVERY = 60000;

  // ---- language ------------------------------------------------------------
  // Every word the widget shows goes through t(key): English is the
  // fallback of every other language. The language is the page's (the
  // script's data-locale, else the browser's) until the session names the
  // one the server chose (which also follows the workspace's default).

  const L = {
    en: {
      askEmail: 'Your email address',
      typing: '{} is typing\u2026',
      confirmChange: 'This replaces {}, the address we have for you, and we will email {} to say so. Press the button again to change it.',
      open: 'Open chat', hide: 'Dismiss', close: 'Close chat', unread: '{} unread', chat: 'Chat', chatWith: 'Chat with {}',
      online: 'online', away: 'away', messages: 'Messages', reconnecting: 'Reconnecting\u2026', connecting: 'Connecting\u2026',
      name: 'Name', email: 'Email', cont: 'Continue', skip: 'Skip', notNow: 'Not now', save: 'Save', startChat: 'Start chat',
      sending: 'Sending\u2026', seen: 'Seen', message: 'Message', placeholder: 'Write a message\u2026', send: 'Send message',
      retry: 'Not sent yet \u2014 will retry', agent: 'Agent', you: 'You', newFrom: 'New message from {}: ', newBelow: 'New messages below',
      notSent: 'Your message could not be sent.', wrong: 'Something went wrong.', awayKnown: 'If you leave, our answer goes to {}.', emailKept: 'Thanks: we have your address, {}.',
      tooLong: 'Your message is too long (at most 10,000 characters).', tooFast: "You're sending messages too fast",
      badEmail: 'Please enter a valid email address.', emailOrSkip: 'Add your email address, or choose Skip.',
      introOffline: "We're away right now. Leave your email and we'll get back to you.",
      introOnline: 'Please tell us who you are before we start.',
      introOptional: "Leave your email so we can reply even after you've left (optional).",
      collect: 'Get the replies by email if you leave', collectDismiss: 'No thanks', changeEmail: 'Change',
      introUnsubscribed: 'You unsubscribed this address: replies you miss are not emailed to you.',
      introBouncing: 'Emails to this address could not be delivered, so replies you miss are not emailed.',
      optIn: 'Email me the replies I miss at this address', optInNeeded: 'Tick the box to get emails again, or choose Not now.',
      optInSent: 'We sent a link to {}: open it to get the replies by email again.',
      attach: 'Attach a file', uploading: 'Uploading\u2026', too_large: 'This file is too large (at most 10 MB).',
      unsupported_type: 'This type of file cannot be sent. Send an image, a PDF, a text or office document, or a ZIP.',
      empty_file: 'This file is empty.', quota_exceeded: 'Files cannot be received right now. Please describe it in a message instead.',
      rate_limited: "You're sending files too fast. Wait a moment and try again.", failed: 'The file could not be sent. Try again.',
    },
    fr: {
      askEmail: 'Votre adresse e-mail',
      typing: '{} écrit\u2026',
      confirmChange: 'Cette adresse remplacera {}, celle que nous avons pour vous, et nous écrirons à {} pour le signaler. Appuyez de nouveau sur le bouton pour confirmer.',
      open: 'Ouvrir le chat', hide: 'Masquer', close: 'Fermer le chat', unread: '{} non lu|{} non lus', chat: 'Chat', chatWith: 'Discuter avec {}',
      online: 'en ligne', away: 'absent', messages: 'Messages', reconnecting: 'Reconnexion\u2026', connecting: 'Connexion\u2026',
      name: 'Nom', email: 'E-mail', cont: 'Continuer', skip: 'Passer', notNow: 'Plus tard', save: 'Enregistrer', startChat: 'Démarrer',
      sending: 'Envoi\u2026', seen: 'Vu', message: 'Message', placeholder: 'Écrivez votre message\u2026', send: 'Envoyer le message',
      retry: 'Pas encore envoyé \u2014 nouvel essai bientôt', agent: 'Conseiller', you: 'Vous', newFrom: 'Nouveau message de {}\u00a0: ', newBelow: 'Nouveaux messages plus bas',
      notSent: "Votre message n'a pas pu être envoyé.", wrong: "Une erreur s'est produite.", awayKnown: 'Si vous partez, notre réponse ira à {}.', emailKept: 'Merci : nous avons votre adresse, {}.',
      tooLong: 'Votre message est trop long (10\u00a0000 caractères au maximum).', tooFast: 'Vous envoyez des messages trop vite',
      badEmail: 'Saisissez une adresse e-mail valide.', emailOrSkip: 'Ajoutez votre adresse e-mail, ou choisissez Passer.',
      introOffline: 'Nous sommes absents pour le moment. Laissez votre e-mail et nous vous répondrons.',
      introOnline: 'Dites-nous qui vous êtes avant de commencer.',
      introOptional: 'Laissez votre e-mail pour recevoir notre réponse même après votre départ (facultatif).',
      collect: 'Recevez les réponses par e-mail si vous partez', collectDismiss: 'Non merci', changeEmail: 'Modifier',
      introUnsubscribed: 'Vous avez désabonné cette adresse\u00a0: les réponses manquées ne vous sont pas envoyées.',
      introBouncing: "Les e-mails vers cette adresse n'ont pas pu être remis\u00a0: les réponses manquées ne vous sont pas envoyées.",
      optIn: "M'envoyer les réponses manquées à cette adresse", optInNeeded: 'Cochez la case pour recevoir à nouveau les e-mails, ou choisissez Plus tard.',
      optInSent: 'Nous avons envoyé un lien à {} : ouvrez-le pour recevoir à nouveau les réponses par e-mail.',
      attach: 'Joindre un fichier', uploading: 'Envoi du fichier\u2026', too_large: 'Ce fichier est trop volumineux (10\u00a0Mo au maximum).',
      unsupported_type: "Ce type de fichier ne peut pas être envoyé. Envoyez une image, un PDF, un document texte ou bureautique, ou un ZIP.",
      empty_file: 'Ce fichier est vide.', quota_exceeded: 'Les fichiers ne peuvent pas être reçus pour le moment. Décrivez-le plutôt dans un message.',
      rate_limited: 'Vous envoyez des fichiers trop vite. Patientez un instant et réessayez.', failed: "Le fichier n'a pas pu être envoyé. Réessayez.",
    },
    de: {
      askEmail: 'Ihre E-Mail-Adresse',
      typing: '{} schreibt\u2026',
      confirmChange: 'Damit ersetzen Sie {}, die Adresse, die wir von Ihnen haben, und wir schreiben an {}, um darauf hinzuweisen. Klicken Sie zum Bestätigen erneut auf die Schaltfläche.',
      open: 'Chat öffnen', hide: 'Ausblenden', close: 'Chat schließen', unread: '{} ungelesen', chat: 'Chat', chatWith: 'Chat mit {}',
      online: 'online', away: 'abwesend', messages: 'Nachrichten', reconnecting: 'Verbindung wird wiederhergestellt\u2026', connecting: 'Verbinden\u2026',
      name: 'Name', email: 'E-Mail', cont: 'Weiter', skip: 'Überspringen', notNow: 'Nicht jetzt', save: 'Speichern', startChat: 'Chat starten',
      sending: 'Wird gesendet\u2026', seen: 'Gesehen', message: 'Nachricht', placeholder: 'Schreiben Sie eine Nachricht\u2026', send: 'Nachricht senden',
      retry: 'Noch nicht gesendet \u2013 wird erneut versucht', agent: 'Support', you: 'Sie', newFrom: 'Neue Nachricht von {}: ', newBelow: 'Neue Nachrichten unten',
      notSent: 'Ihre Nachricht konnte nicht gesendet werden.', wrong: 'Etwas ist schiefgelaufen.', awayKnown: 'Wenn Sie gehen, geht unsere Antwort an {}.', emailKept: 'Danke: Wir haben Ihre Adresse, {}.',
      tooLong: 'Ihre Nachricht ist zu lang (höchstens 10.000 Zeichen).', tooFast: 'Sie senden zu schnell Nachrichten',
      badEmail: 'Bitte geben Sie eine gültige E-Mail-Adresse ein.', emailOrSkip: 'Geben Sie Ihre E-Mail-Adresse ein oder wählen Sie Überspringen.',
      introOffline: 'Wir sind gerade nicht da. Hinterlassen Sie Ihre E-Mail-Adresse, wir melden uns bei Ihnen.',
      introOnline: 'Bitte sagen Sie uns kurz, wer Sie sind.',
      introOptional: 'Hinterlassen Sie Ihre E-Mail-Adresse, damit wir Ihnen auch später antworten können (optional).',
      collect: 'Antworten per E-Mail erhalten, wenn Sie gehen', collectDismiss: 'Nein danke', changeEmail: 'Ändern',
      introUnsubscribed: 'Sie haben diese Adresse abgemeldet: Verpasste Antworten werden Ihnen nicht gemailt.',
      introBouncing: 'E-Mails an diese Adresse kamen nicht an, daher werden verpasste Antworten nicht gemailt.',
      optIn: 'Verpasste Antworten an diese Adresse mailen', optInNeeded: 'Setzen Sie das Häkchen, um wieder E-Mails zu erhalten, oder wählen Sie Nicht jetzt.',
      optInSent: 'Wir haben einen Link an {} gesendet: Öffnen Sie ihn, um die Antworten wieder per E-Mail zu erhalten.',
      attach: 'Datei anhängen', uploading: 'Wird hochgeladen\u2026', too_large: 'Diese Datei ist zu groß (höchstens 10 MB).',
      unsupported_type: 'Dieser Dateityp kann nicht gesendet werden. Senden Sie ein Bild, ein PDF, ein Text- oder Office-Dokument oder eine ZIP-Datei.',
      empty_file: 'Diese Datei ist leer.', quota_exceeded: 'Dateien können gerade nicht empfangen werden. Beschreiben Sie sie bitte in einer Nachricht.',
      rate_limited: 'Sie senden zu schnell Dateien. Warten Sie kurz und versuchen Sie es erneut.', failed: 'Die Datei konnte nicht gesendet werden. Versuchen Sie es erneut.',
    },
    es: {
      askEmail: 'Tu dirección de correo',
      typing: '{} está escribiendo\u2026',
      confirmChange: 'Esto sustituye a {}, la dirección que tenemos tuya, y escribiremos a {} para avisarte. Pulsa el botón otra vez para cambiarla.',
      open: 'Abrir el chat', hide: 'Ocultar', close: 'Cerrar el chat', unread: '{} sin leer', chat: 'Chat', chatWith: 'Chat con {}',
      online: 'en línea', away: 'ausente', messages: 'Mensajes', reconnecting: 'Reconectando\u2026', connecting: 'Conectando\u2026',
      name: 'Nombre', email: 'Correo electrónico', cont: 'Continuar', skip: 'Omitir', notNow: 'Ahora no', save: 'Guardar', startChat: 'Empezar el chat',
      sending: 'Enviando\u2026', seen: 'Visto', message: 'Mensaje', placeholder: 'Escribe tu mensaje\u2026', send: 'Enviar mensaje',
      retry: 'Aún sin enviar \u2014 se volverá a intentar', agent: 'Agente', you: 'Tú', newFrom: 'Nuevo mensaje de {}: ', newBelow: 'Mensajes nuevos abajo',
      notSent: 'No se pudo enviar tu mensaje.', wrong: 'Algo salió mal.', awayKnown: 'Si te vas, nuestra respuesta irá a {}.', emailKept: 'Gracias: tenemos tu dirección, {}.',
      tooLong: 'Tu mensaje es demasiado largo (10.000 caracteres como máximo).', tooFast: 'Estás enviando mensajes demasiado rápido',
      badEmail: 'Introduce una dirección de correo válida.', emailOrSkip: 'Añade tu dirección de correo o elige Omitir.',
      introOffline: 'Ahora mismo no estamos. Déjanos tu correo y te responderemos.',
      introOnline: 'Cuéntanos quién eres antes de empezar.',
      introOptional: 'Déjanos tu correo para poder responderte aunque te vayas (opcional).',
      collect: 'Recibe las respuestas por correo si te vas', collectDismiss: 'No, gracias', changeEmail: 'Cambiar',
      introUnsubscribed: 'Diste de baja esta dirección: no te enviamos por correo las respuestas que te pierdas.',
      introBouncing: 'Los correos a esta dirección no se pudieron entregar, así que no te enviamos las respuestas que te pierdas.',
      optIn: 'Enviarme a esta dirección las respuestas que me pierda', optInNeeded: 'Marca la casilla para volver a recibir correos, o elige Ahora no.',
      optInSent: 'Te enviamos un enlace a {}: ábrelo para volver a recibir las respuestas por correo.',
      attach: 'Adjuntar un archivo', uploading: 'Subiendo\u2026', too_large: 'Este archivo es demasiado grande (10 MB como máximo).',
      unsupported_type: 'Este tipo de archivo no se puede enviar. Envía una imagen, un PDF, un documento de texto u ofimática, o un ZIP.',
      empty_file: 'Este archivo está vacío.', quota_exceeded: 'Ahora no se pueden recibir archivos. Descríbelo en un mensaje.',
      rate_limited: 'Estás enviando archivos demasiado rápido. Espera un momento y vuelve a intentarlo.', failed: 'No se pudo enviar el archivo. Inténtalo de nuevo.',
    },
    it: {
      askEmail: 'Il tuo indirizzo email',
      typing: '{} sta scrivendo\u2026',
      confirmChange: 'Questo sostituisce {}, l\'indirizzo che abbiamo per te, e scriveremo a {} per avvisarti. Premi di nuovo il pulsante per cambiarlo.',
      open: 'Apri la chat', hide: 'Nascondi', close: 'Chiudi la chat', unread: '{} non letto|{} non letti', chat: 'Chat', chatWith: 'Chat con {}',
      online: 'online', away: 'assenti', messages: 'Messaggi', reconnecting: 'Riconnessione\u2026', connecting: 'Connessione\u2026',
      name: 'Nome', email: 'Email', cont: 'Continua', skip: 'Salta', notNow: 'Non ora', save: 'Salva', startChat: 'Inizia la chat',
      sending: 'Invio\u2026', seen: 'Visto', message: 'Messaggio', placeholder: 'Scrivi un messaggio\u2026', send: 'Invia il messaggio',
      retry: 'Non ancora inviato \u2014 nuovo tentativo a breve', agent: 'Operatore', you: 'Tu', newFrom: 'Nuovo messaggio da {}: ', newBelow: 'Nuovi messaggi più in basso',
      notSent: 'Non è stato possibile inviare il messaggio.', wrong: 'Qualcosa è andato storto.', awayKnown: 'Se te ne vai, la nostra risposta arriverà a {}.', emailKept: 'Grazie: abbiamo il tuo indirizzo, {}.',
      tooLong: 'Il messaggio è troppo lungo (al massimo 10.000 caratteri).', tooFast: 'Stai inviando messaggi troppo velocemente',
      badEmail: 'Inserisci un indirizzo email valido.', emailOrSkip: 'Aggiungi il tuo indirizzo email oppure scegli Salta.',
      introOffline: 'Al momento non ci siamo. Lasciaci la tua email e ti risponderemo.',
      introOnline: 'Prima di iniziare, dicci chi sei.',
      introOptional: 'Lasciaci la tua email così possiamo risponderti anche dopo che sei uscito (facoltativo).',
      collect: 'Ricevi le risposte via email se esci', collectDismiss: 'No, grazie', changeEmail: 'Modifica',
      introUnsubscribed: 'Hai disattivato questo indirizzo: le risposte che perdi non ti vengono inviate via email.',
      introBouncing: 'Le email a questo indirizzo non sono state consegnate, quindi le risposte che perdi non ti vengono inviate.',
      optIn: 'Inviami a questo indirizzo le risposte che perdo', optInNeeded: 'Spunta la casella per ricevere di nuovo le email, oppure scegli Non ora.',
      optInSent: 'Ti abbiamo inviato un link a {}: aprilo per ricevere di nuovo le risposte via email.',
      attach: 'Allega un file', uploading: 'Caricamento\u2026', too_large: 'Questo file è troppo grande (al massimo 10 MB).',
      unsupported_type: 'Questo tipo di file non si può inviare. Invia un\'immagine, un PDF, un documento di testo o da ufficio, o uno ZIP.',
      empty_file: 'Questo file è vuoto.', quota_exceeded: 'Al momento non è possibile ricevere file. Descrivilo in un messaggio.',
      rate_limited: 'Stai inviando file troppo velocemente. Attendi un momento e riprova.', failed: 'Non è stato possibile inviare il file. Riprova.',
    },
    pt: {
      askEmail: 'Seu endereço de e-mail',
      typing: '{} está digitando\u2026',
      confirmChange: 'Isto substitui {}, o endereço que temos de você, e enviaremos um e-mail para {} avisando. Pressione o botão de novo para alterar.',
      open: 'Abrir o chat', hide: 'Ocultar', close: 'Fechar o chat', unread: '{} não lida|{} não lidas', chat: 'Chat', chatWith: 'Chat com {}',
      online: 'online', away: 'ausente', messages: 'Mensagens', reconnecting: 'Reconectando\u2026', connecting: 'Conectando\u2026',
      name: 'Nome', email: 'E-mail', cont: 'Continuar', skip: 'Pular', notNow: 'Agora não', save: 'Salvar', startChat: 'Iniciar o chat',
      sending: 'Enviando\u2026', seen: 'Visto', message: 'Mensagem', placeholder: 'Escreva sua mensagem\u2026', send: 'Enviar mensagem',
      retry: 'Ainda não enviada \u2014 tentaremos de novo', agent: 'Atendente', you: 'Você', newFrom: 'Nova mensagem de {}: ', newBelow: 'Novas mensagens abaixo',
      notSent: 'Não foi possível enviar sua mensagem.', wrong: 'Algo deu errado.', awayKnown: 'Se você sair, nossa resposta irá para {}.', emailKept: 'Obrigado: temos seu endereço, {}.',
      tooLong: 'Sua mensagem é longa demais (no máximo 10.000 caracteres).', tooFast: 'Você está enviando mensagens rápido demais',
      badEmail: 'Informe um endereço de e-mail válido.', emailOrSkip: 'Informe seu endereço de e-mail ou escolha Pular.',
      introOffline: 'No momento não estamos aqui. Deixe seu e-mail e responderemos em breve.',
      introOnline: 'Antes de começar, conte quem você é.',
      introOptional: 'Deixe seu e-mail para podermos responder mesmo depois que você sair (opcional).',
      collect: 'Receba as respostas por e-mail se sair', collectDismiss: 'Não, obrigado', changeEmail: 'Alterar',
      introUnsubscribed: 'Você cancelou este endereço: as respostas que perder não são enviadas por e-mail.',
      introBouncing: 'Os e-mails para este endereço não foram entregues, então as respostas que perder não são enviadas.',
      optIn: 'Enviar para este endereço as respostas que eu perder', optInNeeded: 'Marque a caixa para voltar a receber e-mails, ou escolha Agora não.',
      optInSent: 'Enviamos um link para {}: abra-o para voltar a receber as respostas por e-mail.',
      attach: 'Anexar um arquivo', uploading: 'Enviando arquivo\u2026', too_large: 'Este arquivo é grande demais (no máximo 10 MB).',
      unsupported_type: 'Este tipo de arquivo não pode ser enviado. Envie uma imagem, um PDF, um documento de texto ou do Office, ou um ZIP.',
      empty_file: 'Este arquivo está vazio.', quota_exceeded: 'No momento não é possível receber arquivos. Descreva-o em uma mensagem.',
      rate_limited: 'Você está enviando arquivos rápido demais. Aguarde um pouco e tente de novo.', failed: 'Não foi possível enviar o arquivo. Tente de novo.',
    },
    nl: {
      askEmail: 'Je e-mailadres',
      typing: '{} is aan het typen\u2026',
      confirmChange: 'Dit vervangt {}, het adres dat we van je hebben, en we mailen {} om dat te melden. Druk nogmaals op de knop om het te wijzigen.',
      open: 'Chat openen', hide: 'Verbergen', close: 'Chat sluiten', unread: '{} ongelezen', chat: 'Chat', chatWith: 'Chat met {}',
      online: 'online', away: 'afwezig', messages: 'Berichten', reconnecting: 'Opnieuw verbinden\u2026', connecting: 'Verbinden\u2026',
      name: 'Naam', email: 'E-mail', cont: 'Doorgaan', skip: 'Overslaan', notNow: 'Niet nu', save: 'Opslaan', startChat: 'Chat starten',
      sending: 'Versturen\u2026', seen: 'Gezien', message: 'Bericht', placeholder: 'Typ je bericht\u2026', send: 'Bericht versturen',
      retry: 'Nog niet verstuurd \u2014 we proberen het opnieuw', agent: 'Medewerker', you: 'Jij', newFrom: 'Nieuw bericht van {}: ', newBelow: 'Nieuwe berichten hieronder',
      notSent: 'Je bericht kon niet worden verstuurd.', wrong: 'Er ging iets mis.', awayKnown: 'Als je weggaat, gaat ons antwoord naar {}.', emailKept: 'Bedankt: we hebben je adres, {}.',
      tooLong: 'Je bericht is te lang (maximaal 10.000 tekens).', tooFast: 'Je verstuurt te snel berichten',
      badEmail: 'Vul een geldig e-mailadres in.', emailOrSkip: 'Vul je e-mailadres in of kies Overslaan.',
      introOffline: 'We zijn er nu even niet. Laat je e-mailadres achter, dan nemen we contact met je op.',
      introOnline: 'Vertel ons eerst even wie je bent.',
      introOptional: 'Laat je e-mailadres achter, dan kunnen we ook antwoorden als je weg bent (optioneel).',
      collect: 'Ontvang de antwoorden per e-mail als je weggaat', collectDismiss: 'Nee, bedankt', changeEmail: 'Wijzigen',
      introUnsubscribed: 'Je hebt dit adres afgemeld: gemiste antwoorden worden je niet gemaild.',
      introBouncing: 'E-mails naar dit adres kwamen niet aan, dus gemiste antwoorden worden niet gemaild.',
      optIn: 'Mail mij gemiste antwoorden op dit adres', optInNeeded: 'Vink het vakje aan om weer e-mails te krijgen, of kies Niet nu.',
      optInSent: 'We hebben een link naar {} gestuurd: open die om de antwoorden weer per e-mail te krijgen.',
      attach: 'Bestand bijvoegen', uploading: 'Uploaden\u2026', too_large: 'Dit bestand is te groot (maximaal 10 MB).',
      unsupported_type: 'Dit type bestand kan niet worden verstuurd. Stuur een afbeelding, een pdf, een tekst- of Office-document of een zip.',
      empty_file: 'Dit bestand is leeg.', quota_exceeded: 'Bestanden kunnen nu niet worden ontvangen. Beschrijf het liever in een bericht.',
      rate_limited: 'Je verstuurt te snel bestanden. Wacht even en probeer het opnieuw.', failed: 'Het bestand kon niet worden verstuurd. Probeer het opnieuw.',
    },
  };

  // pickLang returns the supported language of a BCP 47 tag ("fr-CA" → fr).
  const pickLang = (tag) => {
    const l = String(tag || '').toLowerCase().split(/[-_]/)[0];
    return L[l] ? l : '';
  };
  let lang = pickLang(script.getAttribute('data-locale')) || pickLang(navigator.language) || 'en';
  const locale = script.getAttribute('data-locale') || navigator.language || '';
  // t is the text k in the widget's language; with a count a, "{}" is a
  // and "one|other" picks the form for it.
  const t = (k, a) => {
    let s = (L[lang] && L[lang][k]) || L.en[k] || k;
    if (a == null) return s;
    if (typeof a === 'number' && s.includes('|')) {
      let one = a === 1;
      try { one = new Intl.PluralRules(lang).select(a) === 'one'; } catch (e) { /* no Intl */ }
      s = s.split('|')[one ? 0 : 1];
    }
    return s.split('{}').join(a);
  };

  // ---- look ------------------------------------------------------------------
  // The workspace's colour, side, greeting and away note (the session's
  // "widget"); before the session answers, the cached look of the site.

  let look = null;

  // WCAG relative luminance of #rrggbb, and the contrast ratio of two.
  function luminance(hex) {
    const c = [1, 3, 5].map((i) => {
      const v = parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  const contrast = (a, b) => {
    const x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  };
  const DARK = '#1f2937';
  // onColor: white text when it reads at 4.5:1 (WCAG AA), else dark, else
  // black, which always does (internal/contrast has the same rule).
  const onColor = (c) => (contrast(c, '#ffffff') >= 4.5 ? '#ffffff' : contrast(c, DARK) >= 4.5 ? DARK : '#000000');

  function applyLook() {
    if (!ready || !look) return;
    const c = /^#[0-9a-f]{6}$/i.test(look.color || '') ? look.color : '#2563eb';
    root.style.setProperty('--p', c);
    root.style.setProperty('--on', onColor(c));
    // Focus rings and outlines on white need 3:1 (WCAG 1.4.11).
    root.style.setProperty('--ring', contrast(c, '#ffffff') >= 3 ? c : DARK);
    root.classList.toggle('left', look.position === 'left');
    sync();
  }

  // retext sets every fixed word of the window in the current language.
  function retext() {
    if (!ready) return;
    const $ = (n) => shadow.querySelector('[data-parley="' + n + '"]');
    $('close').setAttribute('aria-label', t('close'));
    $('preview-hide').setAttribute('aria-label', t('hide'));
    list.setAttribute('aria-label', t('messages'));
    $('name-label').textContent = t('name');
    $('email-label').textContent = t('email');
    $('contact-optin-label').textContent = t('optIn');
    $('collector-text').textContent = t('collect');
    collectBtn.textContent = t('save');
    $('collector-dismiss').textContent = t('collectDismiss');
    input.setAttribute('aria-label', t('message'));
    input.placeholder = t('placeholder');
    sendBtn.setAttribute('aria-label', t('send'));
    const at = $('attach');
    if (at) { at.setAttribute('aria-label', t('attach')); at.title = t('attach'); }
    root.lang = lang;
    sync();
    render();
  }

  // store keeps the visitor's choices on this site; tab those of this tab
  // (whether the chat is open), for the site's next page. A null removes.
  const keep = (s) => ({
    get(k) { try { return s().getItem(k); } catch (e) { return null; } },
    set(k, v) { try { if (v == null) s().removeItem(k); else s().setItem(k, v); } catch (e) { /* storage disabled */ } },
  });
  const store = keep(() => localStorage), tab = keep(() => sessionStorage);

  // ---- state ---------------------------------------------------------------

  let token = store.get(TOKEN_KEY);
  // A link from a forwarded email opens a page carrying the visitor's token,
  // so the conversation continues on any device.
  const given = script.getAttribute('data-visitor-token');
  if (given) { token = given; store.set(TOKEN_KEY, given); }
  // A link from a forwarded email (the chat-link page) carries no token but
  // a signed link, which the session exchanges for this visitor's token.
  let continueLink = script.getAttribute('data-continue');
  let visitor = null, convId = null, available = false, required = false;
  let cfg = null; // {offline_requires_form, online}: optional server extension
  let wsName = '';
  let skippedFor = store.get(SKIP_KEY); // the visitor token that skipped the optional form
  let optinDismissed = store.get(OPTIN_KEY); // token|address|status whose opt-in offer was declined
  let autoSend = false; // send the kept composer text once the contact is saved
  let contactQueued = null, contactBusy = false;
  let pinned = true; // the message list is scrolled to its end
  let contactField = null; // the field the address was sent from: the server's refusal goes under it
  let emailSent = false; // an email field's address went: confirm it once saved
  let changeConfirmed = null; // the new address the visitor confirmed replacing theirs with
  // The email collector: offered once forwarding is on, the visitor has no
  // email and an agent reply was shown; never again once dismissed.
  let forwarding = false, agentShown = false, collectDismissed = store.get(COLLECT_KEY) === '1';
  // changing: the visitor asked to change the address answers go to (one
  // taken from a message may be someone else's): the collector shows it.
  let changing = false;
  let pageTitle = '', flagged = ''; // the page's own title while the widget's is shown
  let asked = false; // an agent asked for the email: its own field stands for the collector

  const msgs = new Map(); // id -> Message (confirmed by the server)
  const pend = new Map(); // client_id -> {cid, body, sent, http, failed, s}
  const nodes = new Map(); // 'm:'+id | 'p:'+client_id -> element
  const seen = new Set(); // ids shown to the visitor in an open, visible window
  let seq = 0, lastReadSent = null, readOwed = null;

  let ws = null, wsUp = false, everOpened = false, historyLoaded = false, seenId = '';
  let attempt = 0, reconnectTimer = 0, holdOffUntil = 0;
  let frozen = false; // the page is in the back/forward cache: no connection
  let optInAsked = false; // the opt-in box was ticked: its answer is awaited
  let dirty = false, lastPing = 0, pingTimer = 0;

  let ready = false, wantOpen = script.hasAttribute('data-open'), isOpen = false;
  let started = false, sessionUp = false; // the session was asked for / answered
  let wsFailed = false; // a WebSocket closed before it ever opened
  let host, shadow, root, launcher, badge, win, titleEl, statusEl, list, connEl, noteEl, announcer;
  let newBelow; // the button that says replies arrived below the list's view
  let form, introEl, nameIn, emailIn, optinRow, optinBox, submitBtn, skipBtn, composer, input, sendBtn, counter, errEl = null;
  let collector, collectIn, collectBtn;
  let peek, peekAv, peekName, peekBody;
  const previews = script.getAttribute('data-preview') !== 'off';

  // ---- helpers -------------------------------------------------------------

  // The window covers the whole page on a narrow or short screen (the same
  // media query as the CSS): it is then a modal dialog and keeps the focus.
  const fullScreen = W.matchMedia('(max-width:480px),(max-height:500px)');
  const modal = () => fullScreen.matches;
  // On a touch screen a field that takes the focus brings the keyboard up
  // over the chat just opened: the window itself takes it there (a screen
  // reader is inside it all the same) and the visitor taps where to write.
  const touch = W.matchMedia('(pointer:coarse)');
  // A chat left open on the site's previous page (within half an hour)
  // opens again beside this one, without taking the focus; not over a
  // phone's whole page. OPEN_KEY holds when the chat was last opened, or
  // last used open (see activity).
  let openNoted = 0; // when this page last wrote OPEN_KEY
  let restoring = !wantOpen && !modal() && Date.now() - tab.get(OPEN_KEY) < 18e5;
  if (restoring) wantOpen = true;

  function h(tag, cls, text) {
    const e = D.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function uuid() {
    const c = W.crypto;
    if (c && c.randomUUID) { try { return c.randomUUID(); } catch (e) { /* insecure context */ } }
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const x = Array.from(b, (v) => (v + 256).toString(16).slice(1)).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }

  const pad = (n) => String(n).padStart(2, '0');
  // timeLocale is the widget's language in the browser's region when the
  // browser speaks it ("en" in an American browser: "en-US", "2:05 PM";
  // in a British one "14:05"), else the language alone.
  const timeLocale = () => {
    const b = (navigator.language || '').toLowerCase(), l = lang.toLowerCase();
    return b === l || b.startsWith(l + '-') ? navigator.language : lang;
  };
  let fmtHM = null;
  function hourMinute(d) {
    const loc = timeLocale();
    try {
      if (!fmtHM || fmtHM.loc !== loc) {
        const o = { hour: 'numeric', minute: '2-digit' };
        // A browser whose language the widget does not speak (Japanese,
        // Arabic…) still gets its own clock, 12- or 24-hour.
        if (loc === lang && !pickLang(navigator.language)) {
          o.hourCycle = new Intl.DateTimeFormat(navigator.language || undefined, { hour: 'numeric' }).resolvedOptions().hourCycle;
        }
        fmtHM = { loc, f: new Intl.DateTimeFormat(loc, o) };
      }
      return fmtHM.f.format(d);
    } catch (e) {
      return pad(d.getHours()) + ':' + pad(d.getMinutes()); // no Intl
    }
  }
  // hhmm: "14:05" today, "3 Dec 14:05" on an earlier day (the year too
  // when another).
  function hhmm(t) {
    const d = new Date(t), now = new Date();
    if (isNaN(d)) return '';
    const hm = hourMinute(d);
    return d.toDateString() === now.toDateString() ? hm
      : d.toLocaleDateString(timeLocale(), { day: 'numeric', month: 'short', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' }) + ' ' + hm;
  }

  // initials: "Ada Lovelace" → "AL", for an agent without a picture: the
  // first letter or digit of the name's first and last words ("(Ben)
  // O'Brien" → "BO"), as the dashboard writes them.
  function initials(name) {
    const w = String(name || '').trim().split(/\s+/).map((x) => (x.match(/[\p{L}\p{N}]/u) || [''])[0]).filter(Boolean);
    if (!w.length) return '';
    return (w[0] + (w.length > 1 ? w[w.length - 1] : '')).toUpperCase();
  }

  // face: the agent's picture, else (none, or it fails) their initials.
  function face(el, name, pic) {
    el.textContent = initials(name);
    if (!pic) return;
    const i = new Image();
    i.alt = name;
    i.onerror = () => { el.textContent = initials(name); };
    i.src = pic;
    el.replaceChildren(i);
  }

  const chars = (s) => (s.length > COUNTER_FROM ? Array.from(s).length : s.length);

  async function api(method, path, body) {
    const res = await fetch(API + path, {
      method,
      mode: 'cors',
      credentials: 'omit',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await res.json(); } catch (e) { /* empty or not JSON */ }
    if (!res.ok) {
      const er = (data && data.error) || {};
      const err = new Error(er.message || 'HTTP ' + res.status);
      err.status = res.status;
      err.code = er.code;
      throw err;
    }
    return data;
  }

  const hasEmail = () => !!(visitor && visitor.email);
  const computeRequired = () =>
    !hasEmail() && (available ? cfg.online === 'required' : !!cfg.offline_requires_form);
  // An identified visitor whose address gets no email (unsubscribed or
  // bouncing) is offered to opt in again: only an explicit tick does it.
  const stopped = () => hasEmail() && (visitor.email_status === 'unsubscribed' || visitor.email_status === 'bouncing');
  const optinID = () => token + '|' + (visitor && visitor.email) + '|' + (visitor && visitor.email_status);
  const optinForm = () => stopped() && optinDismissed !== optinID();
  const optionalForm = () =>
    !!cfg && cfg.online === 'optional' && !hasEmail() && skippedFor !== token && !convId && !msgs.size && !pend.size;

  // ---- session -------------------------------------------------------------

  async function session() {
    const sentIdentity = identity;
    let s;
    if (continueLink) {
      try {
        // The link's visitor replaces whoever this browser was.
        s = await api('POST', '/session', withContext({ site_key: siteKey, continue_link: continueLink }));
      } catch (e) {
        if (!(e.status >= 400 && e.status < 500) || e.status === 429) throw e;
        console.warn('Parley: the link to the conversation was refused: ' + e.message);
      }
      continueLink = null;
    }
    if (!s) s = await api('POST', '/session', withContext(withIdentity(
      token ? { site_key: siteKey, visitor_token: token } : { site_key: siteKey })));
    if (!s || !s.visitor_token) throw new Error('bad session answer');
    if (token && s.visitor_token !== token) {
      // The old token was not accepted: this is a new visitor with nothing yet.
      msgs.clear(); seen.clear();
      lastReadSent = readOwed = null;
      for (const [k, el] of nodes) if (k[0] === 'm') { el.remove(); nodes.delete(k); }
      if (ws) { const old = ws; ws = null; wsUp = false; old.close(); }
    }
    token = s.visitor_token;
    store.set(TOKEN_KEY, token);
    visitor = s.visitor || visitor;
    convId = s.conversation_id || null;
    available = !!s.agents_available;
    required = !!s.contact_form_required;
    if (s.contact_form) cfg = s.contact_form;
    if (s.workspace_name) wsName = s.workspace_name;
    forwarding = !!s.email_forwarding;
    if (s.widget) look = s.widget;
    if (L[s.locale] && s.locale !== lang) { lang = s.locale; retext(); }
    applyLook();
    const first = !sessionUp;
    sessionUp = true;
    takePending();
    sync();
    if (first) afterFirstSession();
    if (ready && !ws) connect();
    if (identity !== sentIdentity) await session(); // identify() was called meanwhile
  }

  // afterFirstSession: the window may have been opened before the session
  // answered; the contact form may now replace the composer, and a message
  // sent meanwhile goes out.
  function afterFirstSession() {
    if (!ready || !isOpen) return;
    const active = shadow.activeElement;
    if (!active || active.closest('[hidden]')) focusFirst();
    if (autoSend && !required && input.value.trim()) {
      autoSend = false;
      send();
    }
  }

  // whenBody runs f once the page has a body.
  function whenBody(f) {
    if (D.body) f(); else D.addEventListener('DOMContentLoaded', f, { once: true });
  }

  // start asks for the session, retrying on network or server trouble. A
  // returning visitor's widget appears once it answered; a new visitor's
  // launcher is already there, and the widget goes away if the site key is
  // unknown.
  function start() {
    if (started) return;
    started = true;
    const attemptSession = async (n) => {
      try {
        await session();
      } catch (e) {
        if (e.status === 404 || e.code === 'unknown_site') {
          console.warn('Parley: unknown site key "' + siteKey + '"; the chat widget stays hidden.');
          teardown();
          return;
        }
        if (e.status >= 400 && e.status < 500 && e.status !== 429) {
          console.warn('Parley: the chat widget could not start: ' + e.message);
          teardown();
          return;
        }
        setTimeout(() => attemptSession(n + 1), backoff(n));
        return;
      }
      whenBody(() => { build(); connect(); });
    };
    attemptSession(0);
  }

  function boot() {
    if (token || wantOpen || identity) { start(); return; }
    whenBody(build);
    // A first-time visitor's launcher takes the site's look without a session.
    api('GET', '/look?site_key=' + encodeURIComponent(siteKey) + '&locale=' + encodeURIComponent(locale))
      .then((l) => {
        if (!l || sessionUp) return;
        look = l.widget || look;
        if (L[l.locale] && l.locale !== lang) { lang = l.locale; retext(); }
        applyLook();
      })
      .catch((e) => {
        // An unknown site key: no launcher that would vanish when clicked.
        if (!sessionUp && (e.status === 404 || e.code === 'unknown_site')) {
          console.warn('Parley: unknown site key "' + siteKey + '"; the chat widget stays hidden.');
          teardown();
        }
        // Anything else: the default look stays.
      });
  }

  function teardown() {
    if (host) host.remove();
    ready = false;
  }

  // Exponential backoff with jitter: about 1s, 2s, 4s ... capped at 30s.
  function backoff(n) {
    const d = Math.min(30000, 1000 * 2 ** Math.min(n, 5));
    return Math.min(30000, d * (0.75 + Math.random() * 0.5));
  }

  // ---- messages --------------------------------------------------------------

  function shown(m) {
    const k = m.author && m.author.kind;
    return (k === 'visitor' || k === 'agent') && (!m.kind || m.kind === 'reply');
  }

  // addMsg stores a server message, reconciling the optimistic copy that has
  // the same client_id. It reports whether the id was new.
  function addMsg(m, cid) {
    if (!m || !m.id) return false;
    cid = cid || m.client_id;
    if (cid && pend.has(cid)) {
      pend.delete(cid);
      const el = nodes.get('p:' + cid);
      nodes.delete('p:' + cid);
      if (el) {
        if (!nodes.has('m:' + m.id) && shown(m)) { el._sig = ''; nodes.set('m:' + m.id, el); }
        else el.remove();
      }
    }
    if (!shown(m)) return false;
    if (m.conversation_id) convId = m.conversation_id;
    const old = msgs.get(m.id);
    const t = Date.parse(m.created_at);
    m._t = isNaN(t) ? Date.now() : t;
    m._s = old ? old._s : ++seq;
    if (old && old.read_by_visitor_at && !m.read_by_visitor_at) m.read_by_visitor_at = old.read_by_visitor_at;
    msgs.set(m.id, m);
    return !old;
  }

  // claim finds the optimistic copy of a visitor message that came back without
  // its client_id (e.g. sent just before the connection dropped), by body.
  function claim(m) {
    if (m.client_id || msgs.has(m.id) || !m.author || m.author.kind !== 'visitor') return m.client_id;
    for (const p of pend.values()) if (p.sent && p.body === m.body) return p.cid;
    return undefined;
  }

  function dropPending(p) {
    pend.delete(p.cid);
    const el = nodes.get('p:' + p.cid);
    if (el) el.remove();
    nodes.delete('p:' + p.cid);
  }

  async function loadMessages() {
    if (!token) return;
    let r;
    try {
      r = await api('GET', '/messages?visitor_token=' + encodeURIComponent(token));
    } catch (e) {
      return; // the next (re)connection fetches again
    }
    for (const m of (r && r.messages) || []) if (m && m.id) addMsg(m, claim(m));
    if (r && r.seen_id > seenId) seenId = r.seen_id;
    historyLoaded = true;
    update();
  }

  // newest returns the newest message from the team (the read cursor only
  // needs to cover their replies).
  function newest() {
    let best = null;
    for (const m of msgs.values()) {
      if (m.author && m.author.kind === 'visitor') continue;
      if (!best || m._t > best._t || (m._t === best._t && m._s > best._s)) best = m;
    }
    return best;
  }

  // atEnd: the end of the message list is in view (within 60 px).
  const atEnd = () => list.scrollHeight - list.scrollTop - list.clientHeight < 60;

  // Read receipts move only while the window is open, the page visible
  // and the end of the list in view (or about to be: toBottom): a reply
  // that arrives while the visitor reads older messages is not read yet
  // (a button says it is there), and is emailed if they leave without it.
  function maybeRead(toBottom) {
    if (!isOpen || D.visibilityState !== 'visible') return;
    if (!toBottom && list && !atEnd()) return;
    const n = newest();
    if (!n) return;
    for (const id of msgs.keys()) seen.add(id);
    if (n.id !== lastReadSent && !n.read_by_visitor_at) readOwed = n.id;
    flushRead();
  }

  function flushRead() {
    if (readOwed && readOwed !== lastReadSent && wsSend({ type: 'read', message_id: readOwed })) {
      lastReadSent = readOwed;
      readOwed = null;
    }
  }

  // Messages the server has not confirmed outlive the page: a visitor who
  // follows a link, reloads or closes the tab while one says "Not sent
  // yet" finds it sent from the next page (the server takes a client_id
  // once). They are kept for the visitor who wrote them (by token), and
  // only once this page has taken over those of the page before.
  let pendTaken = false, pendKept = null;
  // keepPending runs with every render: the storage is written only when
  // what it holds would change.
  function keepPending() {
    if (!pendTaken) return;
    const items = [];
    for (const p of pend.values()) if (!p.uploading) items.push({ cid: p.cid, body: p.body, files: p.files || [] });
    const v = items.length && token ? JSON.stringify({ token, items }) : null;
    if (v === pendKept) return;
    pendKept = v;
    store.set(PEND_KEY, v);
  }
  function takePending() {
    if (pendTaken) return;
    pendTaken = true;
    let kept = null;
    try { kept = JSON.parse(store.get(PEND_KEY) || 'null'); } catch (e) { /* unreadable: dropped */ }
    if (!kept || kept.token !== token || !Array.isArray(kept.items)) { store.set(PEND_KEY, null); return; }
    for (const k of kept.items) {
      if (!k || typeof k.cid !== 'string' || pend.has(k.cid)) continue;
      const files = Array.isArray(k.files) ? k.files.filter((a) => a && typeof a.id === 'string') : [];
      pend.set(k.cid, { cid: k.cid, body: String(k.body || ''), files, sent: false, http: false, failed: false, s: ++seq });
    }
    render(true);
  }

  // ---- sending ---------------------------------------------------------------

  function send() {
    if (!ready) return;
    const body = input.value.trim();
    if (!body) return;
    clearError();
    if (chars(body) > MAX_CHARS) { showError(t('tooLong')); return; }
    if (!sessionUp) {
      autoSend = true; // sent once the session answers
      return;
    }
    if (required) {
      autoSend = true; // keep the text; send it once the contact is saved
      sync();
      focusFirst();
      return;
    }
    input.value = '';
    onInput();
    const p = { cid: uuid(), body, sent: false, http: false, failed: false, s: ++seq };
    pend.set(p.cid, p);
    transmit(p);
    update(true);
  }

  // A connection can die without closing (a train's tunnel, a phone that
  // changed networks): the server confirms a message at once, so one not
  // confirmed within ackWait means the connection is gone. It is closed,
  // the message says "Not sent yet", and the reconnection sends it again
  // (the server takes a client_id once).
  const ackWait = 10000;
  let ackTimer = 0;
  function watchAck() {
    clearTimeout(ackTimer);
    const waiting = Array.from(pend.values()).filter((p) => p.sentAt && p.sent && !p.http && !p.uploading);
    if (!waiting.length) return;
    const due = Math.min(...waiting.map((p) => p.sentAt)) + ackWait - Date.now();
    ackTimer = setTimeout(() => {
      const late = Array.from(pend.values()).filter((p) => p.sentAt && p.sent && !p.http && Date.now() - p.sentAt >= ackWait);
      if (late.length && ws) {
        for (const p of late) { p.failed = true; p.sentAt = 0; }
        const dead = ws;
        dead.onclose && dead.onclose(); // at once, not after the browser's own timeout
        try { dead.close(); } catch (e) { /* closed already */ }
        render();
      }
      watchAck();
    }, Math.max(due, 0));
  }

  function transmit(p) {
    if (wsSend(messageFrame(p))) {
      p.sent = true;
      p.sentAt = Date.now();
      watchAck();
      return;
    }
    p.http = true;
    api('POST', '/messages', Object.assign({ visitor_token: token }, messageFrame(p)))
      .then((m) => {
        p.http = false;
        addMsg(m, p.cid);
        update();
      })
      .catch((e) => {
        p.http = false;
        if (e.status >= 400 && e.status < 500) {
          onError(e.code || 'error', e.message, p.cid);
        } else {
          // Network or server trouble: keep it and resend (same client_id) on reconnect.
          p.sent = p.failed = true;
          render();
        }
      });
  }

  function restore(body) {
    input.value = input.value.trim() ? input.value + '\n' + body : body;
    onInput();
  }

  // ---- WebSocket -------------------------------------------------------------

  function wsSend(o) {
    if (!ws || !wsUp || ws.readyState !== 1) return false;
    try { ws.send(JSON.stringify(o)); return true; } catch (e) { return false; }
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (ws || !token || frozen) return;
    let sock;
    try {
      sock = new WebSocket(wsBase + '/api/widget/v1/ws?visitor_token=' + encodeURIComponent(token));
    } catch (e) {
      wsFailed = true;
      sync();
      retry(true);
      return;
    }
    ws = sock;
    let opened = false;
    sock.onopen = () => {
      if (ws !== sock) return;
      // The session just answered that the visitor has no conversation:
      // there is no history to fetch on this first connection (a later
      // one fetches what it missed while down).
      const nothingYet = !everOpened && !convId && msgs.size === 0;
      opened = wsUp = everOpened = true;
      attempt = 0;
      lastPing = Date.now(); // the server counts a connection opening as activity
      dirty = false;
      if (contactQueued) wsSend(Object.assign({ type: 'contact' }, contactQueued));
      for (const p of pend.values()) {
        if (!p.http && !p.uploading && wsSend(messageFrame(p))) { p.sent = true; p.failed = false; p.sentAt = Date.now(); }
      }
      watchAck();
      if (nothingYet) historyLoaded = true;
      else loadMessages(); // fills whatever was missed while down
      pageOnConnect();
      flushRead();
      sync();
    };
    sock.onmessage = (e) => { if (ws === sock) onFrame(e.data); };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      wsUp = false;
      if (!opened) wsFailed = true;
      sync();
      if (!opened && !historyLoaded) loadMessages();
      retry(!opened);
    };
    // A WebSocket the page's Content-Security-Policy refuses ends with
    // error and no close in Chromium: closed all the same.
    sock.onerror = () => setTimeout(() => { if (sock.readyState === 3) sock.onclose(); }, 0);
  }

  function retry(failed) {
    if (frozen) return;
    const n = attempt++;
    reconnectTimer = setTimeout(async () => {
      // Several handshakes in a row failed: the token may no longer be valid.
      if (failed && n % 3 === 2) { try { await session(); } catch (e) { /* try again later */ } }
      connect();
    }, Math.max(backoff(n), holdOffUntil - Date.now()));
  }

  function onFrame(data) {
    let f;
    try { f = JSON.parse(data); } catch (e) { return; }
    if (!f || typeof f !== 'object') return;
    switch (f.type) {
      case 'message': {
        // A message already here comes again when it changed (read in
        // another tab): only a new one ends the agent's typing.
        const m = f.message;
        if (m && m.id && addMsg(m, f.client_id || claim(m))) { typingOff(); announce(m); }
        update();
        break;
      }
      case 'agents': {
        available = !!f.available;
        const had = shadow.activeElement;
        if (cfg) { required = computeRequired(); sync(); }
        else { sync(); session().catch(() => {}); }
        // The form took the place of the box the visitor was typing in (or
        // the box came back): the focus follows, the draft stays.
        if (isOpen && had && had.closest('[hidden]')) focusFirst();
        break;
      }
      case 'contact':
        onContact(f.visitor);
        break;
      case 'typing':
        agentTyping(f);
        break;
      case 'seen':
        if (f.message_id > seenId) { seenId = f.message_id; render(); }
        break;
      case 'error':
        // A refused connection says when to come back (retry_after seconds).
        if (f.retry_after > 0) holdOffUntil = Date.now() + f.retry_after * 1000;
        if (f.retry_after > 0 && !f.client_id && !contactBusy) break;
        onError(f.code, f.message, f.client_id);
        break;
    }
  }

  function onContact(v) {
    const had = hasEmail();
    if (v) visitor = v;
    changing = false;
    render(); // the fields under requests for an email go once there is one
    contactQueued = null;
    contactBusy = false;
    if (cfg) required = computeRequired();
    else if (hasEmail()) required = false;
    clearError();
    const hadFocus = ready && form.contains(shadow.activeElement);
    sync();
    if (autoSend && !required) {
      autoSend = false;
      send();
    }
    if (optInAsked && stopped()) {
      // The address's owner confirms from the email the server sent: the
      // offer closes, and the visitor is told where to look.
      optInAsked = emailSent = false;
      optinDismissed = optinID();
      store.set(OPTIN_KEY, optinDismissed);
      sync();
      showSaved('optInSent');
    }
    optInAsked = false;
    if (emailSent && hasEmail()) { emailSent = false; showSaved(); }
    // An address taken from a message (or given by an agent) is told too.
    else if (!had && hasEmail() && !stopped()) showSaved();
    if (hadFocus && isOpen) focusFirst();
  }

  // showSaved says where the answers go (or, given another text, what
  // else became of the address), and gives the focus the field had to the
  // message box.
  function showSaved(text) {
    if (!ready) return;
    const said = t(text || (forwarding ? 'awayKnown' : 'emailKept'), visitor.email);
    // The away note on screen says it already: only read out.
    if (!noteEl.hidden && noteEl.textContent.includes(said)) announcer.textContent = said;
    else {
      const n = h('div', 'saved', said);
      n.setAttribute('role', 'status');
      n.setAttribute('data-parley', 'email-saved');
      if (!text) n.append(' ', changeButton());
      composer.before(n);
      // Gone after a while, unless the visitor is on its button.
      const drop = () => { if (n.contains(shadow.activeElement)) setTimeout(drop, 3000); else n.remove(); };
      setTimeout(drop, 9000);
    }
    // The field the address was typed in is hidden now: the focus goes on
    // to the message box, not to the page.
    const at = shadow.activeElement;
    if (isOpen && (!at || at.closest('[hidden]'))) focusFirst();
  }

  // changeButton offers to change the address answers go to, where the
  // widget says it (not for a visitor the site identified: the site's).
  function changeButton() {
    const b = h('button', 'link', t('changeEmail'));
    b.type = 'button';
    b.setAttribute('data-parley', 'email-change');
    b.hidden = !!(visitor && visitor.user_id);
    b.addEventListener('click', () => {
      changing = true;
      collectIn.value = visitor.email || '';
      sync();
      for (const el of shadow.querySelectorAll('[data-parley="email-saved"]')) el.remove();
      collectIn.focus();
      collectIn.select();
    });
    return b;
  }

  function onError(code, text, cid) {
    const p = cid && pend.get(cid);
    if (p) {
      dropPending(p);
      if (p.body) restore(p.body);
      render();
    }
    if (code === 'contact_form_required') {
      required = true;
      if (p || input.value.trim()) autoSend = true;
      sync();
      if (isOpen) focusFirst();
    } else if (code === 'invalid_email') {
      contactQueued = null;
      contactBusy = false;
      sync();
      // The contact form's field, or the field under an agent's request
      // or the collector's, where the visitor typed it (if still shown).
      const f = contactField && contactField.isConnected && contactField.getClientRects().length ? contactField : emailIn;
      showError(t('badEmail'), f);
      if (isOpen) f.focus();
    } else if (code === 'message_too_long') {
      showError(t('tooLong'));
    } else if (code === 'rate_limited') {
      if (contactBusy) { contactQueued = null; contactBusy = false; sync(); }
      showError(t('tooFast'));
    } else if (code === 'bad_frame') {
      console.warn('Parley: the server refused a frame: ' + (text || code));
    } else if (p) {
      showError(text || t('notSent'));
    } else {
      if (contactBusy) { contactQueued = null; contactBusy = false; sync(); showError(text || t('wrong')); }
      console.warn('Parley: ' + code + ': ' + (text || ''));
    }
  }

  // ---- files ---------------------------------------------------------------
  // The attach button, drag and drop and pasted screenshots upload a file
  // (POST /uploads), then send it as a message of its own. Every name and
  // link comes from the server and goes in through textContent or href.

  const isImage = (t) => /^image\/(png|jpeg|gif|webp)\b/.test(t || '');

  function messageFrame(p) {
    const f = { type: 'message', body: p.body, client_id: p.cid };
    if (p.files && p.files.length) f.attachment_ids = p.files.map((a) => a.id);
    return f;
  }

  function buildFiles() {
    const btn = h('button', 'attach');
    btn.type = 'button';
    btn.setAttribute('data-parley', 'attach');
    btn.setAttribute('aria-label', t('attach'));
    btn.title = t('attach');
    setMarkup(btn, '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M21 11.5 12.5 20a5 5 0 0 1-7-7L14 4.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15.5 7.6"/></svg>'); // static markup
    const pick = h('input');
    pick.type = 'file';
    pick.hidden = true;
    pick.multiple = true;
    pick.accept = 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,application/zip,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp';
    pick.setAttribute('data-parley', 'file-input');
    btn.addEventListener('click', () => pick.click());
    pick.addEventListener('change', () => { sendFiles(Array.from(pick.files || [])); pick.value = ''; });
    composer.insertBefore(btn, input);
    composer.appendChild(pick);
    win.addEventListener('dragover', (e) => {
      if (e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files')) { e.preventDefault(); win.classList.add('drop'); }
    });
    win.addEventListener('dragleave', (e) => { if (e.target === win) win.classList.remove('drop'); });
    win.addEventListener('drop', (e) => {
      win.classList.remove('drop');
      const files = e.dataTransfer ? Array.from(e.dataTransfer.files || []) : [];
      if (files.length) { e.preventDefault(); sendFiles(files); }
    });
    input.addEventListener('paste', (e) => {
      const items = e.clipboardData ? Array.from(e.clipboardData.items || []) : [];
      const files = items.filter((i) => i.kind === 'file').map((i) => i.getAsFile()).filter(Boolean);
      if (files.length) { e.preventDefault(); sendFiles(files); }
    });
  }

  async function sendFiles(files) {
    if (!ready || !files.length) return;
    clearError();
    if (!sessionUp || required) { sync(); focusFirst(); return; }
    for (const file of files) {
      // A refusal names the file: several may have been dropped at once.
      const named = (msg) => uploadName(file) + ': ' + msg;
      if (file.size > 10 * 1024 * 1024) { showError(named(t('too_large'))); continue; }
      // Shown while it goes (seconds on a phone's network): its name,
      // "Uploading…".
      const p = { cid: uuid(), body: '', files: [], uploading: uploadName(file), sent: false, http: false, failed: false, s: ++seq };
      pend.set(p.cid, p);
      update(true);
      let att;
      try {
        att = await uploadFile(file);
      } catch (e) {
        dropPending(p);
        render();
        showError(named((e.code && L.en[e.code] ? t(e.code) : '') || e.message || t('failed')));
        continue;
      }
      p.uploading = '';
      p.files = [att];
      transmit(p);
      render();
    }
  }

  // uploadName is the name a file is sent under: a pasted picture's
  // ("image.png", or none) is a screenshot's.
  function uploadName(file) {
    const name = file.name;
    return !name || name === 'image.png' ? 'screenshot.' + ((file.type || '').split('/')[1] || 'png') : name;
  }

  async function uploadFile(file) {
    const fd = new FormData();
    fd.append('file', file, uploadName(file));
    let res;
    try {
      res = await fetch(API + '/uploads?visitor_token=' + encodeURIComponent(token), { method: 'POST', mode: 'cors', credentials: 'omit', body: fd });
    } catch (e) {
      // The network failed (the browser's own words, in its language, say
      // little): the widget's, in the visitor's.
      const err = new Error(t('failed'));
      err.code = 'failed';
      throw err;
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      const er = (data && data.error) || {};
      const err = new Error(er.message || t('failed'));
      err.code = er.code || (res.status === 413 ? 'too_large' : '');
      throw err;
    }
    return data;
  }

  // fillFiles shows a message's files under its body: images as thumbnails
  // linking to the full file, others as download links.
  function fillFiles(el, files) {
    const sig = (files || []).map((a) => a.id).join(',');
    let box = el.querySelector('.files');
    if (el._files === sig) return;
    el._files = sig;
    if (box) box.remove();
    if (!files || !files.length) return;
    box = h('div', 'files');
    box.setAttribute('data-parley', 'files');
    for (const a of files) {
      const url = (a.url || '') + (a.url && a.url.indexOf('?') < 0 ? '?' : '&') + 'visitor_token=' + encodeURIComponent(token);
      if (!/^https?:/.test(url)) continue;
      const link = h('a', isImage(a.content_type) ? 'thumb' : 'file', isImage(a.content_type) ? null : a.filename);
      link.href = url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      link.setAttribute('data-parley', 'file');
      if (isImage(a.content_type)) {
        const img = h('img');
        img.src = url;
        img.alt = a.filename || '';
        img.loading = 'lazy';
        img.setAttribute('data-parley', 'image');
        link.append(img);
      } else {
        link.download = a.filename || '';
      }
      box.append(link);
    }
    el.append(box); // last: fillMsg reads the first three children
  }

  // announce reads a new reply out through the status region outside the
  // window, which stays in the page while the window is closed.
  function announce(m) {
    if (!ready || isOpen || !m.author || m.author.kind !== 'agent') return;
    let text = m.body || '';
    if (text.length > 200) text = text.slice(0, 200) + '\u2026';
    announcer.textContent = t('newFrom', m.author.name || t('agent')) + text;
  }

  // ---- activity pings --------------------------------------------------------

  function activity() {
    dirty = true;
    // A chat kept open follows the visitor from the last minute they were
    // active on the page (a link's click is activity), not from when it
    // was opened. Not written at pagehide: going back to a page from the
    // back/forward cache, Chromium can hide the page left after showing
    // the one restored, whose own state is the one to keep.
    if (isOpen && Date.now() - openNoted > 6e4) tab.set(OPEN_KEY, openNoted = Date.now());
    if (!pingTimer && wsUp) pingTimer = setTimeout(ping, Math.max(0, lastPing + PING_EVERY - Date.now()));
  }

  function ping() {
    pingTimer = 0;
    if (dirty && wsSend({ type: 'activity' })) {
      dirty = false;
      lastPing = Date.now();
    }
  }

  // ---- typing and pages ------------------------------------------------------
  // While the visitor types, their draft goes to the agents (a typing frame
  // at most once a second, the newest draft when they pause). An agent typing
  // shows "NAME is typing…" until a message arrives or 6 s pass without
  // another. The page the visitor is on goes with the session and, as a page
  // frame, on each connection and each navigation (history changes too, for
  // single-page sites).

  const TYPING_EVERY = 1000, TYPING_SHOWN = 6000, PREVIEW_MAX = 500;
  const PAGE_URL_MAX = 4096, PAGE_TITLE_MAX = 500;
  let typingEl = null, typingHide = 0, typingLast = 0, typingTimer = 0;
  let pageSent = '', pageLast = 0, pageTimer = 0;

  function buildTyping() {
    addStyle('.typing{padding:4px 16px;font-size:12px;font-style:italic;color:#4b5563;background:#f9fafb;overflow-wrap:anywhere}');
    typingEl = h('div', 'typing');
    typingEl.setAttribute('data-parley', 'typing');
    typingEl.setAttribute('role', 'status');
    typingEl.hidden = true;
    list.after(typingEl);
    input.addEventListener('input', typingInput);
  }

  function typingInput() {
    if (typingTimer || !input.value.trim()) return;
    typingTimer = setTimeout(sendTyping, Math.max(0, typingLast + TYPING_EVERY - Date.now()));
  }

  // sendTyping sends the draft as it is now: after a send it is empty, and
  // nothing goes.
  function sendTyping() {
    typingTimer = 0;
    const draft = input.value.trim();
    if (!draft) return;
    if (wsSend({ type: 'typing', preview: Array.from(draft).slice(-PREVIEW_MAX).join('') })) typingLast = Date.now();
  }

  function agentTyping(f) {
    if (!ready || !f.agent) return;
    typingEl.textContent = t('typing', String(f.agent.name || t('agent')));
    typingEl.hidden = false;
    clearTimeout(typingHide);
    typingHide = setTimeout(typingOff, TYPING_SHOWN);
  }

  function typingOff() {
    clearTimeout(typingHide);
    if (typingEl) typingEl.hidden = true;
  }

  function pageNow() {
    const url = String(location.href);
    return /^https?:/.test(url) && url.length <= PAGE_URL_MAX
      ? { url, title: Array.from(String((flagged && D.title === flagged ? pageTitle : D.title) || '')).slice(0, PAGE_TITLE_MAX).join('') } : null;
  }

  // withContext adds the visitor's page, referrer (another site only),
  // language and time zone to a session request's body.
  function withContext(body) {
    const p = pageNow();
    if (p) { body.page_url = p.url; body.page_title = p.title; }
    try {
      const r = D.referrer;
      if (r && new URL(r).origin !== location.origin && r.length <= PAGE_URL_MAX) body.referrer = r;
    } catch (e) { /* not a URL */ }
    if (locale) body.locale = locale; // the page's (data-locale), else the browser's
    try { body.time_zone = Intl.DateTimeFormat().resolvedOptions().timeZone || undefined; } catch (e) { /* no Intl */ }
    return body;
  }

  // sendPage sends the page the visitor is on, once, at most once a second.
  function sendPage() {
    clearTimeout(pageTimer);
    pageTimer = 0;
    const p = pageNow();
    if (!p || p.url + '\n' + p.title === pageSent) return;
    const wait = pageLast + 1000 - Date.now();
    if (wait > 0) { pageTimer = setTimeout(sendPage, wait); return; }
    if (wsSend({ type: 'page', url: p.url, title: p.title })) { pageSent = p.url + '\n' + p.title; pageLast = Date.now(); }
  }

  // A site's script usually sets the title just after changing the URL.
  function pageChanged() { if (!pageTimer) pageTimer = setTimeout(sendPage, 100); }

  function pageOnConnect() { pageSent = ''; sendPage(); }

  for (const k of ['pushState', 'replaceState']) {
    const orig = W.history && W.history[k];
    if (typeof orig !== 'function') continue;
    W.history[k] = function () {
      const r = orig.apply(this, arguments);
      pageChanged();
      return r;
    };
  }
  W.addEventListener('popstate', pageChanged);
  W.addEventListener('hashchange', pageChanged);

  // ---- UI --------------------------------------------------------------------

  const CSS = `
:host{all:initial}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.root{--p:#2563eb;--on:#fff;--ring:#2563eb;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;color-scheme:light;-webkit-font-smoothing:antialiased;text-align:left;direction:ltr;text-transform:none;letter-spacing:normal;word-spacing:normal}
button,input,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer}
:focus-visible{outline:2px solid var(--ring);outline-offset:2px}
.head :focus-visible{outline-color:var(--on);outline-offset:-4px}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483647;width:56px;height:56px;border:0;border-radius:50%;padding:0;background:var(--p);color:var(--on);box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
.launcher:hover,.btn:hover,.send:hover{filter:brightness(.92)}
.left .launcher{right:auto;left:20px}
.left .win{right:auto;left:20px}
.launcher svg{width:26px;height:26px;fill:currentColor}
.launcher .ic-x,.open .launcher .ic-c{display:none}
.open .launcher .ic-x{display:block}
.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}
.peek{position:fixed;right:20px;bottom:88px;z-index:2147483647;width:min(300px,calc(100vw - 40px));display:flex;align-items:flex-start;background:#fff;border-radius:14px;box-shadow:0 6px 24px rgba(0,0,0,.2);animation:pk .2s ease-out}
@keyframes pk{from{opacity:0;transform:translateY(8px)}}
@media (prefers-reduced-motion:reduce){.peek{animation:none}}
.left .peek{right:auto;left:20px}
.pko{flex:1;min-width:0;display:flex;gap:10px;border:0;background:none;padding:12px 4px 12px 12px;text-align:start;border-radius:14px}
.pko .av{width:32px;height:32px;font-size:13px}
.pkt{min-width:0;display:flex;flex-direction:column;gap:2px}
.pkn{font-size:12px;font-weight:600;color:#4b5563}
.pkb{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere;white-space:pre-line}
.peek .x{margin:6px 6px 0 0;color:#6b7280}
.win{position:fixed;right:20px;bottom:88px;z-index:2147483647;width:370px;height:min(580px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 10px 34px rgba(0,0,0,.25);overflow-x:hidden;overflow-y:auto;overscroll-behavior:contain}
.win:focus{outline:none}
.win>*{flex:none}
.head{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--p);color:var(--on);position:sticky;top:0;z-index:1}
.hd{flex:1;min-width:0}
.title{font-weight:600;font-size:15px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.st{font-size:12px;display:flex;align-items:center;gap:6px}
.dot{width:8px;height:8px;border-radius:50%;background:#9ca3af}
.on .dot{background:#4ade80}
.x{border:0;background:transparent;color:inherit;width:32px;height:32px;border-radius:8px;display:flex;align-items:center;justify-content:center;padding:0}
.x:hover{background:rgba(127,127,127,.2)}
.x svg{width:18px;height:18px;stroke:currentColor;stroke-width:2.4;fill:none}
.list{flex:1 1 auto;min-height:96px;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f9fafb;overscroll-behavior:contain}
.below{align-self:center;margin:-46px 0 10px;position:relative;z-index:2;display:flex;align-items:center;gap:6px;border:1px solid #d1d5db;border-radius:999px;background:#fff;color:#111827;padding:7px 14px;font-size:13px;font-weight:600;box-shadow:0 2px 8px rgba(0,0,0,.25)}
.below[hidden]{display:none}
.below svg{width:16px;height:16px;stroke:currentColor;stroke-width:2.4;fill:none}
.list:empty::before{content:attr(data-greeting);color:#4b5563;margin:auto;text-align:center}
.msg{max-width:85%;display:flex;flex-direction:column;align-self:flex-start}
.msg.visitor{align-self:flex-end;align-items:flex-end}
.meta{font-size:11px;color:#6b7280;margin:0 4px 2px;display:flex;align-items:center;gap:6px}
.av{order:-1;width:20px;height:20px;border-radius:50%;background:var(--p);color:var(--on);font-size:9px;font-weight:700;display:inline-flex;align-items:center;justify-content:center;flex:none}
.av:empty{display:none}.av img{width:100%;height:100%;border-radius:50%;object-fit:cover}
.hav{order:0;width:32px;height:32px;font-size:13px;border:2px solid var(--on)}
.body{padding:8px 12px;border-radius:14px;background:#e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;text-align:start}
.visitor .body{background:var(--p);color:var(--on)}
.body a{color:inherit;text-decoration:underline}
.msg[data-status=sending] .body,.msg[data-status=failed] .body{background:#e5e7eb;color:#1f2937;border:1px dashed #6b7280}
.msg[data-status=failed] .body{background:#fee2e2;color:#7f1d1d;border-color:#b91c1c}
.state{font-size:11px;color:#6b7280;margin:2px 4px 0}
.msg[data-status=failed] .state{color:#b91c1c}
.conn,.note{padding:8px 14px;font-size:12.5px;background:#fef3c7;color:#78350f;border-top:1px solid #fde68a}
.conn{background:#f3f4f6;color:#4b5563;border-color:#e5e7eb}
.collect{padding:10px 14px;border-top:1px solid #e5e7eb;display:flex;flex-direction:column;gap:6px;background:#f9fafb}
.collect input{flex:1;min-width:0;padding:7px 10px;border:1px solid #d1d5db;border-radius:8px;background:#fff;font-size:14px}
.collect .btn{padding:7px 12px}
.msg .ask{margin-top:6px;padding:8px 0 0;border-top:0;background:none}
.form{padding:12px 14px;border-top:1px solid #e5e7eb;display:flex;flex-direction:column;gap:8px;background:#fff}
.intro{margin:0;font-size:13px;color:#374151}
.form label{display:flex;flex-direction:column;gap:3px;font-size:12px;color:#4b5563}
.form input{padding:8px 10px;border:1px solid #d1d5db;border-radius:8px;background:#fff;font-size:14px;width:100%}
.form input[aria-invalid=true]{border-color:#dc2626}
.form label.check{flex-direction:row;align-items:flex-start;gap:8px;font-size:13px;color:#374151}
.form label.check input{width:auto;margin:2px 0 0}
.form label.check[hidden]{display:none}
.row{display:flex;align-items:center;gap:12px}
.btn{border:0;border-radius:8px;background:var(--p);color:var(--on);padding:8px 16px;font-weight:600}
.btn:disabled{opacity:.6;cursor:default}
.link{border:0;background:none;color:#4b5563;text-decoration:underline;padding:4px}
.err{color:#b91c1c;font-size:12.5px;padding:0 2px}
.win>.err,.saved{padding:6px 14px 0;background:#fff}
.saved{color:#166534;font-size:12.5px}
.composer{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff;position:relative}
.composer textarea{flex:1;resize:none;text-align:start;border:1px solid #d1d5db;border-radius:10px;padding:8px 10px;max-height:120px;min-height:38px;line-height:1.4;background:#fff;font-size:14px}
.send{border:0;border-radius:10px;width:38px;height:38px;background:var(--p);color:var(--on);display:flex;align-items:center;justify-content:center;padding:0;flex:none}
.send svg{width:18px;height:18px;fill:currentColor}
.body:empty{display:none}
.files{display:flex;flex-direction:column;gap:4px;margin-top:4px;max-width:100%}
.files img{display:block;width:200px;max-width:100%;height:160px;object-fit:scale-down;border-radius:10px;border:1px solid #e5e7eb;background:#fff}
.files a.file{display:inline-block;padding:6px 10px;border-radius:10px;background:#f3f4f6;color:#1f2937;text-decoration:underline;overflow-wrap:anywhere}
.attach{border:0;border-radius:10px;width:38px;height:38px;background:#f3f4f6;color:#374151;display:flex;align-items:center;justify-content:center;padding:0;flex:none}
.attach svg{width:18px;height:18px;fill:none;stroke:currentColor;stroke-width:2}
.win.drop{outline:3px dashed var(--ring);outline-offset:-6px}
.count{position:absolute;right:60px;top:-18px;font-size:11px;color:#6b7280;background:#fff;padding:0 4px;border-radius:4px}
.count.over{color:#b91c1c;font-weight:600}
.win>.err:has(+.composer>.count:not([hidden])),.win>.note:has(~.composer>.count:not([hidden])){padding-right:170px}
@media (max-width:480px),(max-height:500px){
.win,.left .win{top:0;left:0;right:0;bottom:0;width:100%;height:100%;border-radius:0}
.open .launcher{display:none}
.composer textarea,.form input,.collect input{font-size:16px}
}`;

  const HTML = `<div class="root">
<button class="launcher" type="button" data-parley="launcher" aria-expanded="false" aria-controls="parley-window">
<svg class="ic-c" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9.5L5 21.5V18H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>
<svg class="ic-x" viewBox="0 0 24 24" aria-hidden="true"><path d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"/></svg>
<span class="badge" data-parley="badge" aria-hidden="true" hidden></span>
</button>
<div class="sr" data-parley="announcer" role="status" aria-live="polite" aria-atomic="true"></div>
<div class="peek" data-parley="preview" hidden><button class="pko" type="button" data-parley="preview-open"><span class="av" data-parley="preview-avatar" aria-hidden="true"></span><span class="pkt"><span class="pkn" data-parley="preview-name"></span><span class="pkb" data-parley="preview-body"></span></span></button>
<button class="x" type="button" data-parley="preview-hide"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6 6 18"/></svg></button></div>
<div class="win" id="parley-window" data-parley="window" role="dialog" tabindex="-1" hidden>
<div class="head"><span class="av hav" data-parley="header-avatar" aria-hidden="true" hidden></span><div class="hd"><div class="title" id="parley-title" data-parley="title"></div><div class="st"><span class="dot" aria-hidden="true"></span><span data-parley="status"></span></div></div>
<button class="x" type="button" data-parley="close"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6 6 18"/></svg></button></div>
<div class="list" data-parley="messages" role="log" aria-live="polite" tabindex="0"></div>
<button class="below" type="button" data-parley="new-below" hidden><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 5v14M6 13l6 6 6-6"/></svg><span data-parley="new-below-text"></span></button>
<div class="conn" data-parley="connection" role="status" hidden></div>
<div class="note" data-parley="note" hidden></div>
<form class="collect" data-parley="collector" novalidate hidden>
<label class="intro" for="parley-collect-email" data-parley="collector-text"></label>
<div class="row"><input id="parley-collect-email" data-parley="collector-email" name="email" type="email" autocomplete="email" maxlength="320">
<button class="btn" type="submit" data-parley="collector-submit"></button>
<button class="link" type="button" data-parley="collector-dismiss"></button></div>
</form>
<form class="form" data-parley="contact-form" novalidate hidden>
<p class="intro" data-parley="contact-intro"></p>
<label><span data-parley="name-label"></span><input data-parley="contact-name" name="name" autocomplete="name" maxlength="200"></label>
<label><span data-parley="email-label"></span><input data-parley="contact-email" name="email" type="email" autocomplete="email" maxlength="320" required aria-required="true"></label>
<label class="check" data-parley="contact-optin-row" hidden><input type="checkbox" data-parley="contact-optin"><span data-parley="contact-optin-label"></span></label>
<div class="row"><button class="btn" type="submit" data-parley="contact-submit"></button><button class="link" type="button" data-parley="contact-skip"></button></div>
</form>
<div class="composer">
<div class="count" data-parley="counter" aria-live="polite" hidden></div>
<textarea data-parley="input" rows="1" dir="auto"></textarea>
<button class="send" type="button" data-parley="send"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 20.5 21 12 3 3.5 3 10l12 2-12 2z"/></svg></button>
</div>
</div>
</div>`;

  // setMarkup lets the widget's own static markup through a page that
  // enforces Trusted Types (its policy then allows "parley-widget").
  let htmlPolicy; // undefined until first asked for; null: none
  function setMarkup(el, html) {
    if (htmlPolicy === undefined) {
      htmlPolicy = null;
      try {
        if (W.trustedTypes) htmlPolicy = W.trustedTypes.createPolicy('parley-widget', { createHTML: (x) => x });
      } catch (e) { /* policy names restricted: the string, which only an enforcing page refuses */ }
    }
    try {
      el.innerHTML = htmlPolicy ? htmlPolicy.createHTML(html) : html;
    } catch (e) {
      console.warn('Parley: this page enforces Trusted Types without allowing the widget\'s policy; add parley-widget to trusted-types.');
      throw e;
    }
  }

  // addStyle gives the shadow root a style sheet built by script where the
  // browser has them: a site's Content-Security-Policy without
  // 'unsafe-inline' for styles refuses a <style> element, not those.
  function addStyle(css) {
    if (shadow.adoptedStyleSheets && W.CSSStyleSheet) {
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(css);
        shadow.adoptedStyleSheets = shadow.adoptedStyleSheets.concat(sheet);
        return;
      } catch (e) { /* an engine without constructed sheets: an element */ }
    }
    const st = D.createElement('style');
    st.textContent = css;
    shadow.appendChild(st);
  }

  function build() {
    if (ready) return;
    host = D.createElement('div');
    host.id = 'parley-widget';
    // The site's rules reach this element (a "div" or "body > *" rule):
    // none may hide it, deafen it to clicks, or make it a stacking context
    // or a containing block, which would put the chat under the site's own
    // layers or move it off the window's corner.
    for (const [k, v] of [['display', 'block'], ['position', 'static'], ['z-index', 'auto'], ['transform', 'none'],
      ['filter', 'none'], ['backdrop-filter', 'none'], ['perspective', 'none'], ['opacity', '1'], ['contain', 'none'],
      ['will-change', 'auto'], ['isolation', 'auto'], ['mix-blend-mode', 'normal'], ['clip-path', 'none'], ['mask', 'none'],
      ['pointer-events', 'auto'], ['visibility', 'visible']]) host.style.setProperty(k, v, 'important');
    shadow = host.attachShadow({ mode: 'open' });
    setMarkup(shadow, HTML); // static markup only
    addStyle(CSS);
    const $ = (n) => shadow.querySelector('[data-parley="' + n + '"]');
    root = shadow.querySelector('.root');
    launcher = $('launcher'); badge = $('badge'); win = $('window');
    peek = $('preview'); peekAv = $('preview-avatar'); peekName = $('preview-name'); peekBody = $('preview-body');
    titleEl = $('title'); statusEl = $('status'); list = $('messages');
    newBelow = $('new-below');
    connEl = $('connection'); noteEl = $('note'); announcer = $('announcer');
    form = $('contact-form'); introEl = $('contact-intro'); nameIn = $('contact-name'); emailIn = $('contact-email');
    submitBtn = $('contact-submit'); skipBtn = $('contact-skip');
    optinRow = $('contact-optin-row'); optinBox = $('contact-optin');
    composer = shadow.querySelector('.composer'); input = $('input'); sendBtn = $('send'); counter = $('counter');
    buildFiles();
    buildTyping();
    collector = $('collector'); collectIn = $('collector-email'); collectBtn = $('collector-submit');
    collector.addEventListener('submit', submitCollector);
    $('collector-dismiss').addEventListener('click', () => {
      if (changing) { // the address stays as it was
        changing = false;
        if (errEl && errEl._field === collectIn) clearError();
        sync();
        input.focus();
        return;
      }
      collectDismissed = true;
      store.set(COLLECT_KEY, '1');
      if (errEl && errEl._field === collectIn) clearError();
      sync();
      input.focus();
    });
    collectIn.addEventListener('input', () => { if (errEl && errEl._field === collectIn) clearError(); });
    // The newest message stays in view when the space under the list
    // grows (a draft of several lines, the form asking for an address,
    // the collector) or the list is shown again, as long as the visitor
    // had not scrolled up. A scroll event can come after the list changed
    // its size, before the observer is told: it counts as at the end
    // under either size.
    let listHeight = 0;
    list.addEventListener('scroll', () => {
      const was = pinned;
      pinned = list.scrollHeight - list.scrollTop - Math.max(listHeight, list.clientHeight) < 60;
      // Back at the end: what arrived meanwhile is read now.
      if (pinned && !was && !newBelow.hidden) { maybeRead(); render(); }
    }, { passive: true });
    newBelow.addEventListener('click', () => {
      list.scrollTop = list.scrollHeight;
      pinned = true;
      maybeRead();
      render();
      input.focus();
    });
    if (W.ResizeObserver) {
      new W.ResizeObserver(() => {
        if (pinned) list.scrollTop = list.scrollHeight;
        listHeight = list.clientHeight;
      }).observe(list);
    }

    launcher.addEventListener('click', () => (isOpen ? close() : open()));
    $('preview-open').addEventListener('click', open);
    $('preview-hide').addEventListener('click', () => {
      tab.set(PEEK_KEY, peek._id);
      render();
      launcher.focus();
    });
    $('close').addEventListener('click', close);
    win.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.stopPropagation(); close(); }
      else if (e.key === 'Tab' && modal()) trapTab(e);
    });
    // While the window covers the page, focus that leaves it (a click on
    // the page behind, a screen reader's virtual cursor) comes back.
    D.addEventListener('focusin', (e) => { if (isOpen && modal() && e.target !== host) focusFirst(); });
    fullScreen.addEventListener('change', () => { if (isOpen) setModal(); });
    sendBtn.addEventListener('click', () => { send(); input.focus(); });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        send();
      }
    });
    // Automation tools (CDP) type Enter as keydown + a separate "char" event;
    // cancel that too so no stray newline is left behind after sending.
    input.addEventListener('keypress', (e) => { if (e.key === 'Enter' && !e.shiftKey) e.preventDefault(); });
    input.addEventListener('input', () => { if (errEl && !errEl._field) clearError(); onInput(); });
    emailIn.addEventListener('input', () => { if (errEl && errEl._field === emailIn) clearError(); });
    form.addEventListener('submit', submitContact);
    skipBtn.addEventListener('click', () => {
      if (!optinRow.hidden) {
        optinDismissed = optinID();
        store.set(OPTIN_KEY, optinDismissed);
        clearError();
        sync();
        input.focus();
        return;
      }
      skippedFor = token;
      store.set(SKIP_KEY, token);
      clearError();
      sync();
      input.focus();
    });

    const opts = { capture: true, passive: true };
    for (const t of ['input', 'focus', 'scroll', 'pointerdown', 'pointermove', 'keydown', 'touchstart', 'wheel']) {
      W.addEventListener(t, activity, opts);
    }
    shadow.addEventListener('scroll', activity, opts); // scroll does not leave a shadow root
    // Back in view or on the network: a connection waiting out its backoff
    // tries at once.
    const reconnectNow = () => { if (!ws && token && !frozen) { attempt = 0; connect(); } };
    D.addEventListener('visibilitychange', () => { if (D.visibilityState === 'visible') { update(); reconnectNow(); } });
    W.addEventListener('online', reconnectNow);
    // Off the network: said at once (the connection's own close can take
    // minutes to come), and the connection starts over once back.
    W.addEventListener('offline', () => {
      const dead = ws;
      if (!dead) return;
      if (dead.onclose) dead.onclose();
      try { dead.close(); } catch (e) { /* closed already */ }
    });
    // A page in the back/forward cache would keep the visitor online (their
    // missed replies emailed after 30 minutes, not 5 after leaving): the
    // connection closes on pagehide and opens again on pageshow.
    W.addEventListener('pagehide', (e) => {
      if (!e.persisted) return;
      frozen = true;
      clearTimeout(reconnectTimer);
      const s = ws;
      ws = null;
      wsUp = false;
      if (s) { try { s.close(1000, 'page hidden'); } catch (err) { /* already closed */ } }
    });
    W.addEventListener('pageshow', (e) => {
      if (!e.persisted) return;
      // Back from the back/forward cache: this page's chat is the one the
      // next page follows, not the last other page's.
      tab.set(OPEN_KEY, isOpen ? (openNoted = Date.now()) : null);
      frozen = false;
      attempt = 0;
      connect();
    });

    D.body.appendChild(host);
    ready = true;
    retext();
    applyLook();
    const draft = tab.get(DRAFT_KEY);
    if (draft && !input.value) { input.value = draft; onInput(); }
    sync();
    render();
    if (wantOpen) open();
  }

  function submitContact(e) {
    e.preventDefault();
    clearError();
    const email = emailIn.value.trim(), name = nameIn.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      // The optional form asks for an address, not a name alone: say how
      // to go on without one.
      showError(t(!email && !skipBtn.hidden && optinRow.hidden ? 'emailOrSkip' : 'badEmail'), emailIn);
      emailIn.focus();
      return;
    }
    if (askToReplace(email, emailIn)) return;
    contactQueued = name ? { email, name } : { email };
    contactField = emailIn;
    if (!optinRow.hidden) {
      if (!optinBox.checked) {
        showError(t('optInNeeded'));
        optinBox.focus();
        return;
      }
      contactQueued.email_opt_in = true;
      optInAsked = true;
    }
    contactBusy = true;
    sync();
    // Kept until the server's contact frame; resent on reconnect if the socket is down.
    wsSend(Object.assign({ type: 'contact' }, contactQueued));
  }

  function submitCollector(e) {
    e.preventDefault();
    sendEmail(collectIn);
  }

  // sendEmail saves the address typed in an email field (the collector, or
  // the field under an agent's request) as the contact form does.
  // askToReplace asks first when email would replace an address the
  // visitor gave before (the server tells the former address, which can
  // undo it), and reports whether it asked: the same press again confirms.
  function askToReplace(email, field) {
    if (!hasEmail() || email.toLowerCase() === String(visitor.email).toLowerCase() || changeConfirmed === email) return false;
    changeConfirmed = email;
    showError(t('confirmChange', visitor.email), field);
    errEl.setAttribute('data-parley', 'confirm-change');
    field.focus();
    return true;
  }

  function sendEmail(field) {
    clearError();
    emailSent = true;
    const email = field.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      showError(t('badEmail'), field);
      field.focus();
      return;
    }
    if (askToReplace(email, field)) return;
    contactQueued = { email };
    contactField = field;
    contactBusy = true;
    sync();
    wsSend({ type: 'contact', email });
  }

  function showError(text, field) {
    clearError();
    errEl = h('div', 'err', text);
    errEl.setAttribute('data-parley', 'error');
    errEl.setAttribute('role', 'alert');
    errEl.id = 'parley-error';
    if (field) {
      errEl._field = field;
      // Under the field's row (a field and its button): beside it, the
      // text would squeeze the field.
      (field.closest('.row') || field).after(errEl);
      field.setAttribute('aria-invalid', 'true');
      field.setAttribute('aria-describedby', 'parley-error');
    } else if (composer.hidden && !form.hidden) {
      form.appendChild(errEl);
    } else {
      composer.before(errEl);
    }
  }

  function clearError() {
    if (!errEl) return;
    if (errEl._field) {
      errEl._field.removeAttribute('aria-invalid');
      errEl._field.removeAttribute('aria-describedby');
    }
    errEl.remove();
    errEl = null;
  }

  function onInput() {
    if (!ready) return;
    tab.set(DRAFT_KEY, input.value || null); // the draft follows to the site's next page
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
    const n = chars(input.value);
    counter.hidden = n < COUNTER_FROM;
    counter.textContent = n + ' / ' + MAX_CHARS;
    counter.classList.toggle('over', n > MAX_CHARS);
  }

  // sync updates everything that depends on session state (not the message list).
  function sync() {
    if (!ready) return;
    titleEl.textContent = wsName || t('chat');
    win.setAttribute('aria-label', wsName ? t('chatWith', wsName) : t('chat'));
    // Cut off, or never connected, the header does not claim anybody is
    // online: replies would not reach the visitor.
    const cut = (everOpened || wsFailed) && !wsUp; // dropped, or none could open
    const lost = sessionUp && cut;
    const waiting = t(everOpened ? 'reconnecting' : 'connecting');
    statusEl.textContent = lost ? waiting : t(available ? 'online' : 'away');
    root.classList.toggle('on', available && !lost);
    const mode = required ? 'req' : optionalForm() ? 'opt' : optinForm() ? 'optin' : '';
    const formWasHidden = form.hidden;
    form.hidden = !mode;
    composer.hidden = mode === 'req' || mode === 'opt';
    skipBtn.hidden = mode !== 'opt' && mode !== 'optin';
    skipBtn.textContent = t(mode === 'optin' ? 'notNow' : 'skip');
    if (mode === 'optin' && optinRow.hidden) {
      emailIn.value = visitor.email;
      if (visitor.name && !nameIn.value) nameIn.value = visitor.name;
      optinBox.checked = false;
    }
    optinRow.hidden = mode !== 'optin';
    collector.hidden = !(changing || (forwarding && agentShown && !collectDismissed && !hasEmail() && !mode && !asked));
    collectBtn.disabled = contactBusy;
    if (collector.hidden && errEl && errEl._field === collectIn) clearError();
    // Agents online: the greeting (in the empty conversation); all away:
    // the away note, which never asks for an address the visitor gave.
    list.setAttribute('data-greeting', available && look ? look.greeting : '');
    // Where answers go is said only where they will go: with forwarding on.
    noteEl.textContent = look ? look.away_message + (forwarding && hasEmail() && !stopped() ? ' ' + t('awayKnown', visitor.email) : '') : '';
    if (look && forwarding && hasEmail() && !stopped() && !changing) noteEl.append(' ', changeButton());
    noteEl.hidden = available || required || !sessionUp || !look;
    connEl.hidden = sessionUp ? !cut : !started;
    connEl.textContent = sessionUp ? waiting : t('connecting');
    introEl.textContent = t(mode === 'optin' ? (visitor.email_status === 'bouncing' ? 'introBouncing' : 'introUnsubscribed')
      : mode === 'opt' ? 'introOptional' : available ? 'introOnline' : 'introOffline');
    if (mode === 'req' && !available && look && look.away_custom) introEl.textContent = look.away_message;
    submitBtn.disabled = contactBusy;
    submitBtn.textContent = t(contactBusy ? 'sending' : mode === 'opt' ? 'startChat' : mode === 'optin' ? 'save' : 'cont');
    if (!form.hidden && formWasHidden && errEl && !errEl._field) clearError();
    if (form.hidden && errEl && errEl._field) clearError();
  }

  // update: after the message set changed.
  function update(toBottom) {
    maybeRead(toBottom);
    render(toBottom);
    sync();
  }

  function fillMsg(el, kind, name, time, body, status, pic) {
    const sig = [kind, name, time, body, status, pic].join('\u0000');
    if (el._sig === sig) return;
    el._sig = sig;
    el.className = 'msg ' + kind;
    el.setAttribute('data-author-kind', kind);
    if (status) el.setAttribute('data-status', status); else el.removeAttribute('data-status');
    const [meta, b, st] = el.children;
    meta.children[0].textContent = name;
    face(meta.children[2], kind === 'agent' ? name : '', pic);
    const tm = meta.children[1];
    if (time) {
      tm.textContent = hhmm(time);
      tm.setAttribute('datetime', new Date(time).toISOString());
      tm.title = new Date(time).toLocaleString(lang);
    } else {
      tm.textContent = '';
    }
    linkify(b, body);
    st.textContent = status ? t(status === 'failed' ? 'retry' : status) : '';
    st.hidden = !status;
  }

  // linkify sets body text, turning http(s) URLs into links. All text goes in
  // through textContent; only http(s) URLs ever become an href.
  // trimLink drops what ends a sentence rather than an address: trailing
  // punctuation, and a closing bracket the address did not open
  // ("…/Norway_(disambiguation)." keeps its ")"), as the server does.
  const count = (s, c) => s.split(c).length - 1;
  function trimLink(s) {
    for (;;) {
      const last = s[s.length - 1];
      if (".,;:!?'*}".includes(last) || (last === ')' && count(s, '(') < count(s, ')')) || (last === ']' && count(s, '[') < count(s, ']'))) s = s.slice(0, -1);
      else return s;
    }
  }

  function linkify(el, text) {
    el.textContent = '';
    const re = /https?:\/\/[^\s<>"]+/g;
    let i = 0, m;
    while ((m = re.exec(text))) {
      const url = trimLink(m[0]);
      if (m.index > i) el.append(text.slice(i, m.index));
      const a = h('a', '', url);
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      el.append(a);
      i = m.index + url.length;
      re.lastIndex = i;
    }
    if (i < text.length) el.append(text.slice(i));
  }

  function msgNode(key) {
    let el = nodes.get(key);
    if (!el) {
      el = h('div', 'msg');
      el.setAttribute('data-parley', 'message');
      const meta = h('div', 'meta');
      const who = h('span', 'who');
      who.setAttribute('data-parley', 'author');
      const av = h('span', 'av');
      av.setAttribute('aria-hidden', 'true');
      meta.append(who, h('time', 'time'), av);
      const b = h('div', 'body');
      b.setAttribute('data-parley', 'body');
      b.dir = 'auto';
      el.append(meta, b, h('div', 'state'));
      nodes.set(key, el);
    }
    return el;
  }

  // askField puts an email field under an agent's request for the
  // visitor's email (asks_email) until the visitor has one.
  function askField(el, m) {
    let f = el._ask;
    if (!m.asks_email || hasEmail()) {
      if (f) { f.remove(); el._ask = null; }
      return;
    }
    if (!f) {
      f = el._ask = h('form', 'collect ask');
      f.noValidate = true;
      f.setAttribute('data-parley', 'ask-email');
      const row = h('div', 'row'), i = h('input'), b = h('button', 'btn', t('save'));
      i.type = 'email'; i.name = 'email'; i.autocomplete = 'email'; i.maxLength = 320;
      i.setAttribute('aria-label', t('askEmail')); i.placeholder = t('askEmail');
      i.setAttribute('data-parley', 'ask-email-input');
      b.type = 'submit';
      row.append(i, b);
      f.append(row);
      f.addEventListener('submit', (e) => { e.preventDefault(); sendEmail(i); });
      el.append(f);
    }
    f.querySelector('button').disabled = contactBusy;
  }

  function render(toBottom) {
    keepPending();
    if (!ready) return;
    const atBottom = atEnd();
    const want = [];
    const sorted = Array.from(msgs.values()).sort((a, b) => a._t - b._t || a._s - b._s);
    let unread = 0, lastAgent = '', lastPic, mine = '', fresh = null;
    for (const m of sorted) if (m.author.kind !== 'agent') mine = m.id;
    for (const m of sorted) {
      const el = msgNode('m:' + m.id);
      const agent = m.author.kind === 'agent';
      el.setAttribute('data-id', m.id);
      el.removeAttribute('data-client-id');
      fillMsg(el, agent ? 'agent' : 'visitor', agent ? m.author.name || t('agent') : t('you'), m._t, m.body || '',
        m.id === mine && mine <= seenId && !pend.size ? 'seen' : '', m.author.avatar_url);
      fillFiles(el, m.attachments);
      askField(el, m);
      if (m.asks_email && !asked) { asked = true; sync(); }
      if (agent) { lastAgent = m.author.name || ''; lastPic = m.author.avatar_url; }
      if (agent && !m.read_by_visitor_at && !seen.has(m.id)) { unread++; fresh = m; }
      if (agent && isOpen && !agentShown) { agentShown = true; sync(); }
      want.push(el);
    }
    for (const p of Array.from(pend.values()).sort((a, b) => a.s - b.s)) {
      const el = msgNode('p:' + p.cid);
      el.removeAttribute('data-id');
      el.setAttribute('data-client-id', p.cid);
      fillMsg(el, 'visitor', t('you'), '', p.uploading || p.body, p.uploading ? 'uploading' : p.failed ? 'failed' : 'sending');
      fillFiles(el, p.files);
      want.push(el);
    }
    want.forEach((el, i) => { if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null); });
    while (list.children.length > want.length) list.lastElementChild.remove();

    // The header shows who answers: the agent of the latest reply.
    const hav = shadow.querySelector('[data-parley="header-avatar"]');
    if (hav._k !== lastAgent + lastPic) { hav._k = lastAgent + lastPic; face(hav, lastAgent, lastPic); }
    hav.hidden = !lastAgent;
    showPeek(isOpen || !previews ? null : fresh);
    badge.textContent = unread ? String(unread) : '';
    badge.hidden = !unread;
    launcher.setAttribute('aria-label', t(isOpen ? 'close' : 'open') + (unread ? ', ' + t('unread', unread) : ''));
    // Replies unread while the visitor is on another tab show in this
    // tab's title, "(2) New message from Ada"; the page's own title comes
    // back once the page is seen.
    const n = D.visibilityState === 'hidden' ? unread : 0;
    if (n) {
      if (D.title !== flagged) pageTitle = D.title;
      D.title = flagged = '(' + n + ') ' + t('newFrom', lastAgent || t('agent')).replace(/[\s:]+$/, '');
    } else if (flagged) {
      if (D.title === flagged) D.title = pageTitle;
      flagged = '';
    }
    if (toBottom || atBottom) list.scrollTop = list.scrollHeight;
    // Replies the visitor has not seen, below the part of the list in view.
    newBelow.hidden = !(isOpen && unread && !atEnd());
    if (!newBelow.hidden) newBelow.lastElementChild.textContent = t('newBelow');
  }

  // showPeek shows the newest unread reply above the closed launcher, a
  // card that opens the chat, until the visitor reads or hides it (a
  // newer reply shows again).
  function showPeek(m) {
    if (m && m.id === tab.get(PEEK_KEY)) m = null;
    if (!m && !peek.hidden && peek.contains(shadow.activeElement)) launcher.focus();
    peek.hidden = !m;
    if (!m || peek._id === m.id) return;
    peek._id = m.id;
    const name = m.author.name || t('agent'), a = m.attachments && m.attachments[0];
    face(peekAv, name, m.author.avatar_url);
    peekName.textContent = name;
    peekBody.textContent = (m.body || (a ? a.filename : '')).slice(0, 400);
  }

  // focusFirst puts the focus in the chat's first field; opening it on a
  // touch screen, in the window itself (see touch).
  function focusFirst(opening) {
    if (!ready || !isOpen) return;
    const el = opening && touch.matches ? win : !form.hidden ? (nameIn.value ? emailIn : nameIn) : input;
    try { el.focus({ preventScroll: true }); } catch (e) { el.focus(); }
  }

  function open() {
    if (!ready) { wantOpen = true; restoring = false; return; }
    if (isOpen) return;
    isOpen = true;
    tab.set(OPEN_KEY, openNoted = Date.now());
    win.hidden = false;
    root.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    announcer.textContent = '';
    setModal();
    start();
    update(true);
    if (!restoring) focusFirst(true);
    restoring = false;
  }

  function setModal() {
    if (modal()) win.setAttribute('aria-modal', 'true'); else win.removeAttribute('aria-modal');
  }

  function focusable() {
    return Array.from(win.querySelectorAll('button,input,textarea,select,a[href],[tabindex]'))
      .filter((el) => !el.disabled && el.tabIndex >= 0 && !el.closest('[hidden]') && el.getClientRects().length);
  }

  function trapTab(e) {
    const f = focusable();
    if (!f.length) { e.preventDefault(); return; }
    const first = f[0], last = f[f.length - 1], at = shadow.activeElement;
    if (e.shiftKey && (at === first || !win.contains(at))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (at === last || !win.contains(at))) { e.preventDefault(); first.focus(); }
  }

  function close() {
    if (!ready) { wantOpen = restoring = false; tab.set(OPEN_KEY, null); return; }
    if (!isOpen) return;
    const inside = !!shadow.activeElement;
    isOpen = false;
    tab.set(OPEN_KEY, null);
    win.hidden = true;
    root.classList.remove('open');
    launcher.setAttribute('aria-expanded', 'false');
    render();
    if (inside) launcher.focus();
  }

  // ---- identity (Parley.identify) -----------------------------------------
  // A site whose visitors are logged in names its user, so that the same
  // user continues the same conversation on every device:
  //   Parley.identify({user_id, email, name, hash})
  // where hash is the lowercase hex HMAC-SHA256 of user_id keyed by the
  // workspace's identity secret, computed on the site's server. It may be
  // called before this file loads, through a queue:
  //   window.Parley = window.Parley || {q: []};
  //   Parley.identify = (id) => Parley.q.push(['identify', id]);
  // or given on the snippet: data-user-id, data-user-email, data-user-name,
  // data-user-hash.

  let identity = null;

  // withIdentity adds the identity to a session request's body.
  function withIdentity(body) {
    if (identity) body.identity = identity;
    return body;
  }

  function identify(id) {
    if (!id || typeof id !== 'object' || !id.user_id || !id.email) {
      console.warn('Parley.identify: user_id and email are required.');
      return;
    }
    const next = { user_id: String(id.user_id), email: String(id.email) };
    if (id.name) next.name = String(id.name);
    if (id.hash) next.hash = String(id.hash);
    if (identity && JSON.stringify(identity) === JSON.stringify(next)) return;
    identity = next;
    if (!started) start();
    else if (sessionUp) session().catch((e) => console.warn('Parley: the identity was refused: ' + (e.message || e)));
    // A session still on its way is asked again once it answers.
  }

  // reset forgets this browser's visitor: a site calls it when its user
  // logs out, so that the next person at this browser starts as a new
  // visitor, with nothing of the previous one's conversation, address,
  // unsent messages or draft (Intercom's "shutdown", Crisp's
  // "session:reset").
  function reset() {
    identity = null;
    token = visitor = convId = null;
    skippedFor = optinDismissed = changeConfirmed = contactQueued = null;
    collectDismissed = asked = changing = autoSend = emailSent = false;
    for (const k of [TOKEN_KEY, SKIP_KEY, COLLECT_KEY, OPTIN_KEY, PEND_KEY]) store.set(k, null);
    tab.set(DRAFT_KEY, null);
    msgs.clear(); pend.clear(); seen.clear();
    lastReadSent = readOwed = null;
    seenId = '';
    for (const el of nodes.values()) el.remove();
    nodes.clear();
    historyLoaded = false;
    if (ws) { const old = ws; ws = null; wsUp = false; old.close(); }
    clearTimeout(reconnectTimer);
    everOpened = wsFailed = false;
    // As on a first visit: the new visitor's session starts when the chat
    // opens (at once if it is open), not before.
    started = sessionUp = false;
    if (ready) { input.value = ''; onInput(); clearError(); render(); sync(); }
    if (isOpen) start();
  }

  if (script.getAttribute('data-user-id')) {
    identify({
      user_id: script.getAttribute('data-user-id'),
      email: script.getAttribute('data-user-email'),
      name: script.getAttribute('data-user-name'),
      hash: script.getAttribute('data-user-hash'),
    });
  }

  W.Parley = {
    open,
    close,
    identify,
    reset,
    visitorToken: () => token,
  };
  for (const call of earlyCalls) {
    if (Array.isArray(call) && typeof W.Parley[call[0]] === 'function') W.Parley[call[0]](...call.slice(1));
  }

  boot();
})();
