// Try an alert: what a message would do now, sending nothing (POST /api/alerts/check, as
// `moonhook send --dry-run`): how it is read, the orders it would place, a limit's refusal.

import {h, clear, panel, failure, refusal, table, pairs} from "../dom.js";
import {request} from "../api.js";

const ORDER = [
  ["Order", (o) => [o.kind, o.side, o.type].filter(Boolean).join(" ")],
  ["Symbol", (o) => o.symbol ?? ""],
  ["Volume", (o) => o.volume ?? "", "num"],
  ["Price", (o) => o.price ?? "", "num"],
  ["Stop loss", (o) => o.sl ?? "", "num"],
  ["Take profit", (o) => o.tp ?? "", "num"],
  ["Refused", (o) => (o.refused ? h("span", {class: "error", text: o.refused}) : "")],
];

function result(view) {
  const read = Object.fromEntries(Object.entries(view.alert ?? {}).filter(([k]) => k !== "source" && k !== "raw_symbol"));
  return [
    h("h4", {text: "Read as"}), pairs(read),
    h("h4", {text: "Would send"}),
    view.orders?.length ? table(ORDER, view.orders) : h("p", {class: "muted", text: "No order."}),
    view.note ? h("p", {class: "muted", text: view.note}) : null,
    view.error ? h("p", {class: "error", text: view.error}) : null,
    view.plugins?.length ? h("p", {class: "muted", text: `Plugins that would see it first: ${view.plugins.join(", ")} (${view.plugins_note}).`}) : null,
    view.paused ? h("p", {class: "muted", text: "The engine is paused: a real alert would be journaled, not executed."}) : null,
    h("p", {class: "muted", text: "Nothing was sent."}),
  ];
}

export function tryPanel() {
  const body = h("textarea", {id: "try-body", rows: 3, spellcheck: "false",
                              placeholder: "buy EURUSD risk=1 sl_pips=20, or a TradingView message (JSON)"});
  const out = h("div", {id: "try-result"});
  const check = async (e) => {
    e.preventDefault();
    clear(out, h("p", {class: "muted", text: "Checking…"}));
    try {
      clear(out, ...result(await request("POST", "/api/alerts/check", body.value, {text: true})));
    } catch (err) {
      // A 400 is what the webhook would answer TradingView: the field that is wrong, said as a refusal.
      clear(out, failure(refusal(err.status === 400 ? "Refused, as the webhook would refuse it" : "Not checked", err)));
    }
  };
  return panel("Try an alert", h("form", {class: "try", on: {submit: check}}, body,
    h("button", {id: "try-button", type: "submit", text: "Check"})), out);
}
