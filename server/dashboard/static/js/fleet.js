// The device fleet: one table row per device, updated in place from the live feed; alerts on transitions.
import { api } from "./api.js";
import { ago, el } from "./format.js";

export const SPOOL_WARN = 100;  // messages waiting on an edge's disk: its uplink is failing or slow
export const SPOOL_GROWTH = 3;  // this many heartbeats in a row with a growing spool also raise an alert
export const HOT_C = 75;  // a Raspberry Pi throttles from 80 °C: warn before it does

export class Fleet {
  constructor({ table, summary, alerts, zoneName }) {
    Object.assign(this, { tbody: table.querySelector("tbody"), summary, alerts, zoneName });
    this.devices = new Map();
    this.rows = new Map();
    this.growth = new Map();
    this.now = Date.now() / 1000;
  }

  apply(changes, { initial = false } = {}) {
    for (const [id, device] of Object.entries(changes)) {
      const before = this.devices.get(id);
      if (device === null) { this.devices.delete(id); this.rows.get(id)?.remove(); this.rows.delete(id); continue; }
      this.devices.set(id, device);
      if (!initial) this.alertOn(id, before, device);
      this.render(id, device);
    }
    this.renderSummary();
  }

  alertOn(id, before, d) {
    const name = d.name || id;
    if (before?.state !== "offline" && d.state === "offline") this.alerts.add("bad", `${name} went offline`, `device:${id}`);
    if (before?.state === "offline" && d.state === "online") this.alerts.add("ok", `${name} is back online`, `device:${id}`);
    const spool = d.spool_depth ?? 0, prev = before?.spool_depth ?? 0;
    const streak = spool > prev ? (this.growth.get(id) ?? 0) + 1 : 0;
    this.growth.set(id, streak);
    if ((spool >= SPOOL_WARN && prev < SPOOL_WARN) || streak === SPOOL_GROWTH) {
      this.alerts.add("warn", `${name}: spool growing (${spool} waiting)`, `spool:${id}`);
    }
  }

  render(id, d) {
    let row = this.rows.get(id);
    if (!row) {
      row = el("tr", { "data-device": id }, ...Array.from({ length: 8 }, () => el("td")));
      row.children[4].className = "num spool";
      row.children[5].className = "num";
      this.rows.set(id, row);
      const after = [...this.rows.keys()].sort().find((other) => other > id && this.rows.get(other).isConnected);
      this.tbody.insertBefore(row, after ? this.rows.get(after) : null);
    }
    const c = row.children;
    c[0].textContent = d.name ? `${d.name}` : id;
    c[0].title = id;
    c[1].textContent = this.zoneName(d.zone_id);
    c[2].replaceChildren(el("span", { class: `pill ${d.state}` }, d.state));
    c[3].textContent = ago(d.last_seen_at, this.now);
    c[3].dataset.t = d.last_seen_at ?? "";
    c[4].textContent = d.spool_depth ?? "–";
    c[5].textContent = d.cpu_temp_c == null ? "–" : Number(d.cpu_temp_c).toFixed(0);
    c[5].style.color = d.cpu_temp_c >= HOT_C ? "var(--bad)" : "";
    c[6].textContent = d.nfc_state ?? "–";
    c[7].textContent = d.ble_state ?? "–";
    row.className = `${d.state === "offline" ? "offline" : ""} ${(d.spool_depth ?? 0) >= SPOOL_WARN ? "spool-warn" : ""}`;
  }

  tick(now) {  // "last seen" ages every second without a message per device
    this.now = now;
    for (const row of this.rows.values()) {
      const t = row.children[3].dataset.t;
      row.children[3].textContent = ago(t === "" ? null : Number(t), now);
    }
  }

  online() { return [...this.devices.values()].filter((d) => d.state === "online").length; }

  renderSummary() {
    const offline = [...this.devices.values()].filter((d) => d.state === "offline").length;
    this.summary.textContent = `${this.online()} online · ${offline} offline · ${this.devices.size} total`;
  }
}

export function enrolment(form, select, result) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const code = await api("/api/v1/devices/enrolment-codes", { method: "POST", body: { zone_id: select.value || null } });
      const until = new Date(code.expires_at * 1000).toLocaleString();
      result.replaceChildren("Type this code on the new device: ", el("code", {}, code.code), ` (single use, valid until ${until})`);
    } catch (error) {
      result.textContent = `Could not issue a code: ${error.message}`;
    }
    result.hidden = false;
  });
}

export function batteries(root, rows) {
  if (!rows || !rows.length) { root.textContent = "No battery readings (Eddystone TLM) yet."; return; }
  root.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Beacon"), el("th", {}, "Attendee"), el("th", {}, "Battery"))),
    el("tbody", {}, rows.slice(0, 50).map((b) => el("tr", {}, el("td", {}, b.beacon_id), el("td", {}, b.attendee_id ?? "–"),
      el("td", { class: "num", style: b.battery_mv < 2600 ? "color:var(--bad)" : "" }, `${(b.battery_mv / 1000).toFixed(2)} V`))))));
}
