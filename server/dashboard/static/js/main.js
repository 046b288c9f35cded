// The dashboard page: sign in, build the panels once, then apply live diffs and refresh slow panels.
import { api, load, token } from "./api.js";
import { lineChart } from "./charts.js";
import { batteries, enrolment, Fleet } from "./fleet.js";
import { FloorPlan, legend, Replay } from "./floorplan.js";
import { clock, el, num, setTimeZone } from "./format.js";
import { refreshConfidence } from "./confidence.js";
import { connectLive } from "./live.js";
import { Explorer, refreshBooths, refreshFunnel, refreshLeads, refreshSessions, refreshTop, Rules } from "./panels.js";

const $ = (id) => document.getElementById(id);
const SLOW_REFRESH_MS = 15000;  // analytics are database aggregates: every 15 s is fresh enough to act on
const REPLAY_STEP_S = 60;
const MAX_ALERTS = 50;

class Alerts {
  constructor(list, count) { Object.assign(this, { list, count }); this.recent = new Map(); this.n = 0; }
  add(severity, text, key) {
    const now = Date.now();
    if (key && this.recent.get(key) === text) return;  // the same condition twice in a row is one alert
    if (key) this.recent.set(key, text);
    this.list.querySelector(".empty")?.remove();
    this.list.prepend(el("li", { class: `alert ${severity}` }, el("span", { class: `sev ${severity}` }), el("span", {}, text),
      el("time", {}, new Date(now).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }))));
    while (this.list.children.length > MAX_ALERTS) this.list.lastChild.remove();
    if (severity !== "ok") this.n += 1;
    this.count.textContent = String(this.n);
    this.count.classList.toggle("hot", this.n > 0);
  }
}

function showSignIn(message = "") {
  $("signin").hidden = false;
  $("app").hidden = $("topbar").hidden = true;
  $("signin-error").textContent = message;
}

async function signIn(candidate) {
  try {
    return await api("/api/v1/event", { bearer: candidate });
  } catch (error) {
    if (error.status === 401) throw new Error("That token is not valid (or has expired).");
    if (error.status === 403) throw new Error("This token may not open the dashboard (organizers and staff only).");
    if (error.status === 404) return { id: "?", name: "Event not set up yet", timezone: undefined };
    throw error;
  }
}

async function start(event) {
  $("signin").hidden = true;
  $("app").hidden = $("topbar").hidden = false;
  $("event-name").textContent = event.name;
  document.title = `${event.name} · Touchpoints`;
  setTimeZone(event.timezone);

  const alerts = new Alerts($("alerts"), $("alerts-count"));
  const venue = await load("/api/v1/venue");
  const zones = venue?.zones ?? [];
  const zoneNames = new Map(zones.map((z) => [z.id, z.name]));
  for (const z of zones) $("enrol-zone").append(el("option", { value: z.id }, z.name));
  const plan = new FloorPlan($("floor-svg"), zones);
  legend($("floor-legend"));
  const live = { occupancy: {}, counters: {}, now: Date.now() / 1000 };
  const replay = new Replay({
    slider: $("replay-slider"), label: $("replay-label"), liveButton: $("replay-live"), playButton: $("replay-play"), plan,
    getLive: () => live.occupancy,
    fetchSeries: () => {
      const t1 = Math.floor(live.now / REPLAY_STEP_S) * REPLAY_STEP_S;
      const t0 = Math.max(event.starts_at ?? t1 - 3600, t1 - 12 * 3600);
      return load(`/api/v1/analytics/occupancy?t0=${t0}&t1=${t1}&step_s=${REPLAY_STEP_S}`);
    },
  });
  const fleet = new Fleet({ table: $("fleet"), summary: $("fleet-summary"), alerts, zoneName: (id) => zoneNames.get(id) ?? id ?? "–" });
  enrolment($("enrol-form"), $("enrol-zone"), $("enrol-result"));
  const warned = new Set();

  function applyOccupancy(changes) {
    Object.assign(live.occupancy, changes);
    if (replay.live) plan.update(changes);
    const crowded = plan.crowded();
    $("kpi-full").textContent = String(crowded.length);
    $("kpi-full").parentElement.classList.toggle("alert", crowded.some((c) => c.share >= 1));
    for (const { zone, present, share } of crowded) {
      const level = share >= 1 ? "full" : "warn";
      if (warned.has(`${zone.id}:${level}`)) continue;
      warned.add(`${zone.id}:${level}`);
      alerts.add(level === "full" ? "bad" : "warn", `${zone.name} is at ${Math.round(share * 100)} % (${present} of ${zone.capacity})`);
    }
  }

  function applyCounters(changes) {
    Object.assign(live.counters, changes);
    $("kpi-on-site").textContent = num(live.counters.on_site);
    $("kpi-checked-in").textContent = num(live.counters.checked_in);
    $("kpi-sessions").textContent = num(live.counters.sessions_running);
  }

  function onMessage(message) {
    if (message.type === "snapshot") {
      $("role-badge").textContent = message.role;
      if (message.role === "staff") document.querySelectorAll("[data-role=organizer]").forEach((n) => { n.hidden = true; });
    }
    if (message.now) { live.now = message.now; $("clock").textContent = clock(message.now, true); fleet.tick(message.now); }
    if (message.occupancy) applyOccupancy(message.occupancy);
    if (message.counters) applyCounters(message.counters);
    if (message.devices) {
      fleet.apply(message.devices, { initial: message.type === "snapshot" });
      $("kpi-devices").textContent = `${fleet.online()} / ${fleet.devices.size}`;
    }
  }

  const explorer = new Explorer({ form: $("search-form"), input: $("search-q"), results: $("search-results"), journey: $("journey") });
  const rules = new Rules({ table: $("rules"), disturbance: $("disturbance"), editor: $("rule-editor"), panel: $("panel-rules") });
  const checkins = lineChart($("chart-checkins"), { label: "checked in" });

  async function refreshSlow() {
    const organizer = !$("panel-sessions").hidden;
    const tasks = [load("/api/v1/dashboard/beacons").then((rows) => batteries($("beacons"), rows))];
    const confidence = { banner: $("calib-banner"), signs: $("confidence-signs"), scanners: $("confidence-scanners"),
      unsure: $("unsure-zones"), panel: $("panel-confidence") };
    tasks.push(refreshConfidence(confidence, plan, (id) => zoneNames.get(id) ?? id ?? "–"));
    if (organizer) {
      tasks.push(
        refreshSessions($("sessions"), $("panel-sessions")), refreshBooths($("booths"), $("panel-booths"), (id) => zoneNames.get(id) ?? id),
        refreshTop($("top-attendees"), $("panel-top"), (id) => explorer.show(id)), refreshFunnel($("funnel"), $("panel-funnel")),
        rules.refresh(), refreshLeads($("crm"), $("leads"), $("panel-leads")),
        load("/api/v1/dashboard/check-ins?step_s=300", $("panel-checkins")).then((s) => { if (s && checkins) checkins.setData([s.times, s.checked_in]); }),
        load("/api/v1/analytics/attendance").then((a) => { if (a) $("kpi-checked-in-sub").textContent = `of ${num(a.registered)} registered`; }),
      );
    }
    await Promise.allSettled(tasks);
  }

  connectLive({
    token: token.get(), onMessage,
    onState: (state) => { $("live-status").dataset.state = state; $("live-status").querySelector(".label").textContent = state; },
    onDenied: () => { token.clear(); showSignIn("Your session ended: sign in again."); },
  });
  await refreshSlow();
  setInterval(refreshSlow, SLOW_REFRESH_MS);
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = $("token").value.trim();
  try {
    const ev = await signIn(candidate);
    token.set(candidate);
    start(ev);
  } catch (error) { $("signin-error").textContent = error.message; }
});
$("signout").addEventListener("click", () => { token.clear(); location.reload(); });
window.addEventListener("touchpoints:signed-out", () => { token.clear(); location.reload(); });

const saved = token.get();
if (saved) signIn(saved).then(start, () => { token.clear(); showSignIn(); });
else showSignIn();
