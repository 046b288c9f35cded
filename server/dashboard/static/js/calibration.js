// The survey walk page, made for a phone: pick a zone, "Start here", ~30 s, "Done"; then Finish & fit.
// The server stamps every leg with its own clock and keeps the walk, so a reloaded page carries on.
import { api, token } from "./api.js";
import { clock, el } from "./format.js";
import { scannerRow } from "./confidence.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;  // one edge scan window: "heard now" and the stop's timer stay current
const AISLE = "";  // surveyed_s key of aisle spots (zone_id null)

let zones = [];
let walk = null;
let offset = 0;  // server clock - this phone's clock, from the last answer
let poller = null;

const serverNow = () => Date.now() / 1000 + offset;
const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const zoneName = (id) => (id === null || id === AISLE ? "Aisle spot" : zones.find((z) => z.id === id)?.name ?? id);

function show(section) {
  for (const id of ["start-card", "walk", "result"]) $(id).hidden = id !== section;
}

async function signIn(candidate) {
  try {
    return await api("/api/v1/event", { bearer: candidate });
  } catch (error) {
    if (error.status === 401) throw new Error("That token is not valid (or has expired).");
    if (error.status === 403) throw new Error("This token may not survey (organizers and staff only).");
    if (error.status === 404) return { name: "Event not set up yet" };
    throw error;
  }
}

async function start(event) {
  $("signin").hidden = true;
  $("app").hidden = $("topbar").hidden = false;
  $("event-name").textContent = event.name;
  zones = ((await api("/api/v1/venue"))?.zones ?? []).slice().sort((a, b) => a.name.localeCompare(b.name));
  try {
    setWalk(await api("/api/v1/calibration/walks/current"));
  } catch (error) {
    if (error.status !== 404) throw error;
    await showStart();
  }
}

async function showStart() {
  stopPolling();
  walk = null;
  show("start-card");
  const status = await api("/api/v1/calibration").catch(() => null);
  const line = $("current-status");
  if (!status) { line.textContent = "The calibration in force could not be read."; return; }
  $("current-scanners").hidden = true;
  if (!status.calibrated) {
    line.replaceChildren(el("span", { class: "pill sign-uncalibrated" }, "not calibrated"), " Presence uses the default radio settings.");
    return;
  }
  const c = status.calibration;
  const fitted = status.scanners.filter((s) => s.sign === "calibrated").length;
  line.replaceChildren(el("span", { class: "pill sign-calibrated" }, "calibrated"),
    ` ${clock(c.fitted_at)} by ${c.created_by} · ${fitted} of ${status.scanners.length} scanners fitted`);
  const table = $("current-scanners");
  table.hidden = false;
  table.querySelector("tbody").replaceChildren(...status.scanners.map((s) => scannerRow(s, zoneName)));
}

function setWalk(next) {
  walk = next;
  offset = next.now - Date.now() / 1000;
  show("walk");
  render();
  if (!poller) poller = setInterval(poll, POLL_MS);
}

function stopPolling() { if (poller) clearInterval(poller); poller = null; }

async function poll() {
  try { setWalk(await api("/api/v1/calibration/walks/current")); } catch (error) {
    if (error.status === 404) stopPolling();
  }
}

function render() {
  const now = serverNow();
  const heard = $("heard");
  heard.dataset.state = walk.heard_now_by > 0 ? "ok" : walk.last_heard_at != null ? "stale" : "waiting";
  const here = walk.open_leg ? ` · ${walk.readings_here} readings at this stop` : "";
  $("heard-text").textContent = walk.heard_now_by > 0
    ? `Badge heard by ${walk.heard_now_by} scanner${walk.heard_now_by === 1 ? "" : "s"} now${here}`
    : walk.last_heard_at != null ? `Badge not heard in the last 10 s (last ${clock(walk.last_heard_at, true)}): is it on?`
      : "Badge not heard: switch it on and hold it at chest height";
  const open = walk.open_leg;
  $("here").hidden = !open;
  if (open) {
    const stood = now - open.started_at;
    $("here-name").textContent = zoneName(open.zone_id);
    $("here-timer").textContent = mmss(stood);
    $("here-fill").style.width = `${Math.min(100, (stood / walk.target_s) * 100)}%`;
    $("here-fill").classList.toggle("complete", stood >= walk.target_s);
  }
  const done = zones.filter((z) => (walk.surveyed_s[z.id] ?? 0) >= walk.target_s).length;
  $("walk-summary").textContent = `${done} of ${zones.length} zones done · ${walk.legs.length} stops · walking for ${mmss(now - walk.started_at)}`;
  const list = $("zones");
  const rows = [...zones.map((z) => ({ id: z.id, name: z.name, kind: z.kind })), { id: null, name: "Aisle spot", kind: "aisle" }];
  list.replaceChildren(...rows.map((z) => zoneRow(z, open, now)));
}

function zoneRow(z, open, now) {
  const key = z.id ?? AISLE;
  const here = open && open.zone_id === z.id;
  const seconds = (walk.surveyed_s[key] ?? 0);
  const share = z.id === null ? Math.min(1, seconds / (walk.target_s * 2)) : Math.min(1, seconds / walk.target_s);
  const state = here ? "here" : share >= 1 ? "done" : seconds > 0 ? "partial" : "todo";
  const button = here
    ? el("span", { class: "pill here-pill" }, "you are here")
    : el("button", { class: "small", "data-zone": z.id ?? "", onclick: () => step("enter", z.id) }, z.id === null ? "Start here" : share >= 1 ? "Again" : "Start here");
  return el("li", { class: `zone-row ${state}`, "data-zone": z.id ?? "" },
    el("div", { class: "zone-name" }, el("b", {}, z.name), el("span", { class: "muted kind" }, z.kind)),
    el("div", { class: "track" }, el("div", { class: `fill ${state}`, style: `width:${Math.round(share * 100)}%` })),
    el("span", { class: "secs" }, `${Math.round(seconds)} s`),
    button);
}

async function step(action, zoneId) {
  $("walk-error").textContent = "";
  try {
    const body = action === "enter" ? { zone_id: zoneId } : undefined;
    setWalk(await api(`/api/v1/calibration/walks/${walk.id}/${action}`, { method: "POST", body }));
    if (action === "enter") window.scrollTo({ top: 0, behavior: "smooth" });
  } catch (error) { $("walk-error").textContent = error.message; }
}

async function fit() {
  $("fit-button").disabled = true;
  $("walk-error").textContent = "";
  try {
    const result = await api(`/api/v1/calibration/walks/${walk.id}/finish`, { method: "POST" });
    stopPolling();
    showResult(result);
  } catch (error) { $("walk-error").textContent = error.message; } finally { $("fit-button").disabled = false; }
}

function showResult(result) {
  show("result");
  const banner = $("result-banner");
  banner.className = `banner ${result.in_force ? "ok" : "bad"}`;
  banner.textContent = `${result.message} (${result.sightings} readings of the badge)`;
  const tbody = $("result-scanners").querySelector("tbody");
  tbody.replaceChildren(...(result.scanners.length ? result.scanners.map((s) => scannerRow(s, zoneName))
    : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No scanner could be fitted."))]));
  $("result-problems").replaceChildren(...(result.problems.length ? result.problems.map((p) => el("li", {}, p))
    : [el("li", { class: "muted" }, "None.")]));
}

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("start-error").textContent = "";
  try {
    setWalk(await api("/api/v1/calibration/walks", { method: "POST", body: { badge: $("badge").value.trim() } }));
  } catch (error) { $("start-error").textContent = error.message; }
});
$("done-button").addEventListener("click", () => step("leave"));
$("fit-button").addEventListener("click", fit);
$("abandon-button").addEventListener("click", async () => {
  if (!confirm("Abandon this walk? Nothing is fitted; the calibration in force stays.")) return;
  await api(`/api/v1/calibration/walks/${walk.id}`, { method: "DELETE" });
  await showStart();
});
$("again-button").addEventListener("click", showStart);
$("signout").addEventListener("click", () => { token.clear(); location.reload(); });
setInterval(() => { if (walk && !$("walk").hidden) render(); }, 500);  // the stop's timer ticks between polls

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = $("token").value.trim();
  try {
    const ev = await signIn(candidate);
    token.set(candidate);
    await start(ev);
  } catch (error) { $("signin-error").textContent = error.message; }
});

const saved = token.get();
if (saved) signIn(saved).then(start, () => { token.clear(); $("signin").hidden = false; });
else $("signin").hidden = false;
