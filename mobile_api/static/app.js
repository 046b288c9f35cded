// Touchpoints event app: a small vanilla-JS PWA over /app/v1 (docs/app-api.md). No framework, no build step.
const API = "/app/v1";
const store = {
  get: (k) => { try { return JSON.parse(localStorage.getItem("tp." + k)); } catch (e) { return null; } },
  set: (k, v) => (v === null ? localStorage.removeItem("tp." + k) : localStorage.setItem("tp." + k, JSON.stringify(v))),
};
const $ = (sel) => document.querySelector(sel);
const view = () => $("#view");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const when = (t) => new Date(t * 1000).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });

function toast(text) {
  const el = $("#toast");
  el.textContent = text; el.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

// --- API with transparent refresh (rotation: each refresh token is used once) -----------------------------
let refreshing = null;
async function refresh() {
  const tokens = store.get("tokens");
  if (!tokens) throw new Error("signed out");
  refreshing ??= fetch(API + "/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: tokens.refresh_token }) })
    .then(async (r) => { if (!r.ok) { signOutLocally(); throw new Error("session ended"); } store.set("tokens", await r.json()); })
    .finally(() => { refreshing = null; });
  return refreshing;
}

async function api(path, { method = "GET", body, raw = false } = {}, retry = true) {
  const tokens = store.get("tokens");
  const headers = {};
  if (tokens) headers.Authorization = "Bearer " + tokens.access_token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401 && tokens && retry) { await refresh(); return api(path, { method, body, raw }, false); }
  if (raw) return r;
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const detail = data && data.detail;
    throw new Error(Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : detail || r.statusText);
  }
  return data;
}

function signOutLocally() { store.set("tokens", null); store.set("mode", null); closeSocket(); location.hash = "#signin"; }

// --- screens ----------------------------------------------------------------------------------------------
const screens = {};

screens.signin = async () => {
  const booth = store.get("mode") === "booth";
  view().innerHTML = `
    <div class="card"><h3>${booth ? "Booth staff sign-in" : "Sign in"}</h3>
      <p class="muted">We email you a 6-digit code. No password.</p>
      <form id="ask"><label>Email<input id="email" type="email" autocomplete="email" required></label>
        <button>Send me a code</button></form>
      <form id="redeem" hidden><label>Code<input id="code" type="text" inputmode="numeric" pattern="\\d{6}" maxlength="6" required></label>
        <button>Sign in</button></form>
      <p id="msg" class="muted"></p></div>
    <p class="muted"><a href="#" id="switch">${booth ? "I am an attendee" : "Booth staff? Capture leads"}</a></p>`;
  const prefix = booth ? "/exhibitor/auth" : "/auth";
  let email = "";
  $("#switch").onclick = (e) => { e.preventDefault(); store.set("mode", booth ? null : "booth"); screens.signin(); };
  $("#ask").onsubmit = async (e) => {
    e.preventDefault(); email = $("#email").value.trim();
    try { await api(prefix + "/code", { method: "POST", body: { email } });
      $("#redeem").hidden = false; $("#msg").textContent = "Check your email for the code."; $("#code").focus();
    } catch (err) { $("#msg").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  };
  $("#redeem").onsubmit = async (e) => {
    e.preventDefault();
    try { store.set("tokens", await api(prefix + "/token", { method: "POST", body: { email, code: $("#code").value.trim() } }));
      start();
    } catch (err) { $("#msg").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  };
};

screens.agenda = async () => {
  const items = await api("/agenda");
  view().innerHTML = `<h2>Agenda</h2>` + (items.length ? "" : `<p class="muted">No sessions yet.</p>`) + items.map((s) => `
    <div class="card" data-session="${esc(s.id)}"><div class="row"><div><h3>${esc(s.title)}</h3>
      <div class="muted">${when(s.starts_at)} · ${esc(s.zone_name || s.zone_id)}</div></div>
      <button class="${s.bookmarked ? "" : "secondary"}" data-bookmark="${esc(s.id)}" aria-pressed="${s.bookmarked}">
        ${s.bookmarked ? "★ Saved" : "☆ Save"}</button></div></div>`).join("");
  view().querySelectorAll("[data-bookmark]").forEach((b) => { b.onclick = async () => {
    const on = b.getAttribute("aria-pressed") !== "true";
    await api(`/agenda/${encodeURIComponent(b.dataset.bookmark)}/bookmark`, { method: on ? "PUT" : "DELETE" });
    screens.agenda();
  }; });
};

screens.journey = async () => {
  const j = await api("/me/journey");
  view().innerHTML = `<h2>My journey</h2><div class="card"><div class="row"><b>${esc(j.stage)}</b><span>score ${Math.round(j.score)} · grade ${esc(j.grade)}</span></div>
    <p class="muted">${esc(j.summary)}</p></div>` + j.entries.slice().reverse().map((e) => `
    <div class="card"><div class="row"><b>${esc(e.kind.replace(/_/g, " "))}</b><span class="muted">${when(e.at)}</span></div>
    <div class="muted">${esc(e.zone_id || "")} ${e.dwell_s ? "· " + Math.round(e.dwell_s / 60) + " min" : ""}</div></div>`).join("");
};

function renderNote(n) {
  return `<div class="card ${n.read_at ? "" : "unread"}" data-note="${esc(n.id)}"><div class="row"><h3>${esc(n.title)}</h3>
    <span class="muted">${when(n.created_at)}</span></div><p>${esc(n.body)}</p><div class="row">
    <button class="secondary" data-open="${esc(n.id)}">${n.url ? "Open" : "Mark read"}</button>
    <button class="secondary" data-dismiss="${esc(n.id)}">Dismiss</button></div></div>`;
}

screens.inbox = async () => {
  const inbox = await api("/me/notifications");
  setUnread(inbox.unread);
  remember(inbox.items);
  const push = "Notification" in window ? Notification.permission : "unsupported";
  view().innerHTML = `<h2>Notifications</h2>
    ${push === "default" ? `<button id="allow" class="secondary">Allow notifications on this phone</button>` : ""}
    <div id="notes">${inbox.items.slice().reverse().map(renderNote).join("") || `<p class="muted" id="empty">Nothing yet.</p>`}</div>`;
  if ($("#allow")) $("#allow").onclick = () => enablePush().then(() => screens.inbox());
  bindNotes();
};

function bindNotes() {
  view().querySelectorAll("[data-open]").forEach((b) => { b.onclick = async () => {
    const n = await api(`/me/notifications/${encodeURIComponent(b.dataset.open)}/open`, { method: "POST" });
    if (n.url && /^(https?:|\/)/.test(n.url)) window.open(n.url, "_blank", "noopener");
    screens.inbox();
  }; });
  view().querySelectorAll("[data-dismiss]").forEach((b) => { b.onclick = async () => {
    await api(`/me/notifications/${encodeURIComponent(b.dataset.dismiss)}/dismiss`, { method: "POST" }); screens.inbox();
  }; });
}

screens.people = async () => {
  const list = await api("/me/connections");
  view().innerHTML = `<h2>People</h2><form id="connect" class="card"><label>Badge id of someone you met
      <input id="badge" type="text" required maxlength="64"></label><button>Connect</button><p id="msg" class="muted"></p></form>` +
    list.map((c) => `<div class="card"><div class="row"><div><h3>${esc(c.name)}</h3><div class="muted">${esc(c.status)}
      ${c.email ? " · " + esc(c.email) : ""}${c.company ? " · " + esc(c.company) : ""}</div></div><div>
      ${c.status === "pending" && c.direction === "incoming" ? `<button data-accept="${esc(c.attendee_id)}">Accept</button>` : ""}
      <button class="secondary" data-remove="${esc(c.attendee_id)}">${c.status === "pending" ? "Decline" : "Remove"}</button></div></div></div>`).join("");
  $("#connect").onsubmit = async (e) => {
    e.preventDefault();
    try { await api("/me/connections", { method: "POST", body: { badge_id: $("#badge").value.trim() } }); screens.people(); }
    catch (err) { $("#msg").innerHTML = `<span class="error">${esc(err.message)}</span>`; }
  };
  view().querySelectorAll("[data-accept]").forEach((b) => { b.onclick = () => api(`/me/connections/${encodeURIComponent(b.dataset.accept)}/accept`, { method: "POST" }).then(screens.people); });
  view().querySelectorAll("[data-remove]").forEach((b) => { b.onclick = () => api(`/me/connections/${encodeURIComponent(b.dataset.remove)}`, { method: "DELETE" }).then(screens.people); });
};

const PURPOSES = { tracking: "Presence at the venue (my badge's beacon)", push: "Notifications on this phone",
  share_contact: "Share my contact with exhibitors I meet", networking: "Let attendees connect with me", email: "Event emails" };

screens.privacy = async () => {
  const c = await api("/me/consent");
  view().innerHTML = `<h2>Privacy</h2><div class="card">${Object.entries(PURPOSES).map(([k, label]) => `
      <label class="switch"><span>${esc(label)}</span><input type="checkbox" data-purpose="${k}" ${c.consents[k] ? "checked" : ""}></label>`).join("")}</div>
    <div class="card"><h3>History</h3><ul class="plain" id="history">${c.history.slice().reverse().map((h) =>
      `<li class="muted">${when(h.at)} · ${esc(h.purpose)} ${h.granted ? "granted" : "withdrawn"} (${esc(h.source)})</li>`).join("") || "<li class='muted'>No changes yet.</li>"}</ul></div>
    <div class="card"><h3>My data</h3><p><button class="secondary" id="export">Download my data</button></p>
      <p><button class="danger" id="erase">Delete my account</button></p></div>`;
  view().querySelectorAll("[data-purpose]").forEach((box) => { box.onchange = async () => {
    await api("/me/consent", { method: "PUT", body: { [box.dataset.purpose]: box.checked } });
    if (box.dataset.purpose === "push" && box.checked) enablePush();
    toast("Saved"); screens.privacy();
  }; });
  $("#export").onclick = async () => {
    const blob = await (await api("/me/export", { raw: true })).blob();
    const a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = "my-touchpoints-data.json"; a.click();
  };
  $("#erase").onclick = async () => {
    if (!confirm("Delete your account and everything stored about you? This cannot be undone.")) return;
    await api("/me", { method: "DELETE" }); signOutLocally(); toast("Your account was deleted.");
  };
};

screens.me = async () => {
  const me = await api("/me");
  const qr = me.badge_id ? await (await api("/me/badge.svg", { raw: true })).text() : "";
  view().innerHTML = `<h2>${esc(me.name)}</h2><div class="card"><div class="muted">${esc(me.company || "")} ${esc(me.job_title || "")}</div>
      ${me.badge_id ? `<div class="qr" aria-label="Badge QR code">${qr}</div><p class="muted" style="text-align:center">Badge ${esc(me.badge_id)} — show it at a booth</p>` : ""}</div>
    <form class="card" id="interests"><label>Interests (comma separated)<input id="tags" type="text" value="${esc(me.interests.join(", "))}"></label><button>Save</button></form>
    <div class="card"><button class="secondary" id="out">Sign out</button> <button class="secondary" id="out-all">Sign out everywhere</button></div>`;
  $("#interests").onsubmit = async (e) => { e.preventDefault();
    await api("/me", { method: "PATCH", body: { interests: $("#tags").value.split(",").map((t) => t.trim()).filter(Boolean) } }); toast("Saved"); };
  $("#out").onclick = async () => { await api("/auth/signout", { method: "POST" }).catch(() => {}); signOutLocally(); };
  $("#out-all").onclick = async () => { await api("/auth/signout-everywhere", { method: "POST" }).catch(() => {}); signOutLocally(); };
};

// --- booth (lead capture) -----------------------------------------------------------------------------------
screens.booth = async () => {
  const canScan = "BarcodeDetector" in window && navigator.mediaDevices;
  view().innerHTML = `<h2>Capture a lead</h2>${canScan ? `<div class="card"><video id="cam" playsinline muted></video><button id="scan">Scan badge QR</button></div>` : ""}
    <form class="card" id="manual"><label>Badge id<input id="badge" type="text" required maxlength="64"></label><button>Capture</button></form><div id="result"></div>`;
  const capture = async (badge, source) => {
    try { const lead = await api("/exhibitor/leads", { method: "POST", body: { badge_id: badge, source } });
      $("#result").innerHTML = `<div class="card"><h3>${esc(lead.name)}</h3><p class="muted">${lead.created ? "New lead" : "Already a lead"}${lead.contact_shared ? "" : " · contact not shared yet"}</p>
        <a class="button" href="#lead/${lead.id}">Qualify</a></div>`;
    } catch (err) { $("#result").innerHTML = `<p class="error">${esc(err.message)}</p>`; }
  };
  $("#manual").onsubmit = (e) => { e.preventDefault(); capture($("#badge").value.trim(), "manual"); };
  if (canScan) $("#scan").onclick = async () => {
    const video = $("#cam"); const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream; await video.play();
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    const tick = async () => { const codes = await detector.detect(video).catch(() => []);
      if (codes.length) { stream.getTracks().forEach((t) => t.stop()); capture(codes[0].rawValue.trim(), "qr"); } else if (video.srcObject) requestAnimationFrame(tick); };
    tick();
  };
};

screens.leads = async () => {
  const leads = await api("/exhibitor/leads");
  view().innerHTML = `<div class="row"><h2>Leads (${leads.length})</h2><button class="secondary" id="csv">CSV</button></div>` + leads.map((l) => `
    <a class="card" style="display:block;color:inherit;text-decoration:none" href="#lead/${l.id}"><div class="row"><h3>${esc(l.name)}</h3>
    <span>${l.hot ? "🔥" : ""} ${l.rating ? "★".repeat(l.rating) : ""}</span></div><div class="muted">${esc(l.company || "")} · ${esc(l.source)} · ${when(l.created_at)}</div></a>`).join("");
  $("#csv").onclick = async () => { const blob = await (await api("/exhibitor/leads.csv", { raw: true })).blob();
    const a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = "leads.csv"; a.click(); };
};

screens.lead = async (id) => {
  const [lead, questions] = await Promise.all([api(`/exhibitor/leads/${id}`), api("/exhibitor/questions")]);
  const field = (q) => { const v = lead.answers[q.key] ?? "";
    if (q.kind === "choice") return `<select data-q="${q.key}"><option value=""></option>${q.choices.map((c) => `<option ${c === v ? "selected" : ""}>${esc(c)}</option>`).join("")}</select>`;
    if (q.kind === "yes_no") return `<select data-q="${q.key}" data-kind="bool"><option value=""></option><option value="true" ${v === true ? "selected" : ""}>Yes</option><option value="false" ${v === false ? "selected" : ""}>No</option></select>`;
    return `<input data-q="${q.key}" data-kind="${q.kind}" type="${q.kind === "number" ? "number" : "text"}" value="${esc(v)}">`; };
  view().innerHTML = `<h2>${esc(lead.name)}</h2><form class="card" id="qualify"><div class="stars">${[1, 2, 3, 4, 5].map((n) =>
      `<button type="button" class="${(lead.rating || 0) >= n ? "" : "secondary"}" data-rate="${n}">★</button>`).join("")}</div>
    ${questions.map((q) => `<label>${esc(q.text)}${field(q)}</label>`).join("")}
    <label>Notes<textarea id="notes" rows="3">${esc(lead.notes)}</textarea></label><button>Save</button><p id="msg"></p></form>`;
  let rating = lead.rating;
  view().querySelectorAll("[data-rate]").forEach((b) => { b.onclick = () => { rating = Number(b.dataset.rate);
    view().querySelectorAll("[data-rate]").forEach((x) => x.classList.toggle("secondary", Number(x.dataset.rate) > rating)); }; });
  $("#qualify").onsubmit = async (e) => { e.preventDefault(); const answers = {};
    view().querySelectorAll("[data-q]").forEach((el) => { if (el.value === "") return;
      answers[el.dataset.q] = el.dataset.kind === "bool" ? el.value === "true" : el.dataset.kind === "number" ? Number(el.value) : el.value; });
    try { await api(`/exhibitor/leads/${id}`, { method: "PATCH", body: { rating, notes: $("#notes").value, answers } }); toast("Saved"); }
    catch (err) { $("#msg").innerHTML = `<span class="error">${esc(err.message)}</span>`; } };
};

screens["booth-me"] = async () => {
  const me = await api("/exhibitor/me");
  view().innerHTML = `<h2>${esc(me.exhibitor_name)}</h2><div class="card">${esc(me.email || "")} · ${esc(me.role)}</div>
    <div class="card"><button class="secondary" id="out-all">Sign out everywhere</button></div>`;
  $("#out-all").onclick = async () => { await api("/auth/signout-everywhere", { method: "POST" }).catch(() => {}); signOutLocally(); };
};

// --- live notifications: WebSocket with heartbeats and resume ---------------------------------------------
let socket = null; let backoff = 1000;
function remember(items) { const last = items[items.length - 1]; if (last) store.set("lastId", last.id); }
function setUnread(n) { const el = $("#unread"); el.textContent = n; el.hidden = !n; }
function closeSocket() { if (socket) { socket.onclose = null; socket.close(); socket = null; } }

function openSocket() {
  const tokens = store.get("tokens"); if (!tokens) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(`${proto}//${location.host}${API}/ws`);
  socket.onopen = () => { backoff = 1000; const last = store.get("lastId");
    socket.send(JSON.stringify({ type: "auth", token: store.get("tokens").access_token, ...(last ? { last_id: last } : { since: Date.now() / 1000 }) })); };
  socket.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "hello") $("#status").textContent = "● live";
    else if (msg.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
    else if (msg.type === "notification") onNotification(msg.notification, msg.replayed);
    else if (msg.type === "hot_lead") toast(`Hot lead: ${msg.lead.name}`);
  };
  socket.onclose = async (event) => {
    $("#status").textContent = "○ offline"; socket = null;
    if (event.code === 4401) { try { await refresh(); } catch (e) { return; } }
    setTimeout(openSocket, backoff); backoff = Math.min(backoff * 2, 30000);
  };
}

async function onNotification(note, replayed) {
  if (note.id) store.set("lastId", note.id);
  if (store.get("mode") !== "booth") setUnread(Number($("#unread").textContent || 0) + 1);
  if (!replayed) toast(`${note.title}${note.body ? " — " + note.body : ""}`);
  if (!document.hasFocus() && "Notification" in window && Notification.permission === "granted") {
    const reg = await navigator.serviceWorker?.getRegistration();
    reg?.showNotification(note.title || "Touchpoints", { body: note.body || "", tag: note.id, data: { id: note.id, url: note.url } });
  }
  if (location.hash.startsWith("#inbox")) {
    $("#empty")?.remove(); $("#notes").insertAdjacentHTML("afterbegin", renderNote(note)); bindNotes();
  }
}

async function enablePush() {
  if (!("Notification" in window)) return;
  if ((await Notification.requestPermission()) !== "granted") return;
  const config = await api("/push/config").catch(() => ({ enabled: false }));
  const reg = await navigator.serviceWorker?.ready;
  if (!config.enabled || !reg || !reg.pushManager) return;
  const key = Uint8Array.from(atob(config.public_key.replace(/-/g, "+").replace(/_/g, "/") + "==".slice((config.public_key.length + 2) % 4 || 2)), (c) => c.charCodeAt(0));
  try { const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await api("/me/push-subscriptions", { method: "POST", body: sub.toJSON() });
  } catch (e) { /* no push service reachable (offline, headless): live notifications still work */ }
}

// --- router -------------------------------------------------------------------------------------------------
async function route() {
  const [name, arg] = location.hash.replace(/^#/, "").split("/");
  const booth = store.get("mode") === "booth";
  const signedIn = !!store.get("tokens");
  const screen = !signedIn ? "signin" : screens[name] ? name : booth ? "booth" : "agenda";
  $("#tabs").hidden = !signedIn || booth; $("#booth-tabs").hidden = !signedIn || !booth;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.tab === screen));
  try { await screens[screen](arg); } catch (err) { view().innerHTML = `<p class="error">${esc(err.message)}</p>`; }
}

async function start() {
  const m = location.hash.match(/^#signin=([^.]+)\.(\d{6})$/); // a code from a kiosk's QR
  if (m) { try { store.set("tokens", await api("/auth/token", { method: "POST", body: { login_id: m[1], code: m[2] } })); } catch (e) { toast(e.message); } location.hash = ""; }
  if (store.get("tokens")) { closeSocket(); openSocket(); if (location.hash === "#signin") location.hash = ""; }
  route();
}

window.addEventListener("hashchange", route);
if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js", { scope: "/app/" }).catch(() => {});
start();
