/*
 * Parley dashboard: the live parts. Pages are rendered by the server and work
 * without this file; it adds a WebSocket that refetches the conversation list
 * and the open conversation when events arrive, marks new visitor messages
 * seen while the conversation is in view, and a few conveniences.
 *
 * Live updates patch the page in place: items that did not change stay the
 * same nodes, a changed item is updated inside the node that has the focus,
 * and where a part must be replaced the focus goes back to its counterpart.
 * New visitor messages are read out by a polite live region.
 */
(() => {
  'use strict';

  const D = document, W = window;
  const body = D.body;
  D.documentElement.classList.add('js');

  const meta = D.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : '';
  const convID = body.dataset.conversation || '';
  const visitorID = body.dataset.visitor || '';
  const filter = body.dataset.filter || 'open';

  // ---- conveniences ---------------------------------------------------------

  // The status switch submits itself.
  for (const sel of D.querySelectorAll('select[data-autosubmit]')) {
    sel.addEventListener('change', () => {
      const f = sel.form;
      if (f.requestSubmit) f.requestSubmit(); else f.submit();
    });
  }

  // A form is sent once, even when its button is clicked twice.
  for (const f of D.querySelectorAll('form[method="post"]')) {
    f.addEventListener('submit', (e) => {
      if (f.dataset.busy) { e.preventDefault(); return; }
      f.dataset.busy = '1';
      setTimeout(() => { delete f.dataset.busy; }, 5000);
    });
  }

  const reply = D.querySelector('[data-testid="reply-body"]');
  if (reply) {
    reply.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        const btn = D.querySelector('[data-testid="send-reply"]');
        if (btn && reply.value.trim()) btn.click();
      }
    });
  }

  for (const b of D.querySelectorAll('[data-copy]')) {
    b.addEventListener('click', () => {
      const el = D.getElementById(b.dataset.copy);
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent).then(() => {
        const old = b.textContent;
        b.textContent = 'Copied';
        setTimeout(() => { b.textContent = old; }, 1500);
      }).catch(() => {});
    });
  }

  const messagesEl = () => D.getElementById('conv-messages');
  const nearBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  const toBottom = () => { const m = messagesEl(); if (m) m.scrollTop = m.scrollHeight; };
  toBottom();

  if (!body.classList.contains('live') || !csrf) return;

  // ---- "new message" in the title while the tab is in the background --------

  const baseTitle = D.title;
  let unseen = 0;
  function bumpTitle() {
    if (D.visibilityState === 'visible' && D.hasFocus()) return;
    unseen++;
    D.title = '(' + unseen + ') ' + baseTitle;
  }
  function resetTitle() {
    unseen = 0;
    D.title = baseTitle;
  }
  W.addEventListener('focus', resetTitle);

  // ---- marking the open conversation seen ------------------------------------

  let readOwed = false;
  function markSeen() {
    if (!convID) return;
    if (D.visibilityState !== 'visible') { readOwed = true; return; }
    readOwed = false;
    fetch('/api/v1/conversations/' + encodeURIComponent(convID) + '/read', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf },
    }).catch(() => {});
  }
  D.addEventListener('visibilitychange', () => {
    if (D.visibilityState !== 'visible') return;
    if (D.hasFocus()) resetTitle();
    if (readOwed) markSeen();
  });

  // ---- refetching the partials -----------------------------------------------

  let wantList = false, wantConv = false, timer = 0, busy = false;
  let panelStale = false;

  function schedule(list, conv) {
    wantList = wantList || list;
    wantConv = wantConv || conv;
    if (!timer) timer = setTimeout(refresh, 100);
  }

  async function get(url) {
    const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
    if (res.status === 401) {
      location.href = '/dashboard/login';
      throw new Error('logged out');
    }
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.text();
  }

  async function refresh() {
    timer = 0;
    if (busy) { timer = setTimeout(refresh, 100); return; } // keep answers in order
    const list = wantList, conv = wantConv && !!convID;
    wantList = wantConv = false;
    busy = true;
    try {
      const jobs = [];
      if (list) {
        jobs.push(get('/dashboard/partials/list?status=' + encodeURIComponent(filter) + '&c=' + encodeURIComponent(convID))
          .then(applyList));
      }
      if (conv) {
        jobs.push(get('/dashboard/partials/conversation/' + encodeURIComponent(convID) + '?status=' + encodeURIComponent(filter))
          .then(applyConversation));
      }
      await Promise.all(jobs);
    } catch (e) {
      // The next event or reconnection refetches.
    } finally {
      busy = false;
    }
  }

  // ---- patching in place -------------------------------------------------------

  // fragment parses server-rendered HTML (escaped by html/template).
  function fragment(html) {
    const t = D.createElement('template');
    t.innerHTML = html;
    return t.content;
  }

  // focusKey names the focused element inside root so that its counterpart
  // can be found in new content: its data-testid and data-id, or else its
  // place among root's focusable elements.
  const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex]';
  function focusKey(root) {
    const a = D.activeElement;
    if (!a || a === D.body || !root.contains(a)) return null;
    if (a.dataset.testid) return { testid: a.dataset.testid, id: a.dataset.id || '' };
    return { index: Array.from(root.querySelectorAll(FOCUSABLE)).indexOf(a) };
  }
  function refocus(root, key) {
    if (!key || root.contains(D.activeElement)) return;
    let el = null;
    if (key.testid) {
      el = Array.from(root.querySelectorAll('[data-testid="' + key.testid + '"]'))
        .find((e) => (e.dataset.id || '') === key.id) || null;
    } else if (key.index >= 0) {
      el = root.querySelectorAll(FOCUSABLE)[key.index] || null;
    }
    if (el) el.focus({ preventScroll: true });
  }

  // replaceContent swaps root's children for html unless nothing changed,
  // and puts the focus back on the counterpart of the focused element.
  function replaceContent(root, html) {
    const next = fragment(html);
    const probe = D.createElement('div');
    probe.appendChild(next.cloneNode(true));
    if (probe.innerHTML === root.innerHTML) return;
    const key = focusKey(root);
    root.replaceChildren(next);
    refocus(root, key);
  }

  // patchChildren makes the children of list those of next, keyed by
  // keyOf: an unchanged child stays, a changed one is updated in place
  // (its attributes and content), new ones are inserted, gone ones removed.
  function patchChildren(list, next, keyOf) {
    const old = new Map();
    for (const c of Array.from(list.children)) {
      const k = keyOf(c);
      if (k) old.set(k, c);
    }
    const want = [];
    for (const c of Array.from(next.children)) {
      const k = keyOf(c);
      const cur = k && old.get(k);
      if (cur && cur.tagName === c.tagName) {
        old.delete(k);
        if (cur.outerHTML !== c.outerHTML) update(cur, c);
        want.push(cur);
      } else {
        want.push(c);
      }
    }
    want.forEach((el, i) => { if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null); });
    while (list.children.length > want.length) list.lastElementChild.remove();
  }

  // update makes el look like src while keeping el (and a focused
  // descendant with the same key) in the document.
  function update(el, src) {
    for (const a of Array.from(el.attributes)) if (!src.hasAttribute(a.name)) el.removeAttribute(a.name);
    for (const a of Array.from(src.attributes)) if (el.getAttribute(a.name) !== a.value) el.setAttribute(a.name, a.value);
    if (el.innerHTML === src.innerHTML) return;
    // A list item holds one link: keep that node, so the focus stays on it.
    const link = el.children.length === 1 && el.firstElementChild;
    const srcLink = src.children.length === 1 && src.firstElementChild;
    if (link && srcLink && link.tagName === srcLink.tagName && link.tagName === 'A') {
      update(link, srcLink);
      return;
    }
    const key = focusKey(el);
    el.replaceChildren(...Array.from(src.childNodes));
    refocus(el, key);
  }

  function applyList(html) {
    const el = D.getElementById('conv-list');
    if (!el) return;
    const top = el.scrollTop;
    const next = fragment(html);
    const cur = el.querySelector('ul.convs'), nextList = next.querySelector('ul.convs');
    if (cur && nextList && el.children.length === 1 && next.children.length === 1) {
      patchChildren(cur, nextList, (li) => { const a = li.querySelector('[data-id]'); return a && a.dataset.id; });
    } else {
      replaceContent(el, html);
    }
    el.scrollTop = top;
  }

  function applyConversation(html) {
    for (const part of fragment(html).querySelectorAll('[data-part]')) {
      const id = part.dataset.part;
      const el = D.getElementById(id);
      if (!el) continue;
      // Never replace a form the agent is typing in.
      if (el.contains(D.activeElement) && D.activeElement.matches('input, textarea, select')) {
        if (id === 'visitor-panel') panelStale = true;
        continue;
      }
      if (id === 'conv-messages') {
        const stick = nearBottom(el);
        patchChildren(el, part, (li) => li.dataset.id || (li.classList.contains('empty') ? 'empty' : ''));
        if (stick) toBottom();
      } else {
        replaceContent(el, part.innerHTML);
      }
    }
  }

  // ---- reading out new visitor messages --------------------------------------

  const announcer = D.getElementById('announcer');
  function announce(m) {
    if (!announcer) return;
    const who = (m.author && m.author.name) || 'a visitor';
    let text = m.body || '';
    if (text.length > 160) text = text.slice(0, 160) + '\u2026';
    const mark = announcer.textContent.endsWith('\u00a0') ? '' : '\u00a0'; // the same text twice is still news
    announcer.textContent = 'New message from ' + who + ': ' + text + mark;
  }

  const panel = D.getElementById('visitor-panel');
  if (panel) {
    panel.addEventListener('focusout', () => {
      setTimeout(() => {
        if (panelStale && !panel.contains(D.activeElement)) {
          panelStale = false;
          schedule(false, true);
        }
      }, 0);
    });
  }

  function onEvent(ev) {
    const d = ev.data || {};
    let mine = false;
    switch (ev.type) {
      case 'message.created':
      case 'message.updated':
        mine = d.conversation_id === convID;
        if (ev.type === 'message.created' && d.author && d.author.kind === 'visitor') {
          bumpTitle();
          announce(d);
          if (mine) markSeen();
        }
        break;
      case 'conversation.updated':
        mine = d.id === convID;
        break;
      case 'visitor.updated':
        mine = !!visitorID && d.id === visitorID;
        break;
      default:
        return;
    }
    schedule(true, mine);
  }

  // ---- the WebSocket -----------------------------------------------------------

  let attempt = 0;

  function connect() {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/ws';
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      retry();
      return;
    }
    ws.onopen = () => {
      attempt = 0;
      body.dataset.ws = 'open'; // styles the connection banner; a hook for tests
      // Anything may have happened while the connection was down, or
      // between rendering this page and opening the connection.
      schedule(true, true);
    };
    ws.onmessage = (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      if (ev && typeof ev === 'object') onEvent(ev);
    };
    ws.onclose = () => {
      body.dataset.ws = 'closed';
      // A refetch also finds out whether the session ended (401 → login).
      schedule(true, false);
      retry();
    };
  }

  function retry() {
    const n = attempt++;
    const d = Math.min(30000, 1000 * 2 ** Math.min(n, 5)) * (0.75 + Math.random() * 0.5);
    setTimeout(connect, d);
  }

  connect();
})();
