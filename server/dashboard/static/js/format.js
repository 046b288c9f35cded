// Small formatting helpers shared by the panels.
let timeZone;
export function setTimeZone(tz) { timeZone = tz; }

export function clock(t, seconds = false) {
  if (t == null) return "–";
  const opts = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone };
  if (seconds) opts.second = "2-digit";
  try { return new Date(t * 1000).toLocaleTimeString([], opts); } catch { return new Date(t * 1000).toLocaleTimeString(); }
}

export function ago(t, now) {
  if (t == null) return "never";
  const s = Math.max(0, Math.round(now - t));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export const pct = (x) => (x == null ? "–" : `${Math.round(x * 100)} %`);
export const num = (x) => (x == null ? "–" : Number(x).toLocaleString());
export const dwell = (s) => (s == null ? "–" : s < 60 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
}
