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
  const view = body.dataset.view || 'all';
  const listTag = body.dataset.tag || '';
  const me = body.dataset.agent || '';
  const listQuery = () => 'status=' + encodeURIComponent(filter) + '&view=' + encodeURIComponent(view) +
    (listTag ? '&tag=' + encodeURIComponent(listTag) : '');

  // drawn keeps, for the open conversation's header and visitor panel, the
  // server's HTML last drawn in each. The script adjusts both once drawn
  // (local times, the unread count, the menus' labels), so the page never
  // equals the server's HTML: comparing with the page would draw them again
  // on every event, folding what the agent unfolded in them.
  const drawn = new WeakMap();
  for (const id of ['conv-head', 'conv-tags', 'visitor-panel']) {
    const el = D.getElementById(id);
    if (el) drawn.set(el, pageToken(el.innerHTML));
  }

  // ---- the agent's picture (Settings → Your account) ---------------------------
  // A chosen picture is sent at once (PUT /api/v1/agents/{id}/avatar); the page
  // then reloads to show it.

  const avatarInput = D.querySelector('input[data-avatar]');
  if (avatarInput && csrf) {
    const err = D.querySelector('[data-testid="avatar-error"]');
    avatarInput.addEventListener('change', async () => {
      const file = avatarInput.files && avatarInput.files[0];
      if (!file) return;
      err.hidden = true;
      const fd = new FormData();
      fd.append('file', file, file.name);
      try {
        const res = await fetch(avatarInput.dataset.avatar, { method: 'PUT', headers: { 'X-CSRF-Token': csrf }, body: fd, credentials: 'same-origin' });
        if (res.ok) {
          W.location.assign('/dashboard/settings/account?done=avatar');
          return;
        }
        const data = await res.json().catch(() => null);
        const msg = (data && data.error && data.error.message) || 'The picture could not be saved.';
        err.textContent = msg.charAt(0).toUpperCase() + msg.slice(1);
      } catch (e) {
        err.textContent = 'The picture could not be saved.';
      }
      err.hidden = false;
      // A former "Picture saved." no longer holds.
      const done = D.querySelector('[data-testid="account-notice"]');
      if (done) done.remove();
      avatarInput.value = '';
    });
  }

  // ---- files in the reply box --------------------------------------------------
  // A chosen file is uploaded at once (POST /api/v1/conversations/{id}/uploads);
  // its id goes with the form as attachment_ids, so the reply may have no text.

  const fileInput = D.querySelector('input[data-upload]');
  if (fileInput && csrf) {
    const form = fileInput.form;
    const box = form.querySelector('.reply-files');
    const text = form.querySelector('textarea[name="body"]');
    const pending = new Set();
    const say = (msg) => {
      const p = D.createElement('p');
      p.className = 'error';
      p.setAttribute('role', 'alert');
      p.textContent = msg;
      box.appendChild(p);
    };
    const sync = () => { text.required = !form.querySelector('input[name="attachment_ids"]'); };
    fileInput.addEventListener('change', async () => {
      for (const old of box.querySelectorAll('.error')) old.remove();
      for (const file of Array.from(fileInput.files || [])) {
        const chip = D.createElement('span');
        chip.className = 'chip';
        chip.textContent = file.name + ' \u2026';
        box.appendChild(chip);
        const fd = new FormData();
        fd.append('file', file, file.name);
        const up = fetch(fileInput.dataset.upload, { method: 'POST', headers: { 'X-CSRF-Token': csrf }, body: fd, credentials: 'same-origin' });
        pending.add(up);
        try {
          const res = await up;
          const data = await res.json().catch(() => null);
          if (!res.ok) {
            chip.remove();
            say(file.name + ': ' + ((data && data.error && data.error.message) || 'could not be uploaded'));
            continue;
          }
          chip.textContent = data.filename;
          chip.dataset.testid = 'reply-file-chip';
          const hidden = D.createElement('input');
          hidden.type = 'hidden';
          hidden.name = 'attachment_ids';
          hidden.value = data.id;
          chip.appendChild(hidden);
          // A file chosen by mistake is taken off before sending.
          const off = D.createElement('button');
          off.type = 'button';
          off.className = 'chip-remove';
          off.textContent = '\u00d7';
          off.setAttribute('aria-label', 'Remove ' + data.filename);
          off.dataset.testid = 'reply-file-remove';
          off.addEventListener('click', () => { chip.remove(); sync(); text.focus(); });
          chip.appendChild(off);
          sync();
        } catch (e) {
          chip.remove();
          say(file.name + ': could not be uploaded');
        } finally {
          pending.delete(up);
        }
      }
      fileInput.value = '';
    });
    form.addEventListener('submit', (e) => {
      if (pending.size) { e.preventDefault(); say('Wait for the files to finish uploading.'); }
    });
  }

  // ---- conveniences ---------------------------------------------------------

  // A menu marked data-autosubmit (status, assignee) submits itself when
  // a choice is made with the pointer. From the keyboard, the arrows only
  // move through the options (a closed menu changes its value on each):
  // Enter, or leaving the menu, sends the one chosen. The list is
  // re-rendered, so this listens on the document.
  const autosubmit = (t) => t instanceof HTMLSelectElement && t.hasAttribute('data-autosubmit');
  const submitMenu = (sel) => {
    sel.dataset.keyed = '';
    const f = sel.form;
    if (f.requestSubmit) f.requestSubmit(); else f.submit();
  };
  D.addEventListener('keydown', (e) => {
    const sel = e.target;
    if (!autosubmit(sel) || e.key === 'Tab' || e.key === 'Shift') return;
    if (e.key === 'Enter') {
      if (sel.dataset.keyed) { e.preventDefault(); submitMenu(sel); }
      return;
    }
    sel.dataset.keyed = '1';
  });
  D.addEventListener('change', (e) => {
    if (autosubmit(e.target) && !e.target.dataset.keyed) submitMenu(e.target);
  });
  D.addEventListener('focusout', (e) => {
    if (autosubmit(e.target) && e.target.dataset.keyed) {
      const sel = e.target;
      const chosen = [...sel.options].find((o) => o.defaultSelected);
      if (!chosen || chosen.value !== sel.value) submitMenu(sel); else sel.dataset.keyed = '';
    }
  });

  // An assign menu goes through the API, so the page stays where it is;
  // the conversation.updated event then redraws every open dashboard.
  D.addEventListener('submit', (e) => {
    const f = e.target;
    if (!(f instanceof HTMLFormElement) || !f.classList.contains('assign-form') || !csrf) return;
    e.preventDefault();
    assign(f.dataset.id, f.elements.agent_id.value || null);
    // A list row's menu hands the focus back to its row once used: the
    // list is redrawn (never under a focused menu), and the keys go to
    // the shortcuts again, not to the menu's type-ahead.
    const row = f.closest('.conv-row');
    const link = row && row.querySelector('a.conv');
    if (link && f.contains(D.activeElement)) link.focus();
  }, true);

  function assign(id, agentID) {
    return fetch('/api/v1/conversations/' + encodeURIComponent(id) + '/assignee', {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
      body: JSON.stringify({ agent_id: agentID }),
    }).then(async (res) => {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      schedule(true, id === convID);
      // A screen reader is told what the change did (the menu or the key
      // gives no other sign).
      const c = await res.json().catch(() => null);
      const to = c && c.assignee;
      say(!c ? 'Assignment saved.' : !to ? 'Unassigned.' : to.id === me ? 'Assigned to you.' : 'Assigned to ' + to.name + '.');
    }).catch(() => { say('Not assigned: Parley could not be reached. Try again.'); schedule(true, true); });
  }
  // ---- tags in the conversation's head -----------------------------------------
  // Adding a tag (Enter in the field) and removing one go through the
  // dashboard's forms in the background, so the page stays where it is and
  // the field keeps the focus for the next tag; conversation.updated then
  // redraws every open dashboard. A refused tag shows the server's reason
  // beside the field, the tag kept in it.
  D.addEventListener('submit', async (e) => {
    const f = e.target;
    if (!(f instanceof HTMLFormElement) || !(f.classList.contains('tag-form') || f.classList.contains('tag-remove')) || !csrf) return;
    e.preventDefault();
    if (f.dataset.busy) return;
    const adding = f.classList.contains('tag-form');
    const name = f.elements.tag.value.trim();
    if (adding && !name) return;
    f.dataset.busy = '1';
    if (!adding) {
      // The chip goes: the focus moves to the next chip's button (the one
      // before, for the last), else to the field.
      const chip = f.closest('li');
      const near = chip && (chip.nextElementSibling || chip.previousElementSibling);
      const to = (near && near.querySelector('[data-testid="remove-tag"]')) || D.querySelector('[data-testid="add-tag"]');
      if (to) to.focus();
    }
    let res = null;
    try {
      res = await fetch(f.action, { method: 'POST', body: new URLSearchParams(new FormData(f)), credentials: 'same-origin', redirect: 'manual' });
    } catch (err) { /* res stays null */ }
    delete f.dataset.busy;
    const form = D.querySelector('.tag-form');
    const input = form && form.elements.tag;
    const old = form && form.querySelector('[data-testid="tag-error"]');
    if (old) old.remove();
    if (input) { input.removeAttribute('aria-invalid'); input.removeAttribute('aria-describedby'); }
    if (res && (res.type === 'opaqueredirect' || res.ok)) {
      if (adding && input && input.value.trim() === name) input.value = '';
      say(adding ? 'Tag ' + name + ' added.' : 'Tag ' + name + ' removed.');
      schedule(true, true);
      return;
    }
    let why = null;
    if (res && res.status >= 400 && res.status < 500) {
      try {
        why = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('[data-testid="tag-error"]');
      } catch (err) { /* a generic line below */ }
    }
    if (!form) return;
    const p = why ? D.importNode(why, true) : D.createElement('p');
    if (!why) {
      p.className = 'error';
      p.setAttribute('role', 'alert');
      p.dataset.testid = 'tag-error';
      p.id = 'tag-error';
      p.textContent = 'Not saved: Parley could not be reached. Try again.';
    }
    form.appendChild(p);
    if (adding && input) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'tag-error');
      input.focus();
    }
  }, true);

  // On a phone (one pane at a time) a tag of the conversation's head opens
  // the list of that tag, which the conversation would otherwise hide.
  D.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[data-list-href]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || !W.matchMedia('(max-width: 900px)').matches) return;
    e.preventDefault();
    location.href = a.dataset.listHref;
  });

  // say reads text out through the page's live region.
  function say(text) {
    const live = D.getElementById('announcer');
    if (!live) return;
    const mark = live.textContent.endsWith('\u00a0') ? '' : '\u00a0'; // the same text twice is still news
    live.textContent = text + mark;
  }

  // A form is sent once, even when its button is clicked twice.
  for (const f of D.querySelectorAll('form[method="post"]:not(.assign-form):not(.tag-form):not(.tag-remove)')) {
    f.addEventListener('submit', (e) => {
      if (f.dataset.busy) { e.preventDefault(); return; }
      f.dataset.busy = '1';
      setTimeout(() => { delete f.dataset.busy; }, 5000);
    });
  }

  // What the page keeps for the tab's life (sessionStorage); an empty
  // value forgets it.
  const keep = (k, v) => { try { if (v) sessionStorage.setItem(k, v); else sessionStorage.removeItem(k); } catch (err) { /* storage off */ } };
  const kept = (k) => { try { return sessionStorage.getItem(k); } catch (err) { return null; } };

  // A form that reloads the page (a reply, close, reopen) names with
  // data-focus-after where the keyboard's focus goes once it is back, so
  // that it does not fall to the top of the page.
  D.addEventListener('submit', (e) => {
    const to = e.target instanceof HTMLFormElement && e.target.dataset.focusAfter;
    if (to) keep('parley.focus', to);
  });
  const focusTo = kept('parley.focus');
  if (focusTo) {
    keep('parley.focus', '');
    const el = D.querySelector('[data-testid="' + CSS.escape(focusTo) + '"]');
    if (el) el.focus();
  }

  const reply = D.querySelector('[data-testid="reply-body"]');
  // While "Writing a note" is ticked the box is a note: Ctrl+Enter adds it
  // and the visitor is never told that someone is typing.
  const noteMode = D.querySelector('[data-testid="note-mode"]');
  const writingNote = () => !!(noteMode && noteMode.checked);
  if (reply) {
    reply.addEventListener('keydown', (e) => {
      if (e.defaultPrevented) return; // taken by the canned-reply picker
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        const btn = D.querySelector(writingNote() ? '[data-testid="send-comment"]' : '[data-testid="send-reply"]');
        if (btn && reply.value.trim()) btn.click();
      }
    });
    if (noteMode) noteMode.addEventListener('change', () => noteShown());
  }
  // While writing a note, "Send reply" is hidden: a note must not reach the
  // visitor by the other button (the server refuses a reply sent with
  // "Writing a note" ticked too).
  function noteShown() {
    if (!reply || !noteMode) return;
    reply.classList.toggle('note-mode', noteMode.checked);
    const send = D.querySelector('[data-testid="send-reply"]');
    if (send) send.hidden = noteMode.checked;
  }
  // Every other form of the page reloads it (a status, an assignment,
  // another conversation and back): the reply box keeps its draft and its
  // "Writing a note", per conversation, for as long as the tab is open. A
  // note added leaves the box writing notes, so that the next Ctrl+Enter
  // does not send the visitor what was meant for colleagues.
  const composer = D.getElementById('composer');
  if (reply && composer) {
    const draftKey = 'parley.draft.' + composer.getAttribute('action');
    const noteKey = 'parley.note.' + composer.getAttribute('action');
    const draft = kept(draftKey);
    if (draft && !reply.value) reply.value = draft; // the server's (a refused reply) comes first
    reply.addEventListener('input', () => keep(draftKey, reply.value.trim() ? reply.value : ''));
    // A reply goes through fetch first: with the network or the server
    // down, a plain form post would leave for the browser's error page.
    // It stays here instead, kept, with a line saying so. A refused reply
    // (an answer that is not a redirect stored nothing) shows the reason
    // the server's page gives above the reply, the draft kept; any other
    // answer comes as the form would have had it: the page it redirects
    // to, or, when the answer names no reason, the form posted again.
    // The draft goes once the reply is stored: the answer redirects to the
    // conversation (a session that ended sends to the login form, and the
    // draft waits for the agent's return).
    const page = new URL(composer.action, location.href).pathname.replace(/\/messages$/, '');
    // While a reply is on its way (seconds on a slow network) its buttons
    // wait with it: a second press would send the visitor the reply twice.
    const sending = (on) => {
      composer.setAttribute('aria-busy', on ? 'true' : 'false');
      for (const b of composer.querySelectorAll('button[type="submit"]')) b.disabled = on;
    };
    W.addEventListener('pageshow', (e) => { if (e.persisted) sending(false); }); // back to this page
    composer.addEventListener('submit', async (e) => {
      if (e.defaultPrevented || composer.dataset.native) return;
      if (composer.getAttribute('aria-busy') === 'true') { e.preventDefault(); return; }
      let body;
      try { body = new URLSearchParams(new FormData(composer, e.submitter || null)); } catch (err) { return; } // an older browser posts the form
      e.preventDefault();
      const by = e.submitter || null;
      const failed = composer.querySelector('[data-testid="reply-offline"]');
      if (failed) failed.remove();
      sending(true);
      let res;
      try {
        res = await fetch(composer.action, { method: 'POST', body, credentials: 'same-origin' });
      } catch (err) {
        sending(false);
        delete composer.dataset.busy;
        keep(draftKey, reply.value);
        const p = D.createElement('p');
        p.className = 'error';
        p.setAttribute('role', 'alert');
        p.dataset.testid = 'reply-offline';
        p.textContent = 'Not sent: Parley cannot be reached (connection lost, or the server is restarting). Your message is kept here; send it again in a moment.';
        composer.prepend(p);
        return;
      }
      if (res.redirected && res.ok) {
        if (new URL(res.url).pathname === page) keep(draftKey, '');
        location.assign(res.url);
        return;
      }
      const why = await refusal(res);
      sending(false);
      if (why) {
        delete composer.dataset.busy;
        keep(draftKey, reply.value);
        const old = composer.querySelector('[data-testid="reply-error"]');
        if (old) old.remove();
        composer.prepend(why);
        reply.focus();
        return;
      }
      composer.dataset.native = '1';
      delete composer.dataset.busy; // the guard against a double click lets this one through
      composer.requestSubmit(by);
    });
    // refusal is the reason a refused reply's answer gives (the server's
    // page with the conversation and the reply's error), adopted into this
    // page; null when it gives none.
    async function refusal(res) {
      if (res.status < 400 || res.status >= 500) return null;
      let html;
      try { html = await res.text(); } catch (err) { return null; }
      const el = new DOMParser().parseFromString(html, 'text/html').querySelector('#composer [data-testid="reply-error"]');
      return el ? D.importNode(el, true) : null;
    }
    if (noteMode) {
      if (kept(noteKey)) noteMode.checked = true;
      noteShown();
      noteMode.addEventListener('change', () => keep(noteKey, noteMode.checked ? '1' : ''));
    }
  }

  // Times come from the server in RFC 3339 (UTC) and are shown in the
  // browser's own time zone, in the pages and in every fragment inserted
  // later.
  const fmtTime = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
  const fmtDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
  const fmtYear = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
  const fmtFull = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });
  const fmtSeconds = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
  const fmtDaySeconds = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', second: '2-digit' });
  // A text whose times are the workspace's (data-zone) says so only where
  // the browser's clock is another. Zones are compared by their clocks over
  // a year (DST included), not by name: browsers name some zones by an
  // alias ("Asia/Katmandu").
  const clocksOf = new Map();
  const clockOf = (zone) => {
    if (clocksOf.has(zone)) return clocksOf.get(zone);
    let clock = null; // a zone this browser does not know
    try {
      const f = new Intl.DateTimeFormat('en-US', { timeZone: zone, month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
      const now = Date.now(), quarter = 91 * 86400000;
      clock = [0, 1, 2, 3].map((q) => f.format(now + q * quarter)).join('|');
    } catch (e) { /* null */ }
    clocksOf.set(zone, clock);
    return clock;
  };
  const browserClock = clockOf(undefined);
  function localizeTimes(root) {
    for (const el of root.querySelectorAll('[data-zone]')) el.hidden = clockOf(el.dataset.zone) === browserClock;
    for (const el of root.querySelectorAll('time[datetime]')) {
      if (el.dataset.local) continue;
      const t = new Date(el.getAttribute('datetime'));
      if (isNaN(t)) continue;
      el.dataset.local = '1';
      el.title = fmtFull.format(t);
      if (el.classList.contains('conv-time')) continue; // relative ("5m"): the same everywhere
      const now = new Date();
      // A log's times keep their seconds: retries are seconds apart.
      const f = 'seconds' in el.dataset ? (t.toDateString() === now.toDateString() ? fmtSeconds : fmtDaySeconds)
        : t.toDateString() === now.toDateString() ? fmtTime : (t.getFullYear() === now.getFullYear() ? fmtDay : fmtYear);
      el.textContent = f.format(t);
    }
  }
  // The visitor's local time (the visitor panel) keeps going.
  function visitorClocks() {
    for (const el of D.querySelectorAll('[data-tz]')) {
      try {
        const text = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', timeZone: el.dataset.tz }).format(new Date());
        if (el.textContent !== text) el.textContent = text;
      } catch (e) { /* a zone this browser does not know: keep the server's */ }
    }
  }
  // The lists' relative times ("5m", as the server writes them) move on
  // while the page stays open; a week or more is a date, left as written.
  const agoText = (t, now) => {
    const m = Math.max(0, now - t) / 60000;
    if (m < 1) return 'now';
    if (m < 60) return Math.floor(m) + 'm';
    if (m < 1440) return Math.floor(m / 60) + 'h';
    if (m < 10080) return Math.floor(m / 1440) + 'd';
    return null;
  };
  function relativeTimes() {
    const now = Date.now();
    for (const el of D.querySelectorAll('time.conv-time[datetime]')) {
      const text = agoText(Date.parse(el.getAttribute('datetime')), now);
      if (text && el.textContent !== text) el.textContent = text;
    }
  }
  const clocks = () => { visitorClocks(); relativeTimes(); };
  localizeTimes(D);
  clocks();
  setInterval(clocks, 15000);
  new MutationObserver(() => { localizeTimes(D); clocks(); }).observe(body, { childList: true, subtree: true });

  // Settings are saved a section at a time, and the page that comes back
  // shows the others as stored: edits made in another section would be
  // lost without a word. Saving asks first when there are some.
  const changed = (f) => Array.from(f.elements).some((el) =>
    (el instanceof HTMLInputElement && el.type !== 'hidden' && (/^(checkbox|radio)$/.test(el.type) ? el.checked !== el.defaultChecked : el.value !== el.defaultValue)) ||
    (el instanceof HTMLTextAreaElement && el.value !== el.defaultValue) ||
    (el instanceof HTMLSelectElement && Array.from(el.options).some((o) => o.selected !== o.defaultSelected)));
  D.addEventListener('submit', (e) => {
    const f = e.target;
    if (!(f instanceof HTMLFormElement) || f.getAttribute('action') !== '/dashboard/settings') return;
    const others = Array.from(D.querySelectorAll('form[action="/dashboard/settings"]')).filter((o) => o !== f && changed(o));
    if (!others.length) return;
    const names = others.map((o) => { const h = o.closest('section') && o.closest('section').querySelector('h2'); return h ? h.textContent.trim() : 'another section'; });
    if (!W.confirm('Unsaved changes in ' + names.join(', ') + ' are lost if you save this section alone. Save it anyway?')) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  // "Settings saved." stays in view (it is sticky) until the next edit,
  // which it no longer describes.
  D.addEventListener('input', (e) => {
    if (!e.target.closest || !e.target.closest('form[action^="/dashboard/settings"]')) return;
    for (const n of D.querySelectorAll('[data-testid="settings-saved"]')) n.remove();
  });

  // Leaving a settings page with edits not saved asks first too (the
  // browser's own question): a reload, a link or a closed tab would lose
  // them. A form being sent is not leaving.
  let submitted = false;
  D.addEventListener('submit', (e) => { if (!e.defaultPrevented) submitted = true; });
  W.addEventListener('pageshow', () => { submitted = false; });
  W.addEventListener('beforeunload', (e) => {
    if (submitted) return;
    if (!Array.from(D.querySelectorAll('form[method="post" i][action^="/dashboard/settings"]')).some(changed)) return;
    e.preventDefault();
    e.returnValue = '';
  });

  // Forms, and buttons, that destroy something ask first.
  D.addEventListener('submit', (e) => {
    const by = e.submitter && e.submitter.dataset.confirm ? e.submitter : e.target;
    const ask = by instanceof HTMLElement && by.dataset.confirm;
    if (ask && !W.confirm(ask)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  for (const b of D.querySelectorAll('[data-copy]')) {
    b.addEventListener('click', () => {
      const el = D.getElementById(b.dataset.copy);
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el instanceof HTMLInputElement ? el.value : el.textContent).then(() => {
        const old = b.textContent;
        b.textContent = 'Copied';
        setTimeout(() => { b.textContent = old; }, 1500);
      }).catch(() => {});
    });
  }

  const messagesEl = () => D.getElementById('conv-messages');
  // On a wide screen the messages scroll in their own box; on a phone the
  // page grows with them and the window scrolls (the newest message then
  // sits just above the reply box).
  const ownScroll = (el) => el.scrollHeight > el.clientHeight + 1;
  const nearBottom = (el) => {
    if (ownScroll(el)) return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    const last = el.lastElementChild;
    return !last || last.getBoundingClientRect().bottom - window.innerHeight < 80;
  };
  const toBottom = () => {
    const m = messagesEl();
    if (!m) return;
    if (ownScroll(m)) { m.scrollTop = m.scrollHeight; return; }
    const thread = m.closest('.thread');
    if (thread && thread.getBoundingClientRect().bottom > window.innerHeight) thread.scrollIntoView({ block: 'end' });
  };
  // keepBottom runs f, which changes the messages or a line under them
  // (someone typing): the newest message stays in sight when it was.
  const keepBottom = (f) => {
    const m = messagesEl();
    const stick = !!m && nearBottom(m);
    f();
    if (stick) toBottom();
  };
  // A conversation opened from a search result (#msg-ID) shows that
  // message, marked, and keeps it marked when the messages are refetched;
  // otherwise it shows the newest.
  const markFound = () => {
    const m = location.hash.startsWith('#msg-') && D.getElementById(location.hash.slice(1));
    if (m) m.classList.add('found');
    return m;
  };
  const found = markFound();
  if (found) {
    // On a phone the conversation's head stays at the top of the window,
    // over the messages: the found message is placed under it, also by the
    // browser's own scroll to the page's #msg- target, which can come after
    // this one.
    const head = D.getElementById('conv-head');
    if (head && getComputedStyle(head).position === 'sticky') found.style.scrollMarginTop = head.offsetHeight + 12 + 'px';
    found.scrollIntoView({ block: 'center' });
  } else openAtNewest();

  // openAtNewest shows the newest message as the conversation opens: its
  // end, under the ones before; its start when it is taller than the
  // thread's box (a long email answer is read from its first line).
  function openAtNewest() {
    toBottom();
    const m = messagesEl();
    const msgs = m ? m.querySelectorAll('li[data-testid="message"]') : [];
    const last = msgs[msgs.length - 1];
    if (!last) return;
    const r = last.getBoundingClientRect();
    if (ownScroll(m)) {
      const box = m.getBoundingClientRect();
      if (r.height > box.height) m.scrollTop += r.top - box.top - 8;
      return;
    }
    // The page scrolls (a phone): under the conversation's sticky head.
    const head = D.querySelector('.conv-head');
    const top = head ? Math.max(0, head.getBoundingClientRect().bottom) : 0;
    const composer = D.getElementById('composer');
    const bottom = composer ? composer.getBoundingClientRect().top : window.innerHeight;
    if (r.height > bottom - top) window.scrollBy(0, r.top - top - 8);
  }

  // ---- paging the thread: older messages on scroll up, newer on scroll down ----
  // The server sends the newest page (or the page around a search result);
  // the links at either end ("Load older messages", "Load newer messages")
  // are plain pages without this file, and load in place with it.

  let loadingThread = false, threadObserver = null;
  async function loadThread(a) {
    const el = messagesEl();
    if (loadingThread || !a || !el) return;
    const older = a.dataset.testid === 'load-older';
    const cursor = new URL(a.href, location.href).searchParams.get(older ? 'before' : 'after');
    if (!cursor) return;
    loadingThread = true;
    try {
      const html = await get('/dashboard/partials/messages/' + encodeURIComponent(convID) + '?' + listQuery() +
        '&' + (older ? 'before' : 'after') + '=' + encodeURIComponent(cursor));
      const ol = fragment(html).querySelector('[data-part="conv-messages"]');
      if (!ol) return;
      const have = new Set(Array.from(el.children).map((li) => li.dataset.id)
        .filter((id) => id && id !== 'older' && id !== 'newer'));
      const items = Array.from(ol.children).filter((li) => !li.classList.contains('empty') &&
        !have.has(li.dataset.id) && li.dataset.id !== (older ? 'newer' : 'older'));
      const end = a.closest('li');
      if (older) {
        // Keep the messages in view where they are (done here, not by the
        // browser's scroll anchoring, which the stylesheet turns off: both
        // would move the thread twice).
        const fromBottom = el.scrollHeight - el.scrollTop;
        end.replaceWith(...items);
        el.scrollTop = el.scrollHeight - fromBottom;
      } else {
        end.replaceWith(...items);
      }
      markFound();
    } catch (e) {
      // The link still works as a plain page.
    } finally {
      loadingThread = false;
      watchThread();
    }
  }
  D.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('[data-testid="load-older"], [data-testid="load-newer"]');
    if (!a) return;
    e.preventDefault();
    loadThread(a);
  });
  function watchThread() {
    if (!('IntersectionObserver' in W)) return;
    if (threadObserver) threadObserver.disconnect();
    const el = messagesEl();
    const ends = el ? el.querySelectorAll('[data-testid="load-older"], [data-testid="load-newer"]') : [];
    if (!ends.length) return;
    threadObserver = new IntersectionObserver((entries) => {
      const en = entries.find((x) => x.isIntersecting);
      if (en) loadThread(en.target);
    }, { root: el, rootMargin: '300px 0px' });
    for (const a of ends) threadObserver.observe(a);
  }
  watchThread();

  // threadRange is the query that asks again for the messages shown: from
  // the oldest on, up to the newest shown while newer ones are not.
  function threadRange() {
    const el = messagesEl();
    if (!el) return '';
    const ids = Array.from(el.children).map((li) => li.dataset.id)
      .filter((id) => id && id !== 'older' && id !== 'newer');
    if (!ids.length) return '';
    let q = '&from=' + encodeURIComponent(ids[0]);
    if (el.querySelector('[data-testid="load-newer"]')) q += '&until=' + encodeURIComponent(ids[ids.length - 1]);
    return q;
  }


  // ---- paging the list: "Load more", and on scroll -------------------------------

  // loadingMore is the next page being loaded, if one is: a second call
  // (the link scrolled into view, then j or k past the rows loaded) waits
  // for it rather than return before its rows are there.
  let loadingMore = null, moreObserver = null;
  function loadMore(a) {
    if (loadingMore) return loadingMore;
    if (!a) return Promise.resolve();
    loadingMore = loadPage(a).finally(() => {
      loadingMore = null;
      watchMore();
    });
    return loadingMore;
  }
  async function loadPage(a) {
    try {
      const res = await fetch('/dashboard/partials/list?' + listQuery() + '&c=' + encodeURIComponent(convID) +
        '&compact=1&cursor=' + encodeURIComponent(a.dataset.cursor), { credentials: 'same-origin', headers: { Accept: 'text/html' } });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const page = fragment(pageToken(await res.text()));
      expandMenus(page);
      const ul = D.getElementById('convs');
      const have = new Set(Array.from(D.querySelectorAll('#convs > li')).map((li) => li.dataset.id));
      for (const li of page.querySelectorAll('ul > li')) {
        if (ul && !have.has(li.dataset.id)) ul.appendChild(li);
      }
      const more = a.closest('.more');
      const next = page.querySelector('.more');
      if (next) more.replaceWith(next); else more.remove();
      syncPicked();
    } catch (e) {
      // The link still works as a plain page.
    }
  }
  D.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('[data-testid="load-more"]');
    if (!a) return;
    e.preventDefault();
    loadMore(a);
  });
  function watchMore() {
    if (!('IntersectionObserver' in W)) return;
    if (moreObserver) moreObserver.disconnect();
    const a = D.querySelector('[data-testid="load-more"]');
    if (!a) return;
    moreObserver = new IntersectionObserver((entries) => {
      if (entries.some((en) => en.isIntersecting)) loadMore(a);
    }, { root: D.getElementById('conv-list'), rootMargin: '200px' });
    moreObserver.observe(a);
  }

  // ---- selecting several conversations (the list's bar changes them at once) -------

  // The boxes send the form themselves; the script keeps them ticked when
  // the list is redrawn, counts them, and lets a click on a row tick it
  // while selecting (rather than open it). What is selected stays so
  // while the agent moves through the view's conversations (j, k, x) in
  // this tab; a conversation selected that the list does not show (past
  // the rows loaded, or gone from the view) is still sent, and counted.
  const bulk = D.getElementById('bulk');
  let syncPicked = () => {}, unpick = () => {};
  if (bulk) {
    const pickKey = 'parley.picked.' + me + '.' + listQuery(); // this agent's, in this view
    const serverPicked = Array.from(D.querySelectorAll('#convs .pick:checked, #bulk input[data-unshown]')).map((b) => b.value);
    const picked = new Set(serverPicked);
    const boxes = () => Array.from(D.querySelectorAll('#convs .pick'));
    const count = bulk.querySelector('[data-bulk-count]');
    const all = bulk.querySelector('[data-pick-all]');
    const toggles = Array.from(D.querySelectorAll('.select-toggle[data-select-toggle]'));
    const isSelecting = () => body.classList.contains('selecting');
    syncPicked = () => {
      const bs = boxes();
      const shown = new Set(bs.map((b) => b.value));
      for (const b of bs) b.checked = picked.has(b.value);
      for (const h of bulk.querySelectorAll('input[data-unshown]')) h.remove();
      for (const id of picked) {
        if (shown.has(id)) continue;
        const h = D.createElement('input');
        h.type = 'hidden'; h.name = 'id'; h.value = id; h.dataset.unshown = '';
        bulk.appendChild(h);
      }
      const n = picked.size, onPage = bs.filter((b) => b.checked).length;
      count.textContent = n === 0 ? 'None selected' : n + ' selected';
      all.checked = bs.length > 0 && onPage === bs.length;
      all.indeterminate = onPage > 0 && onPage < bs.length;
      for (const b of bulk.querySelectorAll('button[name="action"]')) b.disabled = n === 0;
      if (isSelecting()) keep(pickKey, JSON.stringify(Array.from(picked))); else keep(pickKey, '');
    };
    // An erased conversation leaves the selection.
    unpick = (id) => { if (picked.delete(id)) syncPicked(); };
    const selecting = (on) => {
      body.classList.toggle('selecting', on);
      bulk.hidden = !on;
      for (const t of toggles) {
        t.textContent = on ? 'Cancel' : 'Select';
        t.setAttribute('aria-expanded', String(on));
      }
      if (!on) picked.clear();
      syncPicked();
    };
    // It shows the bar (its name says what it does next: Select, Cancel).
    for (const t of toggles) {
      t.setAttribute('role', 'button');
      t.setAttribute('aria-controls', 'bulk');
      t.setAttribute('aria-expanded', String(isSelecting()));
    }
    const flip = (box) => {
      if (!box) return;
      if (!isSelecting()) selecting(true);
      if (picked.has(box.value)) picked.delete(box.value); else picked.add(box.value);
      syncPicked();
    };
    bulk.addEventListener('submit', () => { bulk.elements.shown.value = String(D.querySelectorAll('#convs > li').length); });
    D.addEventListener('keydown', (e) => {
      // The toggle is a link playing a button: Space presses it too.
      if (e.key === ' ' && e.target.matches && e.target.matches('[data-select-toggle]')) { e.preventDefault(); e.target.click(); }
    });
    D.addEventListener('click', (e) => {
      const t = e.target.closest && e.target.closest('[data-select-toggle]');
      if (t) {
        e.preventDefault();
        selecting(!isSelecting());
        return;
      }
      const row = isSelecting() && e.target.closest && e.target.closest('#convs a.conv');
      if (row && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
        e.preventDefault();
        flip(row.closest('.conv-row').querySelector('.pick'));
      }
    });
    D.addEventListener('change', (e) => {
      if (e.target.matches && e.target.matches('#convs .pick')) {
        if (e.target.checked) picked.add(e.target.value); else picked.delete(e.target.value);
        syncPicked();
      } else if (e.target === all) {
        for (const b of boxes()) if (all.checked) picked.add(b.value); else picked.delete(b.value);
        syncPicked();
      }
    });
    // x ticks the open conversation's row; Escape leaves selecting.
    D.addEventListener('keydown', (e) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === 'x' && convID) {
        flip(D.querySelector('#convs .conv-row[data-id="' + CSS.escape(convID) + '"] .pick'));
      } else if (e.key === 'Escape' && isSelecting() && !(help && help.open) && !body.classList.contains('panel-open')) {
        selecting(false);
      } else {
        return;
      }
      e.preventDefault();
    });
    // A change made (its answer shown) ends the selection; a refused one
    // shows what was selected; else the selection of this view, kept in
    // the tab, comes back.
    if (!D.querySelector('[data-testid="bulk-notice"]') && !serverPicked.length && !isSelecting()) {
      try {
        const ids = JSON.parse(kept(pickKey) || '[]');
        if (Array.isArray(ids) && ids.length) { for (const id of ids) picked.add(String(id)); selecting(true); }
      } catch (err) { /* a value of another version: ignored */ }
    }
    syncPicked();
    // The answer of a change is said once: a reload does not say it again.
    if (D.querySelector('[data-testid="bulk-notice"]') && W.history.replaceState) {
      const u = new URL(location.href);
      for (const k of ['bulk', 'n', 'same', 'to', 'added']) u.searchParams.delete(k);
      W.history.replaceState(W.history.state, '', u.pathname + u.search + u.hash);
    }
  }

  // ---- phones: the visitor panel on demand --------------------------------------

  // Open, it covers the screen: Escape closes it as the Close button does,
  // and the focus goes back to the button that opened it.
  function showPanel(open) {
    body.classList.toggle('panel-open', open);
    for (const t of D.querySelectorAll('.panel-toggle')) t.setAttribute('aria-expanded', String(open));
    if (open) { const p = D.getElementById('visitor-panel'); if (p) { p.tabIndex = -1; p.focus(); } return; }
    const back = D.querySelector('.panel-toggle:not(.panel-close)');
    if (back && back.offsetParent) back.focus();
  }
  D.addEventListener('click', (e) => {
    const b = e.target.closest && e.target.closest('.panel-toggle');
    if (b) showPanel(!body.classList.contains('panel-open'));
  });
  D.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !body.classList.contains('panel-open')) return;
    const toggle = D.querySelector('.panel-toggle');
    if (!toggle || !toggle.offsetParent) return; // a wide screen: the panel is part of the page
    e.preventDefault();
    showPanel(false);
  });

  // ---- canned replies ("/" and letters) and, in a note, colleagues ("@") ---------

  const cannedList = D.getElementById('canned-list');
  if (reply && cannedList) {
    let canned = null, matches = [], active = -1, token = null;
    reply.setAttribute('role', 'combobox');
    reply.setAttribute('aria-autocomplete', 'list');
    reply.setAttribute('aria-controls', 'canned-list');
    reply.setAttribute('aria-expanded', 'false');
    // Fetched once, on the first "/": one request however fast one types.
    const loadCanned = () => {
      if (!canned) {
        canned = fetch('/api/v1/canned', { credentials: 'same-origin' })
          .then((r) => (r.ok ? r.json() : { canned: [] }))
          .then((j) => j.canned || [])
          .catch(() => { canned = null; return []; });
      }
      return canned;
    };
    // A note names colleagues ("@Ben"): the agents of the conversation's
    // assign menu, by any word of their name.
    const colleagues = () => Array.from(D.querySelectorAll('[data-testid="assign-conversation"] option[data-name]'))
      .map((o) => ({ mention: o.dataset.name, status: o.dataset.status || '' }));
    const mentionsOf = (word) => {
      const w = fold(word).join('');
      return colleagues().filter((c) => fold(c.mention.normalize('NFC')).join('').split(/\s+/).some((part, i, all) =>
        all.slice(i).join(' ').startsWith(w))).slice(0, 8);
    };
    // The "/word" (or, writing a note, "@word") the caret is at the end of,
    // if any.
    const tokenAt = () => {
      const pos = reply.selectionStart, text = reply.value.slice(0, pos);
      if (reply.selectionEnd !== pos) return null;
      const m = /(^|\s)\/([a-z0-9_-]{0,32})$/.exec(text);
      if (m) return { start: pos - m[2].length - 1, end: pos, word: m[2], kind: 'canned' };
      const at = writingNote() && /(^|[^A-Za-z0-9._%+-])@([^\s@]{0,32})$/u.exec(text);
      return at ? { start: pos - at[2].length - 1, end: pos, word: at[2], kind: 'mention' } : null;
    };
    const close = () => {
      cannedList.hidden = true;
      cannedList.textContent = '';
      matches = []; active = -1; token = null;
      reply.setAttribute('aria-expanded', 'false');
      reply.removeAttribute('aria-activedescendant');
    };
    const highlight = (i) => {
      active = i;
      cannedList.querySelectorAll('[role="option"]').forEach((o, j) => o.setAttribute('aria-selected', String(j === i)));
      if (i >= 0) {
        reply.setAttribute('aria-activedescendant', 'canned-opt-' + i);
        const o = D.getElementById('canned-opt-' + i);
        if (o && o.scrollIntoView) o.scrollIntoView({ block: 'nearest' });
      }
    };
    const show = () => {
      cannedList.textContent = '';
      matches.forEach((c, i) => {
        const li = D.createElement('li');
        li.id = 'canned-opt-' + i;
        li.setAttribute('role', 'option');
        li.dataset.testid = 'canned-option';
        const k = D.createElement('strong');
        const b = D.createElement('span');
        if (c.mention) {
          k.textContent = '@' + c.mention;
          b.textContent = c.status === 'offline' ? 'offline' : '';
        } else {
          k.textContent = '/' + c.shortcut;
          b.textContent = c.body.length > 80 ? c.body.slice(0, 80) + '…' : c.body;
        }
        li.append(k, ' ', b);
        li.addEventListener('mousedown', (e) => { e.preventDefault(); insert(i); });
        cannedList.appendChild(li);
      });
      cannedList.setAttribute('aria-label', matches[0] && matches[0].mention ? 'Colleagues to mention' : 'Canned replies');
      cannedList.hidden = false;
      reply.setAttribute('aria-expanded', 'true');
      highlight(0);
    };
    const insert = (i) => {
      const c = matches[i];
      if (!c || !token) return;
      const v = reply.value, text = c.mention ? '@' + c.mention + ' ' : fillVariables(c.body);
      reply.value = v.slice(0, token.start) + text + v.slice(token.end);
      const at = token.start + text.length;
      reply.setSelectionRange(at, at);
      close();
      reply.dispatchEvent(new Event('input', { bubbles: true }));
    };
    const update = () => {
      const t = tokenAt();
      if (!t) { close(); return; }
      (t.kind === 'mention' ? Promise.resolve(mentionsOf(t.word)) : loadCanned()).then((all) => {
        const now = tokenAt();
        if (!now || now.word !== t.word || now.kind !== t.kind) return;
        const found = t.kind === 'mention' ? all : all.filter((c) => c.shortcut.startsWith(t.word)).slice(0, 8);
        const same = token && token.start === now.start && token.word === now.word && !cannedList.hidden;
        token = now;
        if (found.length === 0) { close(); return; }
        if (same) return; // keep the option the arrows chose
        matches = found;
        show();
      });
    };
    let swallowChar = false;
    reply.addEventListener('keypress', (e) => { if (swallowChar) { e.preventDefault(); swallowChar = false; } });
    reply.addEventListener('keyup', () => { swallowChar = false; });
    reply.addEventListener('input', update);
    reply.addEventListener('click', update);
    reply.addEventListener('blur', () => setTimeout(close, 0));
    reply.addEventListener('keydown', (e) => {
      if (cannedList.hidden || matches.length === 0) return;
      switch (e.key) {
        case 'ArrowDown': highlight((active + 1) % matches.length); break;
        case 'ArrowUp': highlight((active - 1 + matches.length) % matches.length); break;
        case 'Enter':
        case 'Tab':
          if (e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
          insert(active < 0 ? 0 : active);
          swallowChar = true; // no line break after the inserted text
          break;
        case 'Escape': close(); break;
        default: return;
      }
      e.preventDefault();
      e.stopPropagation();
    });
  }

  // ---- keyboard shortcuts ------------------------------------------------------------

  // The open conversation's place in the list is kept for this view (in
  // the tab, across its pages), so that j and k go on from it once the
  // conversation has left the list.
  const listItems = () => Array.from(D.querySelectorAll('[data-testid="conversation-item"]'));
  const placeKey = 'parley.place';
  function notePlace() {
    if (!convID) return;
    const i = listItems().findIndex((a) => a.dataset.id === convID);
    if (i >= 0) keep(placeKey, JSON.stringify({ id: convID, view: listView(), at: i }));
  }
  function placeInList() {
    try {
      const p = JSON.parse(kept(placeKey) || 'null');
      return p && p.id === convID && p.view === listView() ? p.at : -1;
    } catch (err) { return -1; }
  }
  // The list's view: its filters, the query of its links.
  const listView = () => { const a = listItems()[0]; return a ? new URL(a.href, location.href).search : ''; };
  notePlace();

  // step opens the next conversation of the list (dir 1, j) or the one
  // before (-1, k). Gone from the view (answered out of Unassigned, closed
  // out of Open), j opens the one that took its place, k the one before
  // it. Past the pages loaded, the next ones are loaded first, so that j
  // goes on past the first 50.
  let stepping = false;
  async function step(dir) {
    if (stepping) return;
    stepping = true;
    try {
      let items = listItems();
      let at = items.findIndex((a) => a.dataset.id === convID);
      const was = at < 0 ? placeInList() : -1;
      const more = () => D.querySelector('[data-testid="load-more"]');
      while (more() && (at < 0 ? was >= items.length - 1 : dir > 0 && at === items.length - 1)) {
        await loadMore(more());
        const now = listItems();
        if (now.length === items.length) break;
        items = now;
        at = items.findIndex((a) => a.dataset.id === convID);
      }
      let i;
      if (dir > 0) i = at >= 0 ? at + 1 : was >= 0 ? Math.min(was, items.length - 1) : 0;
      else i = at >= 0 ? at - 1 : Math.max(was - 1, 0);
      const next = items[i];
      if (!next) return;
      // The next page may not list it (past its first 50): its place is
      // kept for it.
      keep(placeKey, JSON.stringify({ id: next.dataset.id, view: listView(), at: i }));
      location.href = next.href;
    } finally {
      stepping = false;
    }
  }

  const help = D.getElementById('shortcuts');
  // Some browsers deliver the character of a key after its keydown moved
  // the focus into a text box: that keypress is dropped.
  let swallow = false;
  D.addEventListener('keypress', (e) => { if (swallow) { e.preventDefault(); swallow = false; } }, true);
  D.addEventListener('keyup', () => { swallow = false; }, true);
  // A box or a button takes no letters: the shortcuts still work on it.
  const typing = (el) => el && (el.isContentEditable || /^(TEXTAREA|SELECT)$/.test(el.tagName) ||
    (el.tagName === 'INPUT' && !/^(checkbox|radio|button|submit|reset)$/.test(el.type)));
  D.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (help && help.open && e.key !== '?') return;
    switch (e.key) {
      case 'j': step(1); break;
      case 'k': step(-1); break;
      case 'r':
        if (!reply) return;
        swallow = true; // the "r" itself is not typed into the box
        reply.focus();
        break;
      case 'a': {
        if (!convID || !csrf) return;
        // Taking a colleague's conversation asks first: one key is easily
        // pressed.
        const menu = D.querySelector('[data-testid="assign-conversation"]');
        const holder = menu && menu.value && menu.value !== me ? menu.selectedOptions[0] : null;
        if (holder && !W.confirm('Take the conversation from ' + (holder.dataset.name || holder.textContent.trim()) + '?')) break;
        assign(convID, me);
        break;
      }
      case '?':
        if (!help) return;
        if (help.open) help.close(); else help.showModal();
        break;
      default: return;
    }
    e.preventDefault();
  });
  for (const b of D.querySelectorAll('[data-show-shortcuts]')) {
    b.addEventListener('click', () => { if (help) help.showModal(); });
  }

  // ---- notification preferences (kept in this browser) --------------------------------

  const prefKey = (k) => 'parley.notify.' + k + '.' + (body.dataset.agent || '');
  const pref = (k) => { try { return localStorage.getItem(prefKey(k)) !== 'off'; } catch (e) { return true; } };
  const setPref = (k, on) => { try { localStorage.setItem(prefKey(k), on ? 'on' : 'off'); } catch (e) { /* private mode */ } };
  const asked = () => { try { return localStorage.getItem(prefKey('asked')) === '1'; } catch (e) { return false; } };
  const markAsked = () => { try { localStorage.setItem(prefKey('asked'), '1'); } catch (e) { /* private mode */ } };
  const canNotify = () => 'Notification' in W;
  function showPermission() {
    const p = D.querySelector('[data-testid="notify-permission"]');
    if (p) {
      p.textContent = !canNotify() ? 'This browser cannot show desktop notifications.'
        : Notification.permission === 'denied' ? 'Desktop notifications are blocked for this site in the browser\u2019s settings.'
        : Notification.permission === 'granted' ? 'Desktop notifications are allowed.' : '';
    }
    const banner = D.getElementById('notify-banner');
    if (banner) banner.hidden = !(canNotify() && Notification.permission === 'default' && pref('desktop') && !asked());
  }
  // Permission is asked from a click (browsers ignore it otherwise), once.
  function askPermission() {
    markAsked();
    if (!canNotify() || Notification.permission !== 'default') { showPermission(); return; }
    const done = () => showPermission();
    const r = Notification.requestPermission(done);
    if (r && r.then) r.then(done);
  }
  for (const box of D.querySelectorAll('input[data-pref]')) {
    box.checked = pref(box.dataset.pref);
    box.addEventListener('change', () => {
      setPref(box.dataset.pref, box.checked);
      if (box.dataset.pref === 'desktop' && box.checked) askPermission();
      showPermission();
    });
  }
  D.addEventListener('click', (e) => {
    const t = e.target.closest && e.target.closest('[data-notify]');
    if (!t) return;
    if (t.dataset.notify === 'enable') askPermission();
    else { markAsked(); showPermission(); }
  });
  showPermission();

  // A short two-note chime made with WebAudio: nothing to download.
  // Browsers let a page play sound after a gesture on it, and Chromium also
  // after a click on the same site opened it: every reply, note, status or
  // conversation reloads the page, so the context is made at once (it runs
  // when the browser allows) and resumed on the page's next gesture.
  let audio = null;
  const unlock = () => {
    if (!audio) {
      if (!(W.AudioContext || W.webkitAudioContext)) return;
      try { audio = new (W.AudioContext || W.webkitAudioContext)(); } catch (e) { return; }
    }
    if (audio.state === 'suspended') audio.resume().catch(() => {});
  };
  unlock();
  D.addEventListener('pointerdown', unlock);
  D.addEventListener('keydown', unlock);
  function chime() {
    if (!audio || audio.state !== 'running') return;
    const t0 = audio.currentTime;
    [880, 1318.5].forEach((f, i) => {
      const o = audio.createOscillator(), g = audio.createGain();
      o.type = 'sine';
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t0 + i * 0.12);
      g.gain.exponentialRampToValueAtTime(0.15, t0 + i * 0.12 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.12 + 0.3);
      o.connect(g).connect(audio.destination);
      o.start(t0 + i * 0.12);
      o.stop(t0 + i * 0.12 + 0.32);
    });
  }
  // A burst (a wave of visitors, a campaign's spam) is not a notice and a
  // chime each: past burstNotices in burstWindow ms, the rest are told as
  // one, once they stop coming for a second.
  const burstNotices = 3, burstWindow = 5000;
  let burst = { since: 0, told: 0, more: 0, timer: 0 };
  function notify(title, text, id) {
    const now = Date.now();
    if (now - burst.since > burstWindow && !burst.more) burst = { since: now, told: 0, more: 0, timer: 0 };
    if (burst.told >= burstNotices) {
      burst.more++;
      clearTimeout(burst.timer);
      burst.timer = setTimeout(() => {
        const n = burst.more;
        burst = { since: Date.now(), told: 1, more: 0, timer: 0 };
        show(n === 1 ? '1 more conversation needs an answer' : n + ' more conversations need an answer', 'Open the dashboard to see them.', '');
      }, 1000);
      return;
    }
    burst.told++;
    show(title, text, id);
  }
  function show(title, text, id) {
    if (pref('sound')) chime();
    if (!pref('desktop') || !canNotify() || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(title, { body: text, tag: 'parley-' + (id || 'more') });
      n.onclick = () => { W.focus(); location.href = id ? '/dashboard/conversations/' + encodeURIComponent(id) : '/dashboard'; };
    } catch (e) {
      // Some browsers only notify from a service worker.
    }
  }

  if (!body.classList.contains('live') || !csrf) return;

  // ---- the tab title counts unread conversations -----------------------------

  const baseTitle = D.title;
  function updateTitle() {
    const v = D.querySelector('.views[data-unread]');
    const n = v ? parseInt(v.dataset.unread, 10) || 0 : 0;
    D.title = n > 0 ? '(' + n + ') ' + baseTitle : baseTitle;
    // On a phone the list is a page away and the tab's title out of
    // sight: the back arrow carries the count.
    const back = D.querySelector('[data-testid="back-unread"]');
    if (back) {
      back.hidden = n === 0;
      back.textContent = n > 0 ? String(n) : '';
      back.title = n === 1 ? '1 unread conversation' : n + ' unread conversations';
    }
  }
  updateTitle();

  // ---- marking the open conversation seen ------------------------------------

  let readOwed = false;
  // A conversation is read once it has been in sight for a moment: one
  // passed on the way to the next (j, k) stays unread for the team, and
  // its visitor is not told "Seen".
  const readAfter = 1500;
  let readTimer = 0;
  function markSeen() {
    if (!convID) return;
    if (D.visibilityState !== 'visible') { readOwed = true; return; }
    readOwed = false;
    if (readTimer) return; // the read on its way takes this message too
    readTimer = setTimeout(() => {
      readTimer = 0;
      if (D.visibilityState !== 'visible') { readOwed = true; return; }
      fetch('/api/v1/conversations/' + encodeURIComponent(convID) + '/read', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrf },
      }).catch(() => {});
    }, readAfter);
  }
  D.addEventListener('visibilitychange', () => {
    if (D.visibilityState !== 'visible') {
      if (readTimer) { clearTimeout(readTimer); readTimer = 0; readOwed = true; }
      return;
    }
    if (readOwed) markSeen();
  });
  // The page's load does not mark its conversation seen (a tab nobody
  // looks at is not reading): it is marked here, once the page is seen.
  markSeen();

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
      location.href = '/dashboard/login?ended=1&next=' + encodeURIComponent(location.pathname + location.search);
      throw new Error('logged out');
    }
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return pageToken(await res.text());
  }

  // pageToken gives fetched HTML the page's CSRF token. Each response
  // carries the token under a new mask (any is accepted): without this, a
  // part that did not change would read as changed, and be redrawn (or
  // said again) on every event.
  function pageToken(html) {
    return csrf ? html.replace(/(name="csrf" value=")[0-9a-f]+"/g, '$1' + csrf + '"') : html;
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
        const loaded = D.querySelectorAll('#convs > li').length;
        jobs.push(get('/dashboard/partials/list?' + listQuery() + '&c=' + encodeURIComponent(convID) + '&compact=1&limit=' + loaded)
          .then((html) => {
            // A page loaded meanwhile ("Load more", j past the end): this
            // answer lacks its rows and would take them away. Ask again
            // for what is shown now.
            if (D.querySelectorAll('#convs > li').length !== loaded) return schedule(true, false);
            applyList(html);
          }));
      }
      if (conv) {
        const range = threadRange();
        jobs.push(get('/dashboard/partials/conversation/' + encodeURIComponent(convID) + '?' + listQuery() + range)
          .then((html) => {
            // Older or newer messages loaded meanwhile: this answer lacks
            // them. Ask again for what is shown now.
            if (threadRange() !== range) return schedule(false, true);
            applyConversation(html);
          }));
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

  // expandMenus completes the list's assign menus of a partial: each comes
  // with its selected option alone (data-compact), and the agents' options
  // once, in a template beside them, which a team's size would otherwise
  // repeat in every row. Each menu ends as the full page renders it.
  function expandMenus(root) {
    const src = root.querySelector('template[data-assign-options]');
    if (!src) return;
    for (const s of root.querySelectorAll('select[data-compact]')) {
      const none = s.querySelector('option[value=""]');
      const chosen = s.querySelector('option:not([value=""])');
      const opts = src.content.cloneNode(true);
      if (chosen) {
        const twin = Array.from(opts.querySelectorAll('option')).find((o) => o.value === chosen.value);
        if (twin) twin.replaceWith(chosen);
      }
      const tail = s.lastChild && s.lastChild.nodeType === 3 ? s.lastChild : null; // the space before </select>
      while (none && none.nextSibling) none.nextSibling.remove();
      s.append(opts);
      if (tail) s.append(tail);
      s.removeAttribute('data-compact');
    }
    src.remove();
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

  // replaceContent swaps root's children for html (a string, or a fragment
  // already parsed) unless nothing changed, and puts the focus back on the
  // counterpart of the focused element.
  function replaceContent(root, html) {
    const next = typeof html === 'string' ? fragment(html) : html;
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
    // The same shape (a list item's link and menu): patch node by node, so
    // a focused node stays the very node in the document.
    const a = Array.from(el.childNodes), b = Array.from(src.childNodes);
    if (a.length === b.length && a.some((n) => n.nodeType === 1) &&
        a.every((n, i) => n.nodeType === b[i].nodeType && (n.nodeType !== 1 || n.tagName === b[i].tagName))) {
      a.forEach((n, i) => {
        if (n.nodeType === 1) update(n, b[i]);
        else if (n.nodeValue !== b[i].nodeValue) n.nodeValue = b[i].nodeValue;
      });
      return;
    }
    const key = focusKey(el);
    el.replaceChildren(...Array.from(src.childNodes));
    refocus(el, key);
  }

  function applyList(html) {
    const el = D.getElementById('conv-list');
    if (!el) return;
    // Never redraw under a menu the agent has open.
    if (el.contains(D.activeElement) && D.activeElement.matches('select')) { wantList = true; return; }
    notePlace();
    const top = el.scrollTop;
    const next = fragment(html);
    expandMenus(next);
    const cur = el.querySelector('ul.convs'), nextList = next.querySelector('ul.convs');
    if (cur && nextList) {
      // The views (with their counts) and "Load more" around the list.
      for (const sel of ['.views', '.more']) {
        const a = Array.from(el.children).find((c) => c.matches(sel));
        const b = Array.from(next.children).find((c) => c.matches(sel));
        if (a && b) { if (a.outerHTML !== b.outerHTML) a.replaceWith(b); }
        else if (a) a.remove();
        else if (b) { if (sel === '.views') el.prepend(b); else el.append(b); }
      }
      patchChildren(cur, nextList, (li) => li.dataset.id);
    } else {
      replaceContent(el, next);
    }
    el.scrollTop = top;
    syncPicked();
    // The page's hint beside the list, when no conversation is open.
    const hint = D.querySelector('[data-hint-none]');
    if (hint) hint.textContent = el.querySelector('#convs > li') ? hint.dataset.hintSome : hint.dataset.hintNone;
    updateTitle();
    agentsAgain();
    watchMore();
  }

  function applyConversation(html) {
    for (const part of fragment(html).querySelectorAll('[data-part]')) {
      const id = part.dataset.part;
      const el = D.getElementById(id);
      if (!el) continue;
      if (id === 'conv-tags') {
        if (drawn.get(el) !== part.innerHTML) drawTags(el, part.innerHTML);
        continue;
      }
      // Never replace a form the agent is typing in, nor the visitor
      // panel while it holds edits not saved or the error of a save.
      if ((el.contains(D.activeElement) && D.activeElement.matches('input, textarea, select')) || (id === 'visitor-panel' && panelHeld(el))) {
        if (id === 'visitor-panel') panelStale = true;
        continue;
      }
      if (id === 'conv-messages') {
        keepBottom(() => {
          patchChildren(el, part, (li) => li.dataset.id || (li.classList.contains('empty') ? 'empty' : ''));
          markFound();
        });
        watchThread();
      } else if (drawn.get(el) !== part.innerHTML) {
        drawPart(el, part.innerHTML);
      }
    }
    updateTitle(); // the head's back arrow was redrawn without its count
    agentsAgain();
  }

  // drawPart draws a changed part of the open conversation, keeping what
  // the agent chose in it: a list they unfolded or folded (the visitor's
  // last pages), and the phone's Visitor button saying whether the panel
  // is open.
  function drawPart(el, html) {
    const chosen = Array.from(el.querySelectorAll('details[data-chosen]'), (d) => [d.className, d.open]);
    replaceContent(el, html);
    drawn.set(el, html);
    for (const [name, open] of chosen) {
      const d = Array.from(el.querySelectorAll('details')).find((x) => x.className === name);
      if (d) { d.open = open; d.dataset.chosen = '1'; }
    }
    const shown = String(body.classList.contains('panel-open'));
    for (const t of el.querySelectorAll('.panel-toggle')) t.setAttribute('aria-expanded', shown);
  }
  // drawTags draws the conversation's tags; while the agent types in the
  // "Add tag" field, only the chips and the suggestions around it, so that
  // a colleague's tag (or the one just added) does not take the field's
  // text or focus.
  function drawTags(el, html) {
    const form = el.querySelector('.tag-form');
    if (!form || !form.contains(D.activeElement) || !D.activeElement.matches('input')) { drawPart(el, html); return; }
    const next = fragment(html);
    const list = next.querySelector('.tag-list'), old = el.querySelector('.tag-list');
    if (old && list) { if (old.outerHTML !== list.outerHTML) old.replaceWith(list); }
    else if (old) old.remove();
    else if (list) el.insertBefore(list, form);
    const options = next.querySelector('datalist'), oldOptions = el.querySelector('datalist');
    if (options && oldOptions) oldOptions.replaceWith(options);
    drawn.set(el, html);
  }
  D.addEventListener('click', (e) => {
    const s = e.target.closest && e.target.closest('#conv-head details > summary, #visitor-panel details > summary');
    if (s) s.parentElement.dataset.chosen = '1';
  });

  // ---- reading out new visitor messages --------------------------------------

  const announcer = D.getElementById('announcer');
  function announce(m) {
    if (!announcer) return;
    const who = (m.author && m.author.name) || 'a visitor';
    let text = m.body || '';
    if (text.length > 160) text = text.slice(0, 160) + '\u2026';
    say('New message from ' + who + ': ' + text);
  }

  // A list update held back while a menu of the list had the focus.
  const listEl = D.getElementById('conv-list');
  if (listEl) {
    listEl.addEventListener('focusout', () => setTimeout(() => {
      if (!listEl.contains(D.activeElement)) schedule(true, false);
    }, 0));
  }

  // panelHeld: the visitor panel shows what a refresh would lose.
  const panelHeld = (el) => !!el.querySelector('[data-testid="visitor-error"]') ||
    Array.from(el.querySelectorAll('.visitor-form')).some(changed);
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

  // ---- typing, both ways ----------------------------------------------------------
  // The visitor's typing (visitor.typing, with their draft unless the
  // workspace turned previews off) shows under the messages until a message
  // from them arrives or 6 s pass without another. The agent's typing in
  // the reply box is sent at most once a second.

  const typingEl = D.getElementById('visitor-typing');
  let typingHide = 0;
  function visitorTyping(d) {
    if (!typingEl || d.conversation_id !== convID) return;
    const head = D.querySelector('.conv-title h1');
    typingEl.querySelector('.typing-who').textContent = ((head && head.textContent) || 'The visitor') + ' is typing\u2026';
    const q = typingEl.querySelector('.typing-preview');
    keepBottom(() => {
      q.textContent = d.preview || '';
      q.hidden = !d.preview;
      typingEl.hidden = false;
    });
    clearTimeout(typingHide);
    typingHide = setTimeout(typingOff, 6000);
  }
  // The assign menus follow a colleague's name and status (as the page
  // wrote them: "Ben · offline"), and so does their row of Settings →
  // Agents.
  // A part refetched before the last event (its request crossed it) is
  // patched again with what the events said.
  const agentsSeen = new Map();
  const agentsAgain = () => { for (const a of agentsSeen.values()) agentInMenus(a); };
  function agentInMenus(a) {
    if (!a || !a.id) return;
    agentsSeen.set(a.id, a);
    const row = D.querySelector('.agent-row[data-id="' + CSS.escape(a.id) + '"]');
    const tag = row && row.querySelector('[data-testid="agent-status"]');
    if (tag && a.status) {
      tag.textContent = a.status;
      row.querySelector('.dot').className = 'dot dot-' + a.status;
    }
    for (const o of D.querySelectorAll('.assign-form option[value="' + CSS.escape(a.id) + '"]')) {
      o.dataset.name = a.name || o.dataset.name || '';
      if (a.status) o.dataset.status = a.status;
      o.textContent = o.dataset.name + ('me' in o.dataset ? ' (you)' : '') + (a.status === 'offline' ? ' \u00b7 offline' : '');
    }
  }

  // A colleague writing a reply in the open conversation: so that two
  // agents do not answer the visitor at once.
  const colleagueEl = D.getElementById('agent-typing');
  let colleagueHide = 0;
  function colleagueTyping(d) {
    if (!colleagueEl || d.conversation_id !== convID || !d.agent || d.agent.id === me) return;
    keepBottom(() => {
      colleagueEl.textContent = (d.agent.name || 'A colleague') + ' is typing a reply\u2026';
      colleagueEl.hidden = false;
    });
    clearTimeout(colleagueHide);
    colleagueHide = setTimeout(() => { colleagueEl.hidden = true; }, 6000);
  }
  function typingOff() {
    clearTimeout(typingHide);
    if (typingEl) typingEl.hidden = true;
  }
  let typingSent = 0;
  if (reply && convID) {
    reply.addEventListener('input', () => {
      const now = Date.now();
      if (writingNote() || !reply.value.trim() || reply.value.startsWith('/') || now - typingSent < 1000) return;
      typingSent = now;
      fetch('/api/v1/conversations/' + encodeURIComponent(convID) + '/typing', {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf },
      }).catch(() => {});
    });
  }

  // ownStatus shows the agent's status, set elsewhere (another tab, the
  // API, the away timer), on the header's switch, unless it is in use.
  function ownStatus(status) {
    const sel = D.querySelector('[data-testid="status"]');
    if (!sel || sel === D.activeElement || !Array.from(sel.options).some((o) => o.value === status)) return;
    sel.value = status;
    const dot = sel.closest('label') && sel.closest('label').querySelector('.dot');
    if (dot) dot.className = 'dot dot-' + status;
  }

  // The banner saying visitors wait while this agent is away from them
  // follows the conversations (a visitor writing, an answer) and the
  // agent's status changed elsewhere (another tab, the away timer).
  const awaySlot = D.getElementById('away-slot');
  let awayTimer = 0;
  function awayLater(statusChanged) {
    if (!awaySlot || awayTimer) return;
    const status = D.querySelector('[data-testid="status"]');
    if (!statusChanged && status && status.value === 'online' && !awaySlot.firstElementChild) return; // nothing to show or hide
    awayTimer = setTimeout(async () => {
      awayTimer = 0;
      try {
        const html = await get('/dashboard/partials/away');
        if (html === awaySlot.dataset.shown) return; // said already: not announced again
        awaySlot.dataset.shown = html;
        awaySlot.innerHTML = html;
        const next = awaySlot.querySelector('input[name="next"]');
        if (next) next.value = location.pathname + location.search;
      } catch (e) { /* the next change tries again */ }
    }, 300);
  }

  function onEvent(ev) {
    const d = ev.data || {};
    let mine = false;
    switch (ev.type) {
      case 'visitor.typing':
        visitorTyping(d);
        return;
      case 'agent.typing':
        colleagueTyping(d);
        return;
      case 'agent.updated':
        agentInMenus(d);
        if (d.id === me) {
          ownStatus(d.status);
          awayLater(true);
        }
        return;
      case 'message.created':
      case 'message.updated':
        mine = d.conversation_id === convID;
        if (mine && ev.type === 'message.created' && d.author && d.author.kind === 'visitor') typingOff();
        if (mine && ev.type === 'message.created' && d.author && d.author.kind === 'agent' && colleagueEl) colleagueEl.hidden = true;
        // A visitor writing, or an answer, changes who waits.
        if (ev.type === 'message.created' && d.author && (d.author.kind === 'visitor' || d.kind === 'reply')) awayLater();
        if (ev.type === 'message.created' && d.author && d.author.kind === 'visitor') {
          announce(d);
          if (mine) markSeen();
          pendingNotice(d);
        }
        if (ev.type === 'message.created') mentionNotice(d);
        break;
      case 'conversation.updated':
        awayLater();
        mine = d.id === convID;
        conversationNotice(d);
        assignedNotice(d, ev.by, ev.auto);
        break;
      case 'visitor.updated':
        mine = !!visitorID && d.id === visitorID;
        break;
      case 'visitor.deleted':
      case 'conversation.deleted':
        // The open conversation was erased: leave it for the list.
        if (ev.type === 'conversation.deleted') unpick(d.id);
        if ((ev.type === 'visitor.deleted' && visitorID && d.id === visitorID) ||
            (ev.type === 'conversation.deleted' && d.id === convID)) {
          location.replace('/dashboard?gone=1');
          return;
        }
        break;
      default:
        return;
    }
    schedule(true, mine);
  }


  // ---- notifications for visitor messages ---------------------------------------------

  // A visitor message is followed by conversation.updated, which says who has
  // the conversation and when it began: the notice waits for it.
  const loadedAt = Date.now();
  const pending = new Map();
  const announced = new Set(); // conversations already announced as new
  function pendingNotice(m) {
    const id = m.conversation_id;
    if (pending.has(id)) return;
    pending.set(id, { text: m.body || '', timer: setTimeout(() => flushNotice(id, null), 1500) });
  }
  function conversationNotice(c) {
    if (pending.has(c.id)) flushNotice(c.id, c);
  }
  function flushNotice(id, c) {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    const onScreen = id === convID && D.visibilityState === 'visible' && D.hasFocus();
    // A colleague's conversation is theirs to answer, unless they are
    // offline: then nobody would hear the visitor.
    const colleague = c && c.assignee && c.assignee.id !== me ? c.assignee : null;
    const away = !!colleague && agentStatus(colleague.id) === 'offline';
    if (onScreen || (colleague && !away)) return;
    const isNew = !!c && Date.parse(c.created_at) >= loadedAt && !announced.has(id);
    if (isNew) announced.add(id);
    const who = c && c.visitor ? (c.visitor.name || c.visitor.email || 'A visitor') : 'A visitor';
    const title = (isNew ? 'New conversation: ' + who : who) + (away ? ' (' + (colleague.name || 'its agent') + ' is offline)' : '');
    notify(title, p.text.slice(0, 140), id);
  }

  // A colleague's note that names this agent ("@Ada", or "@Ada Lovelace")
  // is told to them, whoever has the conversation, unless they are looking
  // at it. Names compare without regard to case or accents. At each "@"
  // the longest colleague's name that follows is the one named ("@Ben
  // Okafor" names Ben Okafor, not Ben); a first name alone names whoever
  // has it. Not after an address's letters (ann@ben.com);
  // in scripts written without spaces (Chinese, Japanese, Thai) a name
  // needs no space after it.
  const myName = (() => { const el = D.querySelector('.topbar .agent-name'); return el ? el.textContent.trim() : ''; })();
  const noSpaces = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Thai}]/u;
  const wordChar = /[\p{L}\p{N}_]/u;
  // mentionsIn finds the names a text mentions: for each, where it is
  // written (code point offsets, the "@" included) and the name, folded:
  // whole, or a first name when no whole name follows.
  function mentionsIn(text) {
    const names = Array.from(new Set([myName, ...Array.from(D.querySelectorAll('option[data-name]')).map((o) => o.dataset.name)])).filter(Boolean);
    if (!names.length || !text.includes('@')) return [];
    // By code points, each folded to one: indexes stay those of the text.
    const raw = Array.from(text), low = fold(text);
    // whether the name n is written at i and ends there
    const at = (i, n) => {
      if (!n.length || i + n.length > low.length || n.some((c, k) => low[i + k] !== c)) return false;
      const next = low[i + n.length], last = low[i + n.length - 1];
      return !next || !wordChar.test(next) || noSpaces.test(next) || noSpaces.test(last);
    };
    const folded = names.map((n) => fold(n.normalize('NFC'))), firsts = folded.map(firstWord);
    const out = [];
    for (let i = low.indexOf('@'); i >= 0; i = low.indexOf('@', i + 1)) {
      // An address's letters before it (ann@ben.com, josé@ben.com), but
      // not those of a script written without spaces.
      if (i > 0 && /[\p{L}\p{Nd}._%+-]/u.test(raw[i - 1]) && !noSpaces.test(raw[i - 1])) continue;
      let named = null;
      for (const n of folded) if ((!named || n.length > named.length) && at(i + 1, n)) named = n;
      if (named) {
        out.push({ start: i, end: i + 1 + named.length, whole: named.join('') });
        continue;
      }
      const f = firsts.find((n) => at(i + 1, n));
      if (f) out.push({ start: i, end: i + 1 + f.length, first: f.join('') });
    }
    return out;
  }
  const firstWord = (name) => { const sp = name.findIndex((c) => /\s/.test(c)); return sp < 0 ? name : name.slice(0, sp); };
  function mentionsMe(text) {
    if (!myName) return false;
    const mine = fold(myName.normalize('NFC')), first = firstWord(mine).join('');
    return mentionsIn(text.normalize('NFC')).some((m) => (m.whole ? m.whole === mine.join('') : m.first === first));
  }
  // Notes show the names they mention marked, whoever they name.
  function markMentions(root) {
    for (const body of root.querySelectorAll('.msg-comment .msg-body:not([data-marked])')) {
      body.dataset.marked = '';
      for (const node of Array.from(body.childNodes)) {
        if (node.nodeType !== Node.TEXT_NODE) continue;
        const found = mentionsIn(node.data);
        if (!found.length) continue;
        const cps = Array.from(node.data), parts = D.createDocumentFragment();
        let from = 0;
        for (const m of found) {
          parts.append(cps.slice(from, m.start).join(''));
          const b = D.createElement('strong');
          b.className = 'mention';
          b.dataset.testid = 'mention';
          b.textContent = cps.slice(m.start, m.end).join('');
          parts.append(b);
          from = m.end;
        }
        parts.append(cps.slice(from).join(''));
        node.replaceWith(parts);
      }
    }
  }
  {
    const thread = D.getElementById('conv-messages');
    if (thread) {
      markMentions(thread);
      new MutationObserver(() => markMentions(thread)).observe(thread, { childList: true, subtree: true });
    }
  }
  function mentionNotice(m) {
    if (!myName || m.kind !== 'comment' || !m.author || m.author.kind !== 'agent' || m.author.id === me) return;
    if (!mentionsMe(m.body || '')) return;
    if (m.conversation_id === convID && D.visibilityState === 'visible' && D.hasFocus()) return;
    notify((m.author.name || 'A colleague') + ' mentioned you', (m.body || '').slice(0, 140), m.conversation_id);
  }

  // fillVariables fills a canned reply's variables ("{{visitor.first_name
  // | there}}") from the page: the visitor panel's name and email, the
  // agent's and the workspace's names; a variable without a value keeps
  // its fallback, or stays as written, and a note above the box says so
  // (the server refuses a reply that still holds one), as the server's
  // cannedvars.go reads them.
  function fillVariables(text) {
    // The visitor's details as saved (not as being edited in the panel);
    // a value that holds braces is not trusted to fill anything.
    const saved = (key) => { const el = D.querySelector('.visitor-form'); const v = el ? (el.dataset[key] || '').trim() : ''; return /\{\{|\}\}/.test(v) ? '' : v; };
    const agent = myName;
    const ws = (() => { const el = D.querySelector('.topbar .workspace'); return el ? (el.title || el.textContent).trim() : ''; })();
    const firstOf = (n) => n.split(/\s+/)[0] || '';
    const values = {
      'visitor.name': saved('savedName'), 'visitor.first_name': firstOf(saved('savedName')), 'visitor.email': saved('savedEmail'),
      'agent.name': agent, 'agent.first_name': firstOf(agent), 'workspace.name': ws,
    };
    const missing = [];
    const out = text.replace(/\{\{\s*([^{}|]*?)\s*(?:\|\s*([^{}]*?)\s*)?\}\}/g, (all, name, fallback) => {
      if (!(name in values)) return all;
      if (values[name]) return values[name];
      if (fallback !== undefined) return fallback;
      missing.push(all);
      return all;
    });
    variablesNote(missing);
    return out;
  }
  // variablesNote says above the reply box which variables are still to
  // write, until none is left in it.
  function variablesNote(missing) {
    const box = D.querySelector('#composer .reply-box');
    let note = D.querySelector('[data-testid="variables-missing"]');
    if (!missing.length || !box) { if (note) note.remove(); return; }
    if (!note) {
      note = D.createElement('p');
      note.className = 'warning';
      note.setAttribute('role', 'status');
      note.dataset.testid = 'variables-missing';
      box.before(note);
      reply.addEventListener('input', function left() {
        if (/\{\{\s*(visitor|agent|workspace)\.[a-z_]+\s*\}\}/.test(reply.value)) return;
        note.remove();
        reply.removeEventListener('input', left);
      });
    }
    note.textContent = 'Not known for this conversation: write ' + missing.join(', ') + ' yourself before sending.';
  }

  // fold is a text as names compare: by code points, each lower-case and
  // without its accents, one for one ("@chloe" names Chloé), as the
  // server's mention.go reads notes (foldRunes).
  function fold(text) {
    return Array.from(text, (c) => {
      // Only a letter with combining marks loses them: a Hangul syllable,
      // which decomposes into its letters, is kept whole.
      const d = Array.from(c.normalize('NFD'));
      const base = d.length > 1 && d.slice(1).every((m) => /\p{Mn}/u.test(m)) ? d[0] : c;
      return Array.from(base.toLowerCase())[0] || base;
    });
  }

  // agentStatus is a colleague's status as the events or the page last
  // said it (an assign menu, Settings → Agents); '' where neither does.
  function agentStatus(id) {
    const seen = agentsSeen.get(id);
    if (seen && seen.status) return seen.status;
    const option = 'option[value="' + CSS.escape(id) + '"][data-status]';
    const options = D.querySelector('template[data-assign-options]');
    const o = D.querySelector('.assign-form ' + option) || (options && options.content.querySelector(option));
    if (o) return o.dataset.status;
    const tag = D.querySelector('.agent-row[data-id="' + CSS.escape(id) + '"] [data-testid="agent-status"]');
    return tag ? tag.textContent.trim() : '';
  }

  // A conversation a colleague gives to this agent is announced like a
  // visitor's message: the one it was given to is told, not whoever did
  // it. The event names who assigned it (by): the agent's own choices, in
  // this tab or another, and the replies that take a conversation are not
  // announced; other updates name nobody. A waiting conversation handed
  // out by automatic assignment (auto) is announced too.
  function assignedNotice(c, by, auto) {
    if (!(auto || (by && by !== me)) || !c.assignee || c.assignee.id !== me) return;
    const who = c.visitor ? (c.visitor.name || c.visitor.email || 'A visitor') : 'A visitor';
    notify('Assigned to you: ' + who, c.last_message || '', c.id);
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
    ws.onclose = (e) => {
      body.dataset.ws = 'closed';
      if (e.code === 1008) {
        // The session ended (logout elsewhere, password changed, agent
        // removed): the server sends the page to the login form.
        location.reload();
        return;
      }
      // A refetch also finds out whether the session ended (401 → login).
      schedule(true, false);
      retry();
    };
  }

  // The waits grow to 10 s (a team's few dashboards, not thousands of
  // widgets, come back after a restart); the tab coming back into view or
  // the browser back online tries at once.
  let retryTimer = 0;
  function retry() {
    const n = attempt++;
    const d = Math.min(10000, 1000 * 2 ** Math.min(n, 4)) * (0.75 + Math.random() * 0.5);
    retryTimer = setTimeout(() => { retryTimer = 0; connect(); }, d);
  }
  const reconnectNow = () => {
    if (body.dataset.ws !== 'closed' || !retryTimer) return;
    clearTimeout(retryTimer);
    retryTimer = 0;
    attempt = 0;
    connect();
  };
  W.addEventListener('online', reconnectNow);
  D.addEventListener('visibilitychange', () => { if (D.visibilityState === 'visible') reconnectNow(); });
  W.addEventListener('focus', reconnectNow);

  connect();
  watchMore();
})();

// Settings → Widget: the preview follows the form as it is edited. The
// text colour on the chosen colour follows the widget's rule (WCAG AA).
(() => {
  const form = document.querySelector('form.look');
  const preview = document.querySelector('[data-testid="widget-preview"]');
  if (!form || !preview) return;
  const lum = (hex) => {
    const c = [1, 3, 5].map((i) => {
      const v = parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const onColor = (c) => (ratio(c, '#ffffff') >= 4.5 ? '#ffffff' : ratio(c, '#1f2328') >= 4.5 ? '#1f2328' : '#000000');
  const greet = preview.querySelector('[data-testid="preview-greeting"]');
  const update = () => {
    const c = form.elements.widget_color.value;
    if (/^#[0-9a-f]{6}$/i.test(c)) {
      preview.style.setProperty('--p', c);
      preview.style.setProperty('--on', onColor(c));
    }
    const side = form.querySelector('input[name="widget_position"]:checked');
    preview.classList.toggle('left', !!side && side.value === 'left');
    const g = form.elements.widget_greeting;
    greet.textContent = g.value.trim() || g.placeholder;
  };
  form.addEventListener('input', update);
  form.addEventListener('change', update);
})();
