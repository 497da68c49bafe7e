// Hotline console: live queue, live transcript, replies without reload, typing indicator.
// Every piece of text that came from a caller (or anyone) is written with textContent,
// never innerHTML, so a message containing markup is shown as text.
const body = document.body;
body.classList.add("js-enabled", "govuk-frontend-supported");
const csrf = body.dataset.csrf || "";
const page = body.dataset.page;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function formatWait(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

function secondsSince(iso) {
  return (Date.now() - Date.parse(iso)) / 1000;
}

async function api(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(payload || {}),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return { ok: response.ok, status: response.status, data };
}

function connect(onEvent) {
  let delay = 1000;
  const status = document.getElementById("live-status");
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(`${scheme}${location.host}/console/ws`);
    ws.addEventListener("open", () => {
      delay = 1000;
      body.dataset.live = "true";
      if (status) status.textContent = "Live: updates appear as they happen.";
    });
    ws.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      onEvent(data);
    });
    ws.addEventListener("close", () => {
      body.dataset.live = "false";
      if (status) status.textContent = "Reconnecting to live updates…";
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 15000);
    });
  };
  open();
}

// --- the queue ------------------------------------------------------------------
function tag(priority) {
  return el("strong", `govuk-tag ${priority === "urgent" ? "govuk-tag--red" : "govuk-tag--grey"}`, priority);
}

function cell(content) {
  const td = el("td", "govuk-table__cell");
  if (content instanceof Node) td.appendChild(content); else td.textContent = content ?? "";
  return td;
}

function openLink(ticket) {
  const a = el("a", "govuk-link", "Open");
  a.href = `/console/handoffs/${encodeURIComponent(ticket.id)}`;
  a.appendChild(el("span", "govuk-visually-hidden", ` conversation ${ticket.id}`));
  return a;
}

function queueOrder(a, b) {
  const rank = (t) => (t.priority === "urgent" ? 0 : 1);
  return rank(a) - rank(b) || Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id;
}

function startQueue() {
  const tickets = new Map();
  const waitingBody = document.getElementById("queue-body");
  const assignedBody = document.getElementById("assigned-body");
  // Supervisors tick rows for the bulk close; the ticks survive a live re-render.
  const bulkForm = document.getElementById("queue-table").dataset.bulkClose;
  const selected = new Set(
    [...document.querySelectorAll("input.app-select:checked")].map((box) => Number(box.value)));
  const selectBox = (t) => {
    const box = el("input", "app-select");
    box.type = "checkbox";
    box.name = "ids";
    box.value = String(t.id);
    box.setAttribute("form", bulkForm);
    box.setAttribute("aria-label", `Select conversation ${t.id}`);
    box.checked = selected.has(t.id);
    box.addEventListener("change", () => {
      if (box.checked) selected.add(t.id); else selected.delete(t.id);
    });
    return box;
  };
  const render = (flashId) => {
    const all = [...tickets.values()].sort(queueOrder);
    const waiting = all.filter((t) => t.status === "queued");
    const assigned = all.filter((t) => t.status === "assigned");
    waitingBody.replaceChildren(...waiting.map((t, i) => {
      const row = el("tr", "govuk-table__row");
      row.dataset.ticketId = t.id;
      const wait = cell(formatWait(secondsSince(t.created_at)));
      wait.classList.add("app-wait");
      wait.dataset.created = t.created_at;
      if (bulkForm) row.append(cell(selectBox(t)));
      row.append(cell(String(i + 1)), cell(tag(t.priority)), cell(t.channel), wait,
        cell(t.reason || "—"), cell(t.summary), cell(openLink(t)));
      if (t.id === flashId) row.classList.add("app-flash");
      return row;
    }));
    assignedBody.replaceChildren(...assigned.map((t) => {
      const row = el("tr", "govuk-table__row");
      row.dataset.ticketId = t.id;
      row.append(cell(t.assigned_name || t.assigned_to), cell(tag(t.priority)), cell(t.channel),
        cell(t.reason || "—"), cell(t.summary), cell(openLink(t)));
      return row;
    }));
    document.getElementById("waiting-count").textContent = String(waiting.length);
    document.getElementById("queue-empty").hidden = waiting.length > 0;
  };
  connect((event) => {
    if (event.type === "snapshot") {
      tickets.clear();
      for (const t of event.tickets) tickets.set(t.id, t);
      render();
    } else if (event.type === "ticket") {
      const t = event.ticket;
      if (t.status === "queued" || t.status === "assigned") tickets.set(t.id, t); else tickets.delete(t.id);
      render(event.event === "created" ? t.id : undefined);
    }
  });
  setInterval(() => {
    for (const td of document.querySelectorAll("td.app-wait[data-created]")) {
      td.textContent = formatWait(secondsSince(td.dataset.created));
    }
  }, 1000);
}

// --- a conversation -------------------------------------------------------------
function startConversation() {
  const root = document.getElementById("conversation");
  const ticketId = Number(root.dataset.ticketId);
  const transcript = document.getElementById("transcript");
  const statusText = document.getElementById("ticket-status-text");
  const delivery = document.getElementById("delivery-status");
  const seen = new Set([...transcript.querySelectorAll("[data-message-id]")].map((n) => n.dataset.messageId));
  const who = (m) => ({ caller: "Caller", bot: "Assistant", staff: m.staff_name || "Adviser" }[m.sender] || "Note");

  const append = (m) => {
    if (m.id !== undefined && seen.has(String(m.id))) return;
    if (m.id !== undefined) seen.add(String(m.id));
    const item = el("li", `app-msg app-msg--${["caller", "bot", "staff"].includes(m.sender) ? m.sender : "system"}`);
    if (m.id !== undefined) item.dataset.messageId = m.id;
    item.append(el("span", "app-msg__who", who(m)), el("p", "app-msg__text", m.text));
    transcript.appendChild(item);
    transcript.scrollTop = transcript.scrollHeight;
  };

  connect((event) => {
    if (event.type === "message" && event.ticket_id === ticketId) append(event.message);
    if (event.type === "ticket" && event.ticket.id === ticketId) {
      statusText.textContent = event.ticket.status;
      if (root.dataset.status !== event.ticket.status) {
        // Actions available depend on the state: re-render the page once it settles.
        root.dataset.status = event.ticket.status;
        setTimeout(() => location.reload(), 300);
      }
    }
  });

  const form = document.getElementById("reply-form");
  if (!form) return;
  const textarea = document.getElementById("reply-text");
  const canned = document.getElementById("canned");
  if (canned) {
    canned.addEventListener("change", () => {
      const option = canned.selectedOptions[0];
      if (option && option.dataset.text) {
        textarea.value = textarea.value ? `${textarea.value}\n${option.dataset.text}` : option.dataset.text;
        textarea.focus();
      }
      canned.value = "";
    });
  }
  let lastTyping = 0;
  textarea.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping < 3000 || !textarea.value.trim()) return;
    lastTyping = now;
    api(`/api/handoffs/${ticketId}/typing`).catch(() => {});
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (!text) { delivery.textContent = "Enter a reply first."; textarea.focus(); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await api(`/api/handoffs/${ticketId}/reply`, { text });
      if (result.ok) {
        append(result.data.message);
        textarea.value = "";
        lastTyping = 0;
        delivery.textContent = "Reply sent.";
      } else {
        delivery.textContent = result.data.error || `The reply was not sent (${result.status}).`;
      }
    } catch (e) {
      delivery.textContent = "The reply was not sent: the connection failed.";
    } finally {
      button.disabled = false;
      textarea.focus();
    }
  });
}

if (page === "queue") startQueue();
if (page === "conversation") startConversation();
