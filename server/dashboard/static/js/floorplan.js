// The venue's floor plan as SVG: one rectangle per zone, coloured by how full it is (a heatmap), with the
// head count on it. Built once from /api/v1/venue; updates only touch the changed zones' fill and text.
import { clock } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
export const WARN_SHARE = 0.9;  // amber outline from 90 % of capacity: time to send stewards
export const FULL_SHARE = 1.0;  // red, pulsing: at or over capacity (fire code)
const UNCAPPED_SCALE = 25;  // zones without a capacity (halls, corridors): this many people reads as "busy"
const RAMP = [[0, [231, 236, 247]], [0.25, [165, 216, 255]], [0.55, [77, 171, 247]], [0.8, [250, 176, 5]], [1, [224, 49, 49]]];
const FLOOR_GAP = 6;

export function heat(share) {
  const s = Math.max(0, Math.min(1, share));
  for (let i = 1; i < RAMP.length; i++) {
    const [b, cb] = RAMP[i];
    const [a, ca] = RAMP[i - 1];
    if (s <= b) {
      const t = (s - a) / (b - a);
      return `rgb(${ca.map((c, j) => Math.round(c + (cb[j] - c) * t)).join(",")})`;
    }
  }
  return "rgb(224,49,49)";
}

export function legend(node) {
  const stops = RAMP.map(([at, c]) => `rgb(${c.join(",")}) ${at * 100}%`).join(",");
  node.innerHTML = `<span>empty</span><span class="ramp" style="background:linear-gradient(90deg,${stops})"></span>` +
    `<span>full</span><span class="sw" style="border-color:var(--warn)"></span><span>≥ 90 %</span>` +
    `<span class="sw" style="border-color:var(--bad)"></span><span>over capacity</span>` +
    `<span class="sw unsure"></span><span>presence unsure</span>`;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export class FloorPlan {
  constructor(root, zones) {
    this.root = root;
    this.zones = new Map();
    this.counts = {};
    const floors = [...new Set(zones.map((z) => z.floor ?? 0))].sort((a, b) => a - b);
    let offsetY = 0, width = 10;
    root.replaceChildren();
    for (const floor of floors) {
      const onFloor = zones.filter((z) => (z.floor ?? 0) === floor);
      const top = Math.min(...onFloor.map((z) => z.y));
      const bottom = Math.max(...onFloor.map((z) => z.y + z.height));
      width = Math.max(width, ...onFloor.map((z) => z.x + z.width));
      if (floors.length > 1) root.append(Object.assign(svg("text", { x: 0, y: offsetY + 2, class: "floor-label" }), { textContent: `Floor ${floor}` }));
      const shift = offsetY + (floors.length > 1 ? 3 : 0) - top;
      // Big rooms first, booths on top: a booth inside a hall stays visible and clickable.
      for (const z of [...onFloor].sort((a, b) => b.width * b.height - a.width * a.height)) this.addZone(z, shift);
      offsetY += bottom - top + FLOOR_GAP + (floors.length > 1 ? 3 : 0);
    }
    root.setAttribute("viewBox", `-1 -1 ${width + 2} ${offsetY - FLOOR_GAP + 2}`);
  }

  addZone(z, shift) {
    const g = svg("g", { class: `zone kind-${z.kind}`, "data-zone": z.id });
    const rect = svg("rect", { x: z.x, y: z.y + shift, width: z.width, height: z.height, rx: 0.6, fill: heat(0) });
    const title = svg("title", {});
    const small = z.width < 9 || z.height < 6;
    const name = svg("text", { x: z.x + 0.8, y: z.y + shift + 2.4, class: "name" });
    // Small zones (booths) get a short label ("B7" for "Booth 7: Quantix"); the full name is in the tooltip.
    name.textContent = small ? z.name.split(":")[0].replace(/^Booth\s*/i, "B") : z.name;
    const count = svg("text", { x: z.x + z.width / 2, y: z.y + shift + z.height / 2 + 1.6, "text-anchor": "middle", class: "count" });
    count.textContent = "0";
    g.append(rect, title, name, count);
    this.root.append(g);
    this.zones.set(z.id, { zone: z, g, rect, title, count, present: -1 });
    this.paint(z.id, 0);
  }

  // Only zones whose count changed are repainted (a CSS transition animates the colour).
  update(counts, { replace = false } = {}) {
    if (replace) for (const id of this.zones.keys()) if (!(id in counts)) counts[id] = 0;
    for (const [id, present] of Object.entries(counts)) this.paint(id, present ?? 0);
  }

  paint(id, present) {
    const entry = this.zones.get(id);
    if (!entry || entry.present === present) return;
    entry.present = present;
    const { zone, g, rect, title, count } = entry;
    const share = zone.capacity ? present / zone.capacity : present / UNCAPPED_SCALE;
    rect.setAttribute("fill", heat(share));
    count.textContent = String(present);
    const capped = Boolean(zone.capacity);
    g.classList.toggle("warn", capped && share >= WARN_SHARE && share < FULL_SHARE);
    g.classList.toggle("full", capped && share >= FULL_SHARE);
    g.classList.toggle("dark", share > 0.62);
    title.textContent = `${zone.name}: ${present}${capped ? ` of ${zone.capacity} (${Math.round(share * 100)} %)` : ""}` +
      (entry.unsure ? `\nPresence unsure: ${entry.unsure}` : "");
  }

  // Zones where presence is unsure (server/domain/presence_confidence.py): a dashed outline, reasons in the tooltip.
  markUnsure(ids, reasons = {}) {
    for (const [id, entry] of this.zones) {
      const unsure = ids.has(id) ? (reasons[id] ?? []).join("; ") || "yes" : "";
      entry.g.classList.toggle("unsure", Boolean(unsure));
      if (entry.unsure === unsure) continue;
      entry.unsure = unsure;
      const present = entry.present;
      entry.present = -1;
      this.paint(id, Math.max(0, present));
    }
  }

  // Zones at or over WARN_SHARE: the KPI and the alerts read this.
  crowded() {
    const out = [];
    for (const { zone, present } of this.zones.values()) {
      if (zone.capacity && present / zone.capacity >= WARN_SHARE) out.push({ zone, present, share: present / zone.capacity });
    }
    return out;
  }
}

// The time slider: "live" by default; dragging (or play) shows the day's occupancy series instead.
export class Replay {
  constructor({ slider, label, liveButton, playButton, plan, fetchSeries, getLive }) {
    Object.assign(this, { slider, label, liveButton, playButton, plan, fetchSeries, getLive });
    this.series = null;
    this.playing = null;
    slider.addEventListener("input", () => this.show(Number(slider.value)));
    liveButton.addEventListener("click", () => this.goLive());
    playButton.addEventListener("click", () => this.togglePlay());
  }

  get live() { return this.series === null; }

  async ensureSeries() {
    if (this.series) return true;
    const series = await this.fetchSeries();
    if (!series || !series.times.length) { this.label.textContent = "no history yet"; return false; }
    this.series = series;
    this.slider.max = String(series.times.length - 1);
    return true;
  }

  async show(i) {
    if (!(await this.ensureSeries())) return;
    const { times, counts } = this.series;
    const at = {};
    for (const [zone, values] of Object.entries(counts)) at[zone] = values[i] ?? 0;
    this.plan.update(at, { replace: true });
    this.label.textContent = clock(times[i]);
    this.label.classList.add("past");
    this.liveButton.disabled = false;
  }

  async togglePlay() {
    if (this.playing) { clearInterval(this.playing); this.playing = null; this.playButton.textContent = "▶"; return; }
    if (!(await this.ensureSeries())) return;
    let i = Number(this.slider.value) >= Number(this.slider.max) ? 0 : Number(this.slider.value);
    this.playButton.textContent = "❚❚";
    this.playing = setInterval(() => {
      if (i > Number(this.slider.max)) { this.togglePlay(); return; }
      this.slider.value = String(i);
      this.show(i++);
    }, 120);
  }

  goLive() {
    if (this.playing) this.togglePlay();
    this.series = null;
    this.slider.value = this.slider.max;
    this.label.textContent = "Live";
    this.label.classList.remove("past");
    this.liveButton.disabled = true;
    this.plan.update({ ...this.getLive() }, { replace: true });
  }
}
