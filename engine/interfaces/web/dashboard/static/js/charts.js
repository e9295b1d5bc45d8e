// Small SVG charts drawn here: a line chart of one or more series, and labelled bars.

import {s} from "./dom.js";

const W = 600, H = 170, PAD = 34;

function scale(values, lo, hi) {
  let min = Math.min(...values), max = Math.max(...values);
  if (!Number.isFinite(min)) { min = 0; max = 1; }
  if (min === max) { min -= 1; max += 1; }
  return (v) => hi - ((v - min) / (max - min)) * (hi - lo);
}

/** series: [{name, points: [[x, y], ...], cls}]; an empty chart says so. */
export function lineChart(series, {label = "", format = (v) => String(v), zero = false, xformat = null} = {}) {
  const all = series.flatMap((line) => line.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const svg = s("svg", {viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label});
  if (all.length === 0) {
    svg.append(s("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "axis", text: "no data yet"}));
    return svg;
  }
  // The x axis spans every point given, those without a value too (a minute without alerts).
  const xs = series.flatMap((line) => line.points.map(([x]) => x)).filter(Number.isFinite), ys = all.map(([, y]) => y).concat(zero ? [0] : []);
  const fx = scale(xs, W - PAD / 2, PAD + 30);  // scale() maps the lowest value to its last argument
  const y = scale(ys, PAD / 2, H - PAD);
  svg.append(s("line", {x1: PAD, y1: H - PAD, x2: W - PAD / 2, y2: H - PAD, class: "axis-line"}));
  svg.append(s("text", {x: 2, y: PAD / 2 + 4, class: "axis", text: format(Math.max(...ys))}));
  svg.append(s("text", {x: 2, y: H - PAD, class: "axis", text: format(Math.min(...ys))}));
  if (xformat) {
    svg.append(s("text", {x: PAD + 30, y: H - PAD + 14, class: "axis", text: xformat(Math.min(...xs))}));
    svg.append(s("text", {x: W - PAD / 2, y: H - PAD + 14, "text-anchor": "end", class: "axis", text: xformat(Math.max(...xs))}));
  }
  series.forEach((line, i) => {
    const pts = line.points.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
    if (pts.length === 0) return;
    const d = pts.map(([a, b], j) => `${j ? "L" : "M"}${fx(a).toFixed(1)},${y(b).toFixed(1)}`).join(" ");
    svg.append(s("path", {d, class: `series s${i} ${line.cls || ""}`}, s("title", {text: line.name})));
    if (pts.length < 30) {  // a few points: each marked, so that a lone one shows
      pts.forEach(([a, b]) => svg.append(s("circle", {cx: fx(a).toFixed(1), cy: y(b).toFixed(1), r: 3, class: `dot s${i}`},
        s("title", {text: `${line.name}: ${format(b)}`}))));
    }
    svg.append(s("text", {x: PAD + 34 + i * 90, y: H - 2, class: `legend s${i}`, text: line.name}));
  });
  return svg;
}

/** bars: [[label, value], ...], negative values below the line. */
export function barChart(bars, {label = "", format = (v) => String(v)} = {}) {
  const height = Math.max(40, bars.length * 26 + 10);
  const svg = s("svg", {viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-label": label});
  if (bars.length === 0) {
    svg.append(s("text", {x: W / 2, y: 24, "text-anchor": "middle", class: "axis", text: "no data yet"}));
    return svg;
  }
  const top = Math.max(...bars.map(([, v]) => Math.abs(v)), 1e-9);
  const mid = W / 2, half = W / 2 - 150;
  bars.forEach(([name, value], i) => {
    const w = (Math.abs(value) / top) * half, yy = 8 + i * 26;
    svg.append(s("rect", {x: value < 0 ? mid - w : mid, y: yy, width: Math.max(w, 1), height: 18,
                          class: value < 0 ? "bar loss" : "bar gain"}));
    svg.append(s("text", {x: 4, y: yy + 14, class: "axis", text: name}));
    svg.append(s("text", {x: W - 4, y: yy + 14, "text-anchor": "end", class: "axis", text: format(value)}));
  });
  return svg;
}
