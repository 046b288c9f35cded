// Charts: horizontal bars for categories (kept as DOM rows keyed by id, updated in place) and uPlot for
// series over time (the vendored library: static/vendor/uPlot.iife.min.js, a global `uPlot`).
import { el } from "./format.js";

// rows: [{key, name, value, max, mark, cls, text}] -> one row each; existing rows are updated, not rebuilt.
export function bars(root, rows, { empty = "nothing yet" } = {}) {
  if (!rows.length) { root.replaceChildren(el("div", { class: "muted" }, empty)); return; }
  const existing = new Map([...root.querySelectorAll(".bar")].map((n) => [n.dataset.key, n]));
  const scale = Math.max(1, ...rows.map((r) => r.max ?? r.value));
  const ordered = [];
  for (const r of rows) {
    let row = existing.get(r.key);
    if (!row) {
      row = el("div", { class: "bar", "data-key": r.key },
        el("span", { class: "name" }), el("span", { class: "track" }, el("span", { class: "fill" }), el("span", { class: "mark" })),
        el("span", { class: "val" }));
    }
    existing.delete(r.key);
    row.querySelector(".name").textContent = r.name;
    row.querySelector(".name").title = r.name;
    const fill = row.querySelector(".fill");
    fill.style.width = `${Math.min(100, (100 * r.value) / scale)}%`;
    fill.className = `fill ${r.cls ?? ""}`;
    const mark = row.querySelector(".mark");
    mark.hidden = r.mark == null;
    if (r.mark != null) mark.style.left = `${Math.min(99, (100 * r.mark) / scale)}%`;
    row.querySelector(".val").textContent = r.text ?? String(r.value);
    ordered.push(row);
  }
  for (const stale of existing.values()) stale.remove();
  root.querySelectorAll(":scope > :not(.bar)").forEach((n) => n.remove());
  ordered.forEach((row, i) => { if (root.children[i] !== row) root.insertBefore(row, root.children[i] ?? null); });
}

// A time series line chart that fits its card; setData() on later refreshes (no re-creation).
export function lineChart(root, { label, color = "#3b5bdb" }) {
  if (typeof uPlot === "undefined") { root.textContent = "charts not available"; return null; }
  const width = () => Math.max(240, root.clientWidth);
  const plot = new uPlot({
    width: width(), height: 220, legend: { show: false }, cursor: { points: { size: 6 } },
    scales: { x: { time: true } },
    axes: [{ stroke: "#6b7587", grid: { stroke: "#eef1f7" } }, { stroke: "#6b7587", grid: { stroke: "#eef1f7" }, size: 44 }],
    series: [{}, { label, stroke: color, width: 2, fill: `${color}22`, points: { show: false } }],
  }, [[], []], root);
  new ResizeObserver(() => plot.setSize({ width: width(), height: 220 })).observe(root);
  return plot;
}
