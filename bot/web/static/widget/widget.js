/*
 * Mutuals Support Programme web chat widget.
 *
 * Embed with one tag (the page needs no other script):
 *   <script src="https://HOST/widget.js" data-rasa-url="https://RASA" defer></script>
 * Optional attributes: data-open="true" (start open).
 *
 * Talks to Rasa's socket.io channel (docs/handoff.md, "Widget"). Every piece of
 * text from the bot, staff or the caller is inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  const script = document.currentScript ||
    document.querySelector("script[data-rasa-url][src*='widget.js']");
  if (!script || window.mhWidget) return;
  window.mhWidget = {};

  // The hotline number is written once, in the domain; the app serves it in
  // /widget/config.json (read below). Until it arrives the warning names no number.
  let hotline = "";
  const KEEP_HOURS = 24;
  const KEEP_MS = KEEP_HOURS * 3600 * 1000;
  const BOT_REPLY_TIMEOUT_MS = 20000;
  const STAFF_TYPING_MS = 6000;
  const OFFLINE_HELP_MS = 8000;
  const MAX_MESSAGES = 300;
  const MAX_LENGTH = 1000;

  const base = new URL(script.src, location.href);
  const config = {
    rasaUrl: (script.dataset.rasaUrl || "http://localhost:5005").replace(/\/+$/, ""),
    assets: base.origin,
    open: script.dataset.open === "true",
  };
  const storageKey = "mh-chat:" + config.rasaUrl;
  const outboxKey = "mh-outbox:" + config.rasaUrl;

  // ---- small helpers ------------------------------------------------------
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === true) node.setAttribute(name, "");
      else if (value !== false && value != null) node.setAttribute(name, value);
    }
    if (text != null) node.textContent = text;
    return node;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }

  function loadStylesheet(href) {
    if (document.querySelector("link[href='" + href + "']")) return;
    document.head.appendChild(el("link", { rel: "stylesheet", href: href }));
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.io) return resolve();
      const tag = el("script", { src: src });
      tag.onload = resolve;
      tag.onerror = reject;
      document.head.appendChild(tag);
    });
  }

  // ---- state, shared with other tabs through localStorage --------------------
  // {sessionId, messages: [{id, from: user|bot|staff, text, name, replies, ts}],
  //  handoff: null|queued|with_agent, staffName, open, savedAt}
  function emptyState() {
    return { sessionId: null, messages: [], handoff: null, staffName: null, open: false, savedAt: 0 };
  }

  function readState() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (saved && Array.isArray(saved.messages) && Date.now() - saved.savedAt < KEEP_MS) {
        return Object.assign(emptyState(), saved);
      }
    } catch (error) { /* unreadable or blocked storage: start afresh */ }
    return emptyState();
  }

  function writeState() {
    state.savedAt = Date.now();
    state.messages = state.messages.slice(-MAX_MESSAGES);
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { /* full or blocked */ }
  }

  // Messages typed in this tab but not yet handed to the server (survive a reload).
  function readOutbox() {
    try { return JSON.parse(sessionStorage.getItem(outboxKey) || "[]"); } catch (error) { return []; }
  }

  function writeOutbox() {
    try { sessionStorage.setItem(outboxKey, JSON.stringify(outbox)); } catch (error) { /* ignore */ }
  }

  let state = readState();
  let outbox = readOutbox();
  // Messages this tab stored or recognised since it loaded (see receive()).
  const claimed = new Set();
  const loadedAt = Date.now();
  let mySession = null;

  // ---- DOM ----------------------------------------------------------------
  loadStylesheet(config.assets + "/static/vendor/govuk/govuk-frontend.min.css");
  loadStylesheet(config.assets + "/static/widget/widget.css");

  const root = el("aside", { class: "mh-widget", "aria-label": "Chat with the Mutuals Support Programme" });
  const launcher = el("button", {
    type: "button", class: "govuk-button mh-launcher", "aria-expanded": "false", "aria-controls": "mh-panel",
  }, "Chat with us");
  const panel = el("section", { class: "mh-panel", id: "mh-panel", "aria-labelledby": "mh-title", hidden: true });

  const header = el("div", { class: "mh-header" });
  header.append(
    el("h2", { class: "govuk-heading-s mh-title", id: "mh-title" }, "Mutuals Support Programme chat"),
    el("button", { type: "button", class: "mh-close govuk-link", "aria-label": "Close chat" }, "Close"),
  );

  const privacy = el("details", { class: "govuk-details mh-privacy" });
  const privacySummary = el("summary", { class: "govuk-details__summary" });
  privacySummary.appendChild(el("span", { class: "govuk-details__summary-text" }, "Your privacy"));
  // The notice's words come from the one privacy notice (content/privacy/notice.yml,
  // with the retention settings), served as /widget/privacy.json; the same text is
  // the page /privacy and what the phone line says.
  const privacyText = el("div", { class: "govuk-details__text" });
  const privacyNotice = el("div", { class: "mh-privacy-notice" });
  const privacyLink = el("a", {
    class: "govuk-link govuk-body-s", href: config.assets + "/privacy", target: "_blank", rel: "noopener",
  }, "Read the full privacy notice (opens in new tab)");
  const clearButton = el("button", { type: "button", class: "govuk-link mh-clear" }, "Delete this conversation");
  const clearStatus = el("p", { class: "govuk-body-s mh-clear-status", role: "status" });
  privacyText.append(privacyNotice, el("p", { class: "govuk-body-s" }, privacyLink), clearButton, clearStatus);
  privacy.append(privacySummary, privacyText);
  const privacyShort = el("p", { class: "govuk-body-s mh-privacy-short" });
  if (window.fetch) {
    window.fetch(config.assets + "/widget/privacy.json", { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (notice) {
        if (!notice || typeof notice.short !== "string") return;
        privacyShort.textContent = notice.widget_short || "";
        const browser = String(notice.widget_browser || "").split("{browser_hours}").join(String(KEEP_HOURS));
        privacyNotice.replaceChildren(
          el("p", { class: "govuk-body-s" }, notice.short),
          el("p", { class: "govuk-body-s" }, browser),
        );
      })
      .catch(function () { /* the link to the full notice stays */ });
  }

  const status = el("p", { class: "govuk-body-s mh-status", role: "status", "data-state": "connecting" }, "Connecting…");
  const offline = el("div", { class: "govuk-warning-text mh-offline", hidden: true });
  function offlineMessage() {
    return "The chat cannot connect at the moment. Call the hotline" + (hotline ? " on " + hotline : "") + ".";
  }
  const offlineText = el("strong", { class: "govuk-warning-text__text" }, offlineMessage());
  if (window.fetch) {
    window.fetch(config.assets + "/widget/config.json", { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (body) {
        if (body && typeof body.hotline_number === "string") {
          hotline = body.hotline_number;
          offlineText.textContent = offlineMessage();
        }
      })
      .catch(function () { /* the warning still says to call the hotline */ });
  }
  offline.append(
    el("span", { class: "govuk-warning-text__icon", "aria-hidden": "true" }, "!"),
    offlineText,
  );
  const handoffBanner = el("p", { class: "govuk-body-s mh-handoff", hidden: true });

  const log = el("div", { class: "mh-log", tabindex: "0", role: "region", "aria-label": "Conversation" });
  const list = el("ol", { class: "mh-messages" });
  const typing = el("p", { class: "govuk-body-s mh-typing", hidden: true });
  const intro = el("p", { class: "govuk-body-s mh-intro" },
    "Ask about the programme, whether your service might be eligible, how to apply or the published awards.");
  log.append(intro, list, typing);
  const announcer = el("div", { class: "govuk-visually-hidden mh-announcer", "aria-live": "polite" });

  const form = el("form", { class: "mh-form", novalidate: true });
  const group = el("div", { class: "govuk-form-group mh-form-group" });
  const input = el("input", {
    class: "govuk-input mh-input", id: "mh-input", name: "message", type: "text",
    autocomplete: "off", maxlength: String(MAX_LENGTH), spellcheck: "true",
  });
  group.append(el("label", { class: "govuk-label govuk-label--s", for: "mh-input" }, "Your message"), input);
  const buttons = el("div", { class: "govuk-button-group mh-actions" });
  const sendButton = el("button", { type: "submit", class: "govuk-button mh-send" }, "Send");
  const humanButton = el("button", { type: "button", class: "govuk-button govuk-button--secondary mh-human" }, "Talk to a person");
  buttons.append(sendButton, humanButton);
  form.append(group, buttons);

  panel.append(header, privacyShort, privacy, status, offline, handoffBanner, log, announcer, form);
  root.append(launcher, panel);

  // ---- rendering ------------------------------------------------------------
  const nodes = new Map();
  const SENDER_TEXT = { user: "You said", bot: "The assistant said", system: "Service message" };

  function senderLabel(message) {
    if (message.from === "staff") return (message.name ? message.name + ", " : "") + "hotline adviser";
    return SENDER_TEXT[message.from] || "The assistant said";
  }

  function messageNode(message) {
    const item = el("li", { class: "mh-message mh-message--" + message.from, "data-id": message.id });
    if (message.from === "staff") {
      item.appendChild(el("p", { class: "mh-sender govuk-body-s" }, senderLabel(message)));
    } else {
      item.appendChild(el("span", { class: "govuk-visually-hidden" }, senderLabel(message) + ": "));
    }
    item.appendChild(el("p", { class: "mh-text govuk-body" }, message.text || ""));
    if (message.link) {
      const link = el("a", { class: "govuk-link", href: message.link, rel: "noopener noreferrer", target: "_blank" },
        message.linkText || "Open the attachment (opens in new tab)");
      item.appendChild(link);
    }
    if (message.pending) item.appendChild(el("p", { class: "mh-pending govuk-body-s" }, "Not sent yet"));
    return item;
  }

  function quickReplies(message) {
    const group = el("div", { class: "govuk-button-group mh-replies", role: "group", "aria-label": "Suggested replies" });
    for (const reply of message.replies) {
      const button = el("button", { type: "button", class: "govuk-button govuk-button--secondary mh-reply" }, reply.title);
      button.addEventListener("click", function () {
        send(reply.payload, reply.title);
        input.focus();
      });
      group.appendChild(button);
    }
    return group;
  }

  function render() {
    const ids = new Set(state.messages.map(function (m) { return m.id; }));
    for (const [id, node] of nodes) {
      if (!ids.has(id)) { node.remove(); nodes.delete(id); }
    }
    const last = state.messages[state.messages.length - 1];
    for (const message of state.messages) {
      const key = message.id + (message.pending ? ":p" : "") + (message === last && message.replies ? ":r" : "");
      let node = nodes.get(message.id);
      if (!node || node.dataset.key !== key) {
        const fresh = messageNode(message);
        fresh.dataset.key = key;
        if (message === last && message.replies && message.replies.length) fresh.appendChild(quickReplies(message));
        if (node) node.replaceWith(fresh); else list.appendChild(fresh);
        nodes.set(message.id, fresh);
        node = fresh;
      }
      list.appendChild(node); // keeps the order (a no-op when already in place)
    }
    renderHandoff();
    log.scrollTop = log.scrollHeight;
  }

  function renderHandoff() {
    if (state.handoff === "with_agent") {
      handoffBanner.textContent = "You're talking to a hotline adviser" + (state.staffName ? " (" + state.staffName + ")" : "") + ".";
      handoffBanner.dataset.state = "with_agent";
      handoffBanner.hidden = false;
    } else if (state.handoff === "queued") {
      handoffBanner.textContent = "You're waiting to talk to a hotline adviser.";
      handoffBanner.dataset.state = "queued";
      handoffBanner.hidden = false;
    } else {
      handoffBanner.hidden = true;
      delete handoffBanner.dataset.state;
    }
  }

  let typingTimer = null;
  function showTyping(who, ms) {
    typing.textContent = who === "staff" ? "Adviser is typing…" : "The assistant is typing…";
    typing.dataset.who = who;
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, ms);
    log.scrollTop = log.scrollHeight;
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  function announce(message) {
    announcer.textContent = senderLabel(message) + ": " + message.text;
  }

  // ---- opening and closing -------------------------------------------------------
  function setOpen(open, focus) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    root.classList.toggle("mh-widget--open", open);
    if (state.open !== open) { state.open = open; writeState(); }
    if (open) {
      render();
      ensureConnected();
      if (focus) input.focus();
    } else if (focus) {
      launcher.focus();
    }
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  header.querySelector(".mh-close").addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); setOpen(false, true); }
  });

  // ---- conversation ------------------------------------------------------------
  function addMessage(message) {
    state = readState(); // another tab may have written since
    state.messages.push(message);
    claimed.add(message.id);
    writeState();
    render();
  }

  function send(payload, shown) {
    const text = String(payload).trim().slice(0, MAX_LENGTH);
    if (!text) return;
    const message = { id: newId(), from: "user", text: shown || text, ts: Date.now(), pending: true };
    addMessage(message);
    outbox.push({ id: message.id, message: text });
    writeOutbox();
    flush();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    input.value = "";
    send(text);
    input.focus();
  });

  humanButton.addEventListener("click", function () {
    send("/request_human", "Talk to a person");
    input.focus();
  });

  // "Delete this conversation": erased on the server first (the session secret
  // proves it is ours), then in this browser; if the server cannot be reached,
  // nothing is cleared, so the caller can try again.
  clearButton.addEventListener("click", function () {
    const sessionId = readState().sessionId;
    if (!sessionId || !window.fetch) { clearBrowser(); return; }
    clearButton.disabled = true;
    clearStatus.textContent = "Deleting…";
    window.fetch(config.assets + "/widget/erase", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session_id: sessionId }),
      credentials: "omit",
      cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("erase failed");
        clearBrowser();
        clearStatus.textContent = "The conversation has been deleted from this browser and from our records.";
      })
      .catch(function () {
        clearStatus.textContent = "The conversation could not be deleted just now. Please try again" +
          (hotline ? ", or call the hotline on " + hotline : "") + ".";
      })
      .finally(function () { clearButton.disabled = false; });
  });

  function clearBrowser() {
    try { localStorage.removeItem(storageKey); } catch (error) { /* ignore */ }
    outbox = []; writeOutbox();
    state = emptyState(); state.open = true;
    writeState();
    render();
    if (socket) { socket.disconnect(); ready = false; socket.connect(); }
    input.focus();
  }

  // Another tab changed the conversation: show the same.
  window.addEventListener("storage", function (event) {
    if (event.key !== storageKey) return;
    state = readState();
    render();
    // The conversation was deleted and restarted in another tab: follow it.
    if (socket && ready && state.sessionId && state.sessionId !== mySession) {
      mySession = state.sessionId;
      socket.emit("session_request", { session_id: mySession });
    }
  });

  // A message from the server. Tabs of the same conversation all receive it; the
  // first to store it wins, the others recognise it (same sender and text, recent,
  // not yet matched by this tab) instead of storing it again.
  function receive(data) {
    if (!data || typeof data !== "object") return;
    const sender = data.sender || (data.metadata && data.metadata.sender);
    if (data.typing) {
      if (sender === "staff" || !sender) showTyping("staff", STAFF_TYPING_MS);
      return;
    }
    const from = sender === "staff" || sender === "system" ? sender : "bot";
    const message = { id: newId(), from: from, text: typeof data.text === "string" ? data.text : "", ts: Date.now() };
    if (from === "staff" && data.staff_name) message.name = String(data.staff_name);
    const replies = data.quick_replies || data.buttons;
    if (Array.isArray(replies) && replies.length) {
      message.replies = replies
        .filter(function (r) { return r && r.title != null; })
        .map(function (r) { return { title: String(r.title), payload: String(r.payload != null ? r.payload : r.title) }; });
    }
    const attachment = data.attachment;
    if (attachment && attachment.payload && typeof attachment.payload.src === "string" && /^https?:\/\//.test(attachment.payload.src)) {
      message.link = attachment.payload.src;
      message.linkText = attachment.type === "image" ? "View the image (opens in new tab)" : null;
    }
    const changesHandoff = Object.prototype.hasOwnProperty.call(data, "handoff_state");
    if (!message.text && !message.link && !changesHandoff) return; // e.g. the phone's {"handoff": "dial"}

    hideTyping();
    state = readState();
    if (from === "staff") { state.handoff = "with_agent"; if (message.name) state.staffName = message.name; }
    // Service notices: a queue position means waiting; any other ends the handoff (hand back, resolve).
    if (from === "system") state.handoff = data.queue_position != null ? "queued" : null;
    if (changesHandoff) state.handoff = data.handoff_state === "none" ? null : (data.handoff_state || null);
    if (!state.handoff) state.staffName = null;
    if (message.text || message.link) {
      const twin = state.messages.find(function (m) {
        return !claimed.has(m.id) && m.ts >= loadedAt && Date.now() - m.ts < 60000 &&
          m.from === message.from && m.text === message.text;
      });
      if (twin) claimed.add(twin.id);
      else { state.messages.push(message); claimed.add(message.id); }
      announce(twin || message);
    }
    writeState();
    render();
  }

  // ---- connection ----------------------------------------------------------------
  let socket = null;
  let ready = false;
  let everConnected = false;
  let offlineTimer = null;

  function setStatus(kind, text) {
    status.dataset.state = kind;
    status.textContent = text;
  }

  function showOffline(show) {
    offline.hidden = !show;
    root.classList.toggle("mh-widget--offline", show);
  }

  function startOfflineTimer() {
    clearTimeout(offlineTimer);
    offlineTimer = setTimeout(function () {
      if (!ready) {
        setStatus("offline", "Not connected. Trying again…");
        showOffline(true);
      }
    }, OFFLINE_HELP_MS);
  }

  function flush() {
    if (!ready || !socket || !outbox.length) return;
    state = readState();
    showTyping("bot", BOT_REPLY_TIMEOUT_MS);
    while (outbox.length) {
      const item = outbox.shift();
      socket.emit("user_uttered", { message: item.message, session_id: state.sessionId });
      const stored = state.messages.find(function (m) { return m.id === item.id; });
      if (stored) delete stored.pending;
    }
    writeOutbox();
    writeState();
    render();
  }

  // After a dropped connection: Rasa keeps nothing for a socket that was away, so
  // ask our app for the conversation's recent messages and add the ones we missed
  // (those after the last bot or staff message this browser already has).
  function catchUp(sessionId) {
    if (!sessionId || !window.fetch) return;
    // The session id is the conversation's secret: it goes in the body, never in a URL.
    window.fetch(config.assets + "/widget/history", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session_id: sessionId }),
      credentials: "omit",
      cache: "no-store",
    })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) {
        const items = Array.isArray(body && body.items) ? body.items : [];
        state = readState();
        const known = state.messages.filter(function (m) { return m.from !== "user"; });
        let start = 0;
        if (known.length) {
          const last = known[known.length - 1];
          start = -1;
          for (let i = items.length - 1; i >= 0; i--) {
            const from = items[i].sender === "staff" || items[i].sender === "system" ? items[i].sender : "bot";
            if (from === last.from && items[i].text === last.text) { start = i + 1; break; }
          }
          if (start < 0) return; // history no longer reaches our last message: add nothing
        }
        items.slice(start).forEach(function (item) { receive(item); });
      })
      .catch(function () { /* offline again: the next reconnect tries again */ });
  }

  function connect() {
    socket = window.io(config.rasaUrl, {
      path: "/socket.io",
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 8000,
    });
    window.mhWidget.socket = socket; // for tests and host pages that want to watch the connection
    socket.on("connect", function () {
      state = readState();
      socket.emit("session_request", { session_id: state.sessionId });
    });
    socket.on("session_confirm", function (data) {
      const id = typeof data === "string" ? data : data && data.session_id;
      state = readState();
      if (id && state.sessionId !== id) { state.sessionId = id; writeState(); }
      mySession = id;
      ready = true;
      if (everConnected) catchUp(id);
      everConnected = true;
      failures = 0;
      clearTimeout(offlineTimer);
      showOffline(false);
      setStatus("connected", "Connected");
      flush();
    });
    socket.on("bot_uttered", receive);
    socket.on("disconnect", function (reason) {
      ready = false;
      setStatus("reconnecting", "Connection lost. Reconnecting… Messages you send now will be sent when the chat reconnects.");
      startOfflineTimer();
      if (reason === "io server disconnect") socket.connect();
    });
    let failures = 0;
    socket.on("connect_error", function () {
      ready = false;
      failures += 1;
      if (!everConnected && failures >= 2) {
        setStatus("offline", "Not connected. Trying again…");
        showOffline(true);
      }
    });
    startOfflineTimer();
  }

  let connecting = false;
  function ensureConnected() {
    if (socket || connecting) return;
    connecting = true;
    loadScript(config.assets + "/static/vendor/js/socket.io.min.js").then(connect, function () {
      setStatus("offline", "The chat could not load.");
      showOffline(true);
    });
  }

  // ---- start ---------------------------------------------------------------------
  function start() {
    document.body.appendChild(root);
    window.mhWidget.open = function () { setOpen(true, true); };
    window.mhWidget.close = function () { setOpen(false, false); };
    render();
    // Connect at once when there is a conversation to carry on (staff replies,
    // queued messages), otherwise on first opening.
    if (config.open || state.open) setOpen(true, false);
    if (state.sessionId || outbox.length) ensureConnected();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
