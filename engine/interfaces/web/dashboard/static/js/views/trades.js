// Trades: the closed trades, the equity curve and the net by plugin, from GET /api/trades. What a
// trade or a plugin made is its net (profit, commission and swap), as the equity curve moves by:
// the gross profit alone would show a plugin that loses its gains to the broker's costs as winning.

import {h, clear, panel, failure, refusal, table, num, datetime} from "../dom.js";
import {get} from "../api.js";
import {lineChart, barChart} from "../charts.js";
import {coalesce, listen} from "../live.js";

// After a read, the next waits this many times as long as it took: the page holds the engine a
// quarter of the time at most, however many fills come (a year's history takes seconds to read).
const PACE = 3;
const PAGE = 100;  // the trades an answer holds (the API's default limit)

// The API gives the latest trades of the history, however long, a page at a time: the page says when there
// are more, so that 100 rows of a year's 150,000 never read as all there were, and Older reads the next: those
// below the last trade shown (before=closed_at:position), so that a trade closing meanwhile moves no page.
function latest(t, trades, pager) {
  const closed = Number(t.closed), newer = Number(t.newer ?? 0);
  if (!pager.paged() && !(closed > trades.length)) return [];
  const text = pager.paged() ? `Closed trades ${newer + 1} to ${newer + trades.length} of ${closed}.`
    : `The latest ${trades.length} of ${closed} closed trades.`;
  const last = trades[trades.length - 1];
  // Each button goes once (the page drawn anew brings new ones): a double-click kept the page passed twice,
  // and Newer then came back to the same page.
  const once = (go) => (e) => { e.currentTarget.disabled = true; go(); };
  return [h("p", {class: "muted", id: "trades-latest", text}), h("p", {class: "pager"},
    pager.paged() ? h("button", {type: "button", id: "trades-newer", text: "Newer", on: {click: once(pager.newer)}})
      : null,
    last && newer + trades.length < closed
      ? h("button", {type: "button", id: "trades-older", text: "Older",
                     on: {click: once(() => pager.older(`${last.closed_at}:${last.position}`))}}) : null)];
}

function draw(body, t, pager) {
  const trades = Array.isArray(t.trades) ? t.trades : [];
  const equity = Array.isArray(t.equity) ? t.equity : [];
  const byPlugin = Array.isArray(t.by_plugin)
    ? t.by_plugin.map((r) => [String(r.plugin ?? r.name), Number(r.net ?? r.profit)])
    : Object.entries(t.by_plugin || {}).map(([k, v]) => [k, Number(typeof v === "object" ? v.net ?? v.profit : v)]);
  clear(body, 
    panel("Equity", lineChart([{name: "equity", points: equity.map((p) => Array.isArray(p) ? [Number(p[0]), Number(p[1])]
      : [Number(p.at ?? p.time), Number(p.equity ?? p.balance ?? p.profit)])}], {label: "equity curve", format: (v) => num(v), xformat: datetime})),
    panel("Net by plugin", barChart(byPlugin, {label: "net by plugin", format: (v) => num(v)})),
    panel("Closed trades", ...latest(t, trades, pager), trades.length ? table([
      ["Closed", (r) => datetime(r.closed_at ?? r.time ?? r.at)], ["Symbol", (r) => r.symbol], ["Side", (r) => r.side],
      ["Volume", (r) => num(r.volume), "num"], ["Open", (r) => num(r.price_open ?? r.open_price, 5), "num"],
      ["Close", (r) => num(r.price_close ?? r.close_price ?? r.price, 5), "num"], ["Profit", (r) => num(r.profit), "num"],
      ["Costs", (r) => num(Number(r.commission ?? 0) + Number(r.swap ?? 0)), "num"],
      ["Net", (r) => num(r.net ?? r.profit), "num"], ["Plugin", (r) => r.plugin ?? ""],
    ], trades) : h("p", {class: "muted", text: pager.paged() ? "No older trades." : "No closed trades yet."})));
}

export function render(root) {
  const body = h("div", {id: "trades"}, h("p", {class: "muted", text: "Loading…"}));
  root.append(h("h1", {text: "Trades"}), body);
  let before = null;  // the key of the last trade of the page before (null: the newest page)
  const back = [];    // the keys of the pages passed to get here, to go Newer
  const pager = {
    paged: () => before !== null,
    older: (key) => { back.push(before); before = key; refresh(); },
    newer: () => { before = back.pop() ?? null; refresh(); },
  };
  const load = async () => {
    try {
      const query = before === null ? "" : `&before=${encodeURIComponent(before)}`;
      draw(body, await get(`/api/trades?limit=${PAGE}${query}`), pager);
    } catch (err) {
      clear(body, panel("Trades", failure(refusal("Not shown", err))));
    }
  };
  const refresh = coalesce(load, 1000, PACE);
  refresh();
  return listen((event) => (event.kind === "fill" || event.kind === "lagged") && refresh());
}
