// How far to trust presence: the calibration in force, each scanner's sign, and the zones where presence is
// unsure (GET /api/v1/calibration; the reasons come from the server, from the survey walk and the fleet).
import { load } from "./api.js";
import { clock, el } from "./format.js";

export const SIGN_LABEL = {
  calibrated: "calibrated", default: "default settings", dead: "dead", misplaced: "misplaced", uncalibrated: "uncalibrated",
};
const fixed = (x, digits) => (x == null ? "–" : Number(x).toFixed(digits));

export function signPill(sign) { return el("span", { class: `pill sign-${sign}` }, SIGN_LABEL[sign] ?? sign); }

export function scannerRow(s, zoneName) {
  return el("tr", { "data-scanner": s.scanner_id, class: `sign-row-${s.sign}` },
    el("td", {}, s.scanner_id), el("td", {}, zoneName(s.zone_id)),
    el("td", {}, signPill(s.sign), s.online === false ? el("span", { class: "pill offline" }, "offline") : null,
      s.note ? el("div", { class: "note muted" }, s.note) : null),
    el("td", { class: "num" }, fixed(s.gain_db, 1)), el("td", { class: "num" }, fixed(s.exponent, 2)),
    el("td", { class: "num" }, s.reach_m == null ? "–" : `${Math.round(s.reach_m)} m`),
    el("td", { class: "num" }, fixed(s.residual_db, 1)), el("td", { class: "num" }, s.readings ?? "–"));
}

// The dashboard card: a venue-wide line, sign counts, the scanners that need attention, the unsure zones.
export async function refreshConfidence({ banner, signs, scanners, unsure, panel }, plan, zoneName) {
  const status = await load("/api/v1/calibration", panel);
  if (!status) return;
  if (!status.calibrated) {
    banner.className = "banner warn";
    banner.replaceChildren("Venue not calibrated: presence uses default radio settings. ",
      el("a", { href: "calibration.html" }, "Run a survey walk"));
  } else {
    const c = status.calibration;
    const problems = status.scanners.filter((s) => s.sign !== "calibrated").length;
    banner.className = `banner ${problems ? "warn" : "ok"}`;
    const attention = problems ? ` ${problems} scanner${problems === 1 ? " needs" : "s need"} attention.` : "";
    banner.replaceChildren(`Calibrated ${clock(c.fitted_at)} by ${c.created_by}.${attention} `,
      el("a", { href: "calibration.html" }, "Survey walk"));
  }
  const counts = {};
  for (const s of status.scanners) counts[s.sign] = (counts[s.sign] ?? 0) + 1;
  const offline = status.scanners.filter((s) => !s.online).length;
  signs.replaceChildren(...Object.entries(counts).map(([sign, n]) => el("span", { class: "sign-count" }, signPill(sign), ` ${n}`)),
    offline ? el("span", { class: "sign-count" }, el("span", { class: "pill offline" }, "offline"), ` ${offline}`) : null);
  const attention = status.scanners.filter((s) => (status.calibrated && s.sign !== "calibrated") || !s.online);
  scanners.querySelector("tbody").replaceChildren(...(attention.length ? attention.map((s) => scannerRow(s, zoneName))
    : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, status.calibrated ? "Every scanner calibrated and online." : "Every scanner online."))]));
  unsure.replaceChildren(...(status.unsure_zones.length
    ? status.unsure_zones.map((z) => el("li", { "data-zone": z.zone_id }, el("b", {}, zoneName(z.zone_id)), el("span", { class: "muted" }, ` ${z.reasons.join("; ")}`)))
    : [el("li", { class: "muted" }, "Presence is sure everywhere the data can tell.")]));
  plan?.markUnsure(new Set(status.unsure_zones.map((z) => z.zone_id)), Object.fromEntries(status.unsure_zones.map((z) => [z.zone_id, z.reasons])));
}
