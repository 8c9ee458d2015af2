// The demo's web chat: one Telegram-like chat with the bot per persona. Plain JS, no build step.
"use strict";

const state = { personas: [], chats: {}, active: null, unread: {}, socket: null, timezone: "UTC",
  clock: null };
const $ = (id) => document.getElementById(id);

// ---- the bot's HTML, sanitised: only Telegram's formatting tags survive ----------------------
const ALLOWED = {
  B: "b", STRONG: "b", I: "i", EM: "i", U: "u", INS: "u", S: "s", STRIKE: "s", DEL: "s",
  CODE: "code", PRE: "pre", BLOCKQUOTE: "blockquote", A: "a", "TG-SPOILER": "span", SPAN: "span",
};

function sanitize(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const out = document.createDocumentFragment();
  const copy = (node, into) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        into.appendChild(document.createTextNode(child.textContent));
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        const tag = ALLOWED[child.tagName];
        if (!tag) { copy(child, into); continue; }
        const el = document.createElement(tag);
        if (tag === "a") {
          const href = child.getAttribute("href") || "";
          if (/^(https?:|tg:|mailto:)/i.test(href)) { el.href = href; el.target = "_blank"; el.rel = "noopener"; }
        }
        if (child.tagName === "TG-SPOILER" || (tag === "span" && child.classList.contains("tg-spoiler"))) {
          el.className = "tg-spoiler";
          el.addEventListener("click", () => el.classList.add("shown"));
        }
        copy(child, el);
        into.appendChild(el);
      }
    }
  };
  copy(doc.body, out);
  return out;
}

// ---- talking to the demo server -----------------------------------------------------------
async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) toast(`${response.status}: ${await response.text()}`, false);
  return response;
}

const act = (action, extra = {}) => post("/api/act", { persona: state.active, action, ...extra });

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  state.socket = ws;
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = () => { $("chat-sub").textContent = "disconnected: the demo stopped"; };
}

function handle(event) {
  if (event.type === "clock") { showClock(event); return; }
  const chatId = String(event.chat_id);
  if (event.type === "toast") {
    if (chatId === String(state.active)) {
      event.alert ? alertBox(event.text) : toast(event.text, true);
    }
    return;
  }
  const chat = state.chats[chatId] || (state.chats[chatId] = []);
  const index = chat.findIndex((m) => m.id === event.message.id);
  const shown = chatId === String(state.active);
  if (event.type === "delete") {
    if (index >= 0) chat.splice(index, 1);
    if (shown) renderChat(true);
    return;
  }
  if (index >= 0) {
    chat[index] = event.message;
    if (shown) replaceRow(event.message);
    return;
  }
  chat.push(event.message);
  chat.sort((a, b) => a.id - b.id);
  if (shown) {
    appendRow(event.message);
  } else if (event.message.from_bot) {
    state.unread[chatId] = (state.unread[chatId] || 0) + 1;
    renderPersonas();
  }
}

// Only the message that changed is re-drawn, so a button being clicked elsewhere stays put.
function replaceRow(m) {
  const old = $("messages").querySelector(`.row[data-id="${m.id}"]`);
  if (!old) { renderChat(true); return; }
  old.replaceWith(renderMessage(m));
  renderReplyKeyboard(state.chats[String(state.active)] || []);
}

function appendRow(m) {
  const box = $("messages");
  const rows = box.querySelectorAll(".row");
  const lastRow = rows[rows.length - 1];
  if (lastRow && Number(lastRow.dataset.id) > m.id) { renderChat(true); return; }
  const day = dayOf(m.date);
  if (box.dataset.lastDay !== day) { box.appendChild(daySeparator(day)); box.dataset.lastDay = day; }
  box.appendChild(renderMessage(m));
  renderReplyKeyboard(state.chats[String(state.active)] || []);
  box.scrollTop = box.scrollHeight;
}

function daySeparator(day) {
  const sep = document.createElement("div");
  sep.className = "day-sep";
  sep.textContent = day;
  return sep;
}

// ---- rendering ----------------------------------------------------------------------------
const initials = (name) => name.split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
const COLORS = { client: "#7bc862", specialist: "#e17076", admin: "#faa774" };

function renderPersonas() {
  const list = $("personas");
  list.replaceChildren();
  for (const p of state.personas) {
    const li = document.createElement("li");
    li.className = "persona" + (p.id === state.active ? " active" : "");
    li.dataset.persona = p.id;
    li.innerHTML = `<div class="avatar"></div><div class="persona-text"><div class="persona-name"></div>` +
      `<div class="persona-title"></div></div>`;
    li.querySelector(".avatar").textContent = initials(p.name);
    li.querySelector(".avatar").style.background = COLORS[p.role] || "#7bc862";
    li.querySelector(".persona-name").textContent = p.name;
    li.querySelector(".persona-title").textContent = p.title;
    const count = state.unread[String(p.id)] || 0;
    if (count) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.testid = "unread";
      badge.textContent = count;
      li.appendChild(badge);
    }
    li.addEventListener("click", () => choose(p.id));
    list.appendChild(li);
  }
}

function choose(id) {
  closeAlert();
  state.active = id;
  state.unread[String(id)] = 0;
  const p = state.personas.find((x) => x.id === id);
  $("chat-sub").textContent = `bot · you are ${p.name} (${p.title})`;
  renderPersonas();
  renderChat(false);
  if (!(state.chats[String(id)] || []).length) act("send", { text: "/start" });
  $("input").focus();
}

// Times are shown in the demo's time zone (the salon's), like the bot's own texts.
const inZone = (options) => ({ ...options, timeZone: state.timezone, hourCycle: "h23" });
const hhmm = (unix) => new Date(unix * 1000).toLocaleTimeString("en-GB", inZone({ hour: "2-digit", minute: "2-digit" }));
const dayOf = (unix) => new Date(unix * 1000).toLocaleDateString("en-GB", inZone({ weekday: "short", day: "numeric", month: "long" }));

function renderChat(keepScroll) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  let lastDay = null;
  const chat = state.chats[String(state.active)] || [];
  for (const m of chat) {
    const day = dayOf(m.date);
    if (day !== lastDay) { box.appendChild(daySeparator(day)); lastDay = day; }
    box.appendChild(renderMessage(m));
  }
  box.dataset.lastDay = lastDay || "";
  renderReplyKeyboard(chat);
  if (!keepScroll || atBottom) box.scrollTop = box.scrollHeight;
}

function renderMessage(m) {
  const row = document.createElement("div");
  row.className = "row" + (m.from_bot ? "" : " mine");
  row.dataset.id = m.id;
  if (m.invoice) { row.appendChild(renderInvoice(m)); return row; }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (m.media) bubble.appendChild(renderMedia(m.media));
  if (m.contact) {
    const c = document.createElement("div");
    c.className = "contact";
    c.textContent = m.contact;
    bubble.appendChild(c);
  }
  // As in Telegram: only a message sent with parse_mode HTML is formatted; plain text (usage
  // lines such as "/topup <client> <amount>") is shown exactly as sent.
  const html = m.from_bot && (m.parse_mode || "").toUpperCase() === "HTML";
  if (m.text) bubble.appendChild(html ? sanitize(m.text) : document.createTextNode(m.text));
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (m.edited ? "edited " : "") + hhmm(m.date);
  bubble.appendChild(meta);
  row.appendChild(bubble);
  const inline = m.markup && m.markup.inline_keyboard;
  if (inline && inline.length) row.appendChild(renderInline(m, inline));
  return row;
}

function renderInline(m, rows) {
  const kb = document.createElement("div");
  kb.className = "keyboard";
  for (const buttons of rows) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const b of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.text;
      if (b.url) {
        button.textContent += " ↗";
        button.addEventListener("click", () => toast(`Opens ${b.url}`, true));
      } else {
        button.addEventListener("click", () => act("press", { message_id: m.id, data: b.callback_data || "" }));
      }
      line.appendChild(button);
    }
    kb.appendChild(line);
  }
  return kb;
}

function renderMedia(media) {
  if (media.type === "photo" && media.url) {
    const img = document.createElement("img");
    img.className = "media-photo";
    img.src = media.url;
    img.alt = media.filename || "photo";
    return img;
  }
  const a = document.createElement("a");
  a.className = "media-doc";
  a.textContent = media.filename || media.type;
  if (media.url) { a.href = media.url; a.download = media.filename || ""; }
  return a;
}

function money(invoice) {
  const digits = { JPY: 0, KRW: 0 }[invoice.currency] ?? 2;
  const amount = invoice.total_amount / 10 ** digits;
  return `${amount.toLocaleString(undefined, { minimumFractionDigits: digits })} ${invoice.currency}`;
}

function renderInvoice(m) {
  const card = document.createElement("div");
  card.className = "invoice";
  card.innerHTML = `<div class="invoice-body"><div class="invoice-title"></div><div class="invoice-desc"></div>` +
    `<div class="invoice-total"></div><div class="invoice-test">Test payment: no money moves</div></div>`;
  card.querySelector(".invoice-title").textContent = m.invoice.title || "";
  card.querySelector(".invoice-desc").textContent = m.invoice.description || "";
  card.querySelector(".invoice-total").textContent = money(m.invoice);
  const pay = document.createElement("button");
  pay.type = "button";
  pay.textContent = `Pay ${money(m.invoice)}`;
  pay.addEventListener("click", async () => {
    pay.disabled = true;
    pay.textContent = "Paying…";
    const response = await act("pay", { message_id: m.id });
    pay.textContent = response.ok ? "Paid" : "Payment failed";
  });
  card.appendChild(pay);
  return card;
}

function renderReplyKeyboard(chat) {
  const box = $("reply-keyboard");
  const latest = [...chat].reverse().find((m) => m.from_bot && m.markup &&
    (m.markup.keyboard || m.markup.remove_keyboard));
  box.replaceChildren();
  if (!latest || !latest.markup.keyboard) { box.hidden = true; return; }
  for (const buttons of latest.markup.keyboard) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const b of buttons) {
      const text = typeof b === "string" ? b : b.text;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.addEventListener("click", () => (b.request_contact ? act("contact") : act("send", { text })));
      line.appendChild(button);
    }
    box.appendChild(line);
  }
  box.hidden = false;
}

// ---- toasts, alerts, clock ----------------------------------------------------------------
function toast(text, fromBot) {
  const el = document.createElement("div");
  el.className = "toast";
  el.dataset.testid = fromBot ? "callback-answer" : "error";
  el.textContent = text;
  $("toasts").appendChild(el);
  setTimeout(() => el.remove(), 4000);
}

function alertBox(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert-ok").focus();
}

const closeAlert = () => { $("alert").hidden = true; };

// The label runs on between server events: the server's "now" is kept as a distance from this
// browser's clock and the label is redrawn every few seconds.
function showClock(clock) {
  state.timezone = clock.timezone;
  state.clock = { skew: new Date(clock.now).getTime() - Date.now(), offsetHours: clock.offset_hours };
  renderClock();
}

function renderClock() {
  if (!state.clock) return;
  const now = new Date(Date.now() + state.clock.skew);
  const label = now.toLocaleString("en-GB", inZone({
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }));
  const hours = state.clock.offsetHours;
  $("clock-now").textContent = label + (hours ? ` (+${hours} h)` : " (now)");
  $("clock-now").title = state.timezone;
}

// ---- start ----------------------------------------------------------------------------------
async function start() {
  const response = await fetch("/api/state");
  const data = await response.json();
  state.personas = data.personas;
  state.chats = data.chats;
  showClock(data.clock);
  connect();
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("input").value.trim();
    if (!text) return;
    $("input").value = "";
    act("send", { text });
  });
  // An alert waits for OK as in Telegram, but never traps the page: a click beside it, Escape,
  // or switching to another person closes it too.
  $("alert-ok").addEventListener("click", closeAlert);
  $("alert").addEventListener("click", (event) => { if (event.target === $("alert")) closeAlert(); });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeAlert(); });
  setInterval(renderClock, 5000);
  for (const button of document.querySelectorAll("#clock button")) {
    button.addEventListener("click", () => post("/api/clock", { shift: button.dataset.shift }));
  }
  choose(state.personas[0].id);
}

start();
