// Panels refreshed from the REST API on a slow timer: analytics, rules, leads and CRM, attendee explorer.
import { api, load } from "./api.js";
import { bars } from "./charts.js";
import { clock, dwell, el, num, pct } from "./format.js";

export async function refreshSessions(root, panel) {
  const rows = await load("/api/v1/analytics/sessions", panel);
  if (!rows) return;
  bars(root, rows.map((s) => {
    const fill = s.capacity ? s.attended / s.capacity : null;
    return { key: s.session_id, name: s.title, value: s.attended, max: Math.max(s.capacity ?? 0, s.registered, s.attended),
      mark: s.registered || null, cls: fill >= 1 ? "bad" : fill >= 0.9 ? "warn" : "",
      text: `${s.attended}${s.capacity ? ` / ${s.capacity}` : ""} · reg ${s.registered}` };
  }), { empty: "No sessions in the agenda." });
}

export async function refreshBooths(root, panel, zoneName = (id) => id) {
  const rows = await load("/api/v1/analytics/booths", panel);
  if (!rows) return;
  rows.sort((a, b) => b.unique_visitors - a.unique_visitors);
  bars(root, rows.slice(0, 15).map((b) => ({ key: b.key, name: zoneName(b.key), value: b.unique_visitors,
    text: `${b.unique_visitors} · ${dwell(b.average_dwell_s)}` })), { empty: "No booth visits yet." });
}

export async function refreshTop(root, panel, onPick) {
  const rows = await load("/api/v1/analytics/top-attendees?n=10", panel);
  if (!rows) return;
  root.replaceChildren(...rows.map((r) => el("li", {}, el("button", { onclick: () => onPick(r.attendee_id) }, r.name ?? r.attendee_id),
    el("span", { class: "score" }, r.score.toFixed(1)))));
  if (!rows.length) root.replaceChildren(el("li", { class: "muted" }, "No scores yet."));
}

export async function refreshFunnel(root, panel) {
  const rows = await load("/api/v1/analytics/funnel", panel);
  if (!rows) return;
  const top = Math.max(1, rows[0]?.reached ?? 1);
  const nodes = [];
  rows.forEach((s, i) => {
    if (i > 0) nodes.push(el("div", { class: "conv" }, `↓ ${pct(s.conversion_from_previous)}`));
    const width = 40 + 60 * (s.reached / top);
    nodes.push(el("div", { class: "step", style: `width:${width}%;opacity:${1 - i * 0.1}` }, el("span", {}, s.label), el("b", {}, num(s.reached))));
  });
  root.replaceChildren(...nodes);
}

// Rules: fired / suppressed by reason / delivered / opened / converted; pause, resume, edit (a new version).
export class Rules {
  constructor({ table, disturbance, editor, panel }) {
    Object.assign(this, { tbody: table.querySelector("tbody"), disturbance, editor, panel });
    this.editing = null;
    editor.querySelector("#rule-cancel").addEventListener("click", () => { editor.hidden = true; });
    editor.querySelector("#rule-save").addEventListener("click", () => this.save());
  }

  async refresh() {
    const rules = await load("/api/v1/rules", this.panel);
    if (!rules) return;
    const metrics = await load("/api/v1/rule-metrics");
    const byRule = metrics?.by_rule ?? {};
    const d = metrics?.disturbance;
    this.disturbance.textContent = d ? `disturbance: ${d.mean?.toFixed?.(2) ?? "–"} pushes per attendee-day (max ${d.max ?? "–"})` : "metrics not available";
    if (!rules.length) { this.tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No rules yet."))); return; }
    this.tbody.replaceChildren(...rules.map((r) => {
      const m = byRule[r.id];
      const suppressed = m ? Object.entries(m.suppressed).map(([k, v]) => `${k} ${v}`).join(", ") : "";
      const cell = (v) => el("td", { class: "num" }, m ? num(v) : "–");
      return el("tr", {},
        el("td", {}, el("b", {}, r.definition?.name ?? r.id), " ", el("span", { class: `pill ${r.enabled ? "online" : "paused"}` }, r.enabled ? "active" : "paused"),
          el("div", { class: "muted" }, `${r.id} · v${r.version}`)),
        cell(m?.fired), el("td", { class: "num", title: suppressed }, m ? `${num(m.suppressed_total)}` : "–", m && suppressed ? el("div", { class: "muted" }, suppressed) : null),
        cell(m?.delivered), el("td", { class: "num" }, m ? `${num(m.opened)} (${pct(m.open_rate)})` : "–"),
        el("td", { class: "num" }, m ? `${num(m.converted)} (${pct(m.conversion_rate)})` : "–"),
        el("td", {}, el("button", { class: "small ghost", onclick: () => this.toggle(r) }, r.enabled ? "Pause" : "Resume"), " ",
          el("button", { class: "small ghost", onclick: () => this.edit(r) }, "Edit")));
    }));
  }

  async toggle(rule) {
    await api(`/api/v1/rules/${encodeURIComponent(rule.id)}/${rule.enabled ? "pause" : "resume"}`, { method: "POST" });
    this.refresh();
  }

  edit(rule) {
    this.editing = rule;
    this.editor.hidden = false;
    this.editor.querySelector("#rule-json").value = JSON.stringify(rule.definition, null, 2);
    this.editor.querySelector("#rule-error").textContent = "";
  }

  async save() {
    const error = this.editor.querySelector("#rule-error");
    try {
      const body = JSON.parse(this.editor.querySelector("#rule-json").value);
      await api(`/api/v1/rules/${encodeURIComponent(this.editing.id)}`, { method: "PUT", body });
      this.editor.hidden = true;
      this.refresh();
    } catch (e) { error.textContent = e.message; }
  }
}

export async function refreshLeads(crmRoot, leadsRoot, panel) {
  const status = await load("/api/v1/crm/status");
  if (status) {
    const failed = (status.records.failed ?? 0) + (status.records.parked ?? 0);
    crmRoot.replaceChildren(
      el("div", { class: "fig" }, el("b", {}, status.lag_s == null ? "–" : dwell(status.lag_s)), "sync lag"),
      el("div", { class: `fig ${failed ? "bad" : ""}` }, el("b", {}, num(failed)), "failed / parked"),
      el("div", { class: "fig" }, el("b", {}, num(status.records.synced ?? 0)), status.worker_running ? "synced" : "synced (sync off)"));
  } else crmRoot.replaceChildren(el("span", { class: "unavailable" }, "CRM sync status not available"));
  const leads = await load("/api/v1/dashboard/leads", panel);
  if (leads) bars(leadsRoot, leads.map((l) => ({ key: l.exhibitor_id, name: l.name, value: l.leads })), { empty: "No exhibitors." });
}

// The attendee explorer: search, then a journey timeline with the score and its breakdown.
const KIND_COLOURS = { check_in: "#2f9e44", session: "#3b5bdb", booth_visit: "#f08c00", lead_scan: "#e03131", registration: "#868e96" };

export class Explorer {
  constructor({ form, input, results, journey }) {
    Object.assign(this, { results, journey, input });
    form.addEventListener("submit", (e) => { e.preventDefault(); this.search(input.value); });
  }

  async search(q) {
    const page = await load(`/api/v1/attendees?q=${encodeURIComponent(q)}&order=score&limit=50`);
    if (!page) return;
    this.results.replaceChildren(...page.items.map((a) => el("li", {}, el("button", { "data-attendee": a.id, onclick: () => this.show(a.id) },
      el("span", {}, a.name, el("div", { class: "muted" }, a.company ?? "")), a.grade ? el("span", { class: "grade" }, a.grade) : null))));
    if (!page.items.length) this.results.replaceChildren(el("li", { class: "muted" }, "Nobody matches."));
  }

  async show(id) {
    this.results.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b.dataset.attendee === id));
    const [person, journey] = await Promise.all([load(`/api/v1/attendees/${encodeURIComponent(id)}`), load(`/api/v1/attendees/${encodeURIComponent(id)}/journey`)]);
    if (!journey) { this.journey.replaceChildren(el("p", { class: "unavailable" }, "Journey not available.")); return; }
    const lines = journey.score_breakdown?.lines ?? [];
    const byKind = {};
    for (const l of lines) byKind[l.kind] = (byKind[l.kind] ?? 0) + Number(l.points);
    const breakdown = el("div", { class: "bars" });
    bars(breakdown, Object.entries(byKind).sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ key: k, name: k.replaceAll("_", " "), value: Math.max(0, v), text: v.toFixed(1) })),
      { empty: "No points yet." });
    this.journey.replaceChildren(
      el("div", { class: "journey-head" }, el("div", {}, el("h2", {}, person?.name ?? id), el("div", { class: "muted" }, [person?.company, journey.stage].filter(Boolean).join(" · "))),
        el("div", { class: "big" }, Number(journey.score).toFixed(1)), el("span", { class: "grade" }, journey.grade)),
      el("p", { class: "muted" }, journey.summary),
      el("div", { class: "journey-cols" },
        el("ol", { class: "timeline" }, ...journey.entries.map((e) => el("li", { style: `--kind:${KIND_COLOURS[e.kind] ?? "#3b5bdb"}` },
          el("time", {}, clock(e.at)), el("b", {}, e.kind.replaceAll("_", " ")), e.zone_id ? ` · ${e.zone_id}` : "", e.dwell_s ? ` · ${dwell(e.dwell_s)}` : ""))),
        el("div", {}, el("h2", {}, "Score breakdown"), breakdown)));
  }
}
