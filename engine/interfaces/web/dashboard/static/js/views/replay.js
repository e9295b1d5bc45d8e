// The editor's Replay answer (POST /api/scripts/<file>/replay): the live version's figures
// beside the draft's over the journal's last days, what the draft's scripts got wrong, and
// the alerts the two decided differently.

import {h, num, table} from "../dom.js";

const signed = (x) => (Number(x) > 0 ? "+" : "") + num(x);

function side(s) {
  const decided = (s.decisions || []).map((d) => `${d.plugin}: ${d.result}${d.detail ? ` (${d.detail})` : ""}`);
  const orders = (s.orders || []).map((o) => [o.side, o.symbol, o.volume].join(" ") + (o.error ? ` refused: ${o.error}` : ""));
  return `${decided.join("; ") || "no decision"} → ${orders.join("; ") || "no order"}`;
}

export function replayResult(r) {
  if (!r.live.alerts) {
    return h("div", {id: "replay-result"}, h("p", {text: `No alert reached this engine in the last ${r.days} days: ` +
      "nothing to replay. Send some (moonhook send, or from TradingView), or replay more days."}));
  }
  const rows = [["live version", r.live], ["this draft", r.draft]];
  // Positions the margin level's fall closed (in the trades and profit too), as moonhook replay counts them.
  const stopped = (x) => x.stopped_out || {positions: 0, net: 0};
  const stopOuts = rows.some(([, x]) => stopped(x).positions) ? [["stopped out", ([, x]) =>
    (stopped(x).positions ? `${stopped(x).positions}, net ${num(stopped(x).net)}` : "none"), "num"]] : [];
  const figures = table([
    ["", ([label]) => label],
    ["trades", ([, x]) => `${x.trades} (${x.wins} won)`, "num"],
    ["profit", ([, x]) => num(x.profit), "num"],
    ["max drawdown", ([, x]) => num(x.drawdown), "num"],
    ["win rate", ([, x]) => (x.win_rate === null ? "n/a" : `${num(x.win_rate, 1)} %`), "num"],
    ...stopOuts,
  ], rows);
  const faults = r.draft.faults || [];
  const shown = r.differences || [];
  return h("div", {id: "replay-result"},
    h("p", {text: `Over ${r.live.alerts} alerts of the last ${r.days} days: ${r.differing} decided differently; ` +
                  `profit, this draft less the live version: ${signed(r.profit_difference)}.`}),
    r.prices_simulated ? null : h("p", {class: "muted", text: "No prices: orders filled at the alerts' prices; " +
      "stops and targets were not simulated (moonhook replay --prices simulates them)."}),
    r.timer_every ? h("p", {class: "muted", text: `Timers ran at most once every ${r.timer_every} s, which decides ` +
      "the same for a script that reads prices and positions (moonhook replay runs them as the scripts ask)."}) : null,
    figures,
    faults.length ? h("ul", {class: "findings"}, faults.map((f) => h("li", {class: "error"},
      `${f.kind} at ${f.where}: ${f.what}`,
      // its alert's detail, in a new tab as the differences' (the draft stays in the editor)
      f.id === null || f.id === undefined ? null : [" (", h("a", {href: `#/alerts/${f.id}`, target: "_blank",
                                                                   rel: "noopener", text: `alert #${f.id}`}), ")"])))
      : null,
    shown.length ? h("h3", {text: "Alerts decided differently"}) : null,
    shown.length ? table([
      // In a new tab: the draft in the editor stays as it is.
      ["alert", (d) => (d.id === null ? "" : h("a", {href: `#/alerts/${d.id}`, target: "_blank", rel: "noopener", text: `#${d.id}`}))],
      ["live version", (d) => side(d.live)],
      ["this draft", (d) => side(d.draft)],
    ], shown, (d) => ({dataset: {id: d.id ?? ""}})) : null,
    r.differing > shown.length ? h("p", {class: "muted", text: `The first ${shown.length} of ${r.differing} are shown.`}) : null);
}
