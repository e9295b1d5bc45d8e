// Overview: health, the broker and account, open positions and pending orders, today's counts,
// the latency of the last hour and the last errors, from GET /api/overview; refreshed on events.

import {h, clear, labelled, panel, failure, refusal, table, num, time, datetime, show, confirmed} from "../dom.js";
import {get, post} from "../api.js";
import {lineChart} from "../charts.js";
import {coalesce, listen} from "../live.js";

// An order placed or refused with no alert and no fill (a cancel, a refused close, from another
// admin's page, a phone or Telegram) changes the pending orders, the day's counts and errors too;
// a script's reload the health (a file that does not load) and the last errors.
const REFRESHING = new Set(["alert.finished", "fill", "order.placed", "order.refused", "order.settled", "order.dropped",
  "pause", "resume", "plugin.switched", "plugin.error", "reload", "account.stop_out", "lagged"]);

const ms = (v) => (v === null || v === undefined ? NaN : Number(v));  // a minute without alerts: no point

function latency(points) {
  const rows = Array.isArray(points) ? points : [];
  const at = (p) => Number(p.at ?? p.minute ?? p.t);
  return lineChart([
    {name: "p50 ms", points: rows.map((p) => [at(p), ms(p.p50_ms ?? p.p50)])},
    {name: "p99 ms", points: rows.map((p) => [at(p), ms(p.p99_ms ?? p.p99)])},
  ], {label: "receipt-to-broker latency, last hour", format: (v) => `${num(v, 1)} ms`, zero: true, xformat: time});
}

// Each of moonhook's own positions and orders gets a button that asks in place, then acts; one
// placed by hand in the terminal has none, as a close by symbol and the cancels leave it alone.
function positionTable(positions, act, asking) {
  return table([
    ["Symbol", (p) => p.symbol], ["Side", (p) => p.side ?? p.type], ["Volume", (p) => num(p.volume), "num"],
    ["Price", (p) => num(p.price ?? p.price_open, 5), "num"], ["Profit", (p) => num(p.profit), "num"],
    ["Ticket", (p) => p.ticket, "num"],
    ["", (p) => (p.plugin ? confirmed("Close", `Close ${p.side} ${num(p.volume)} ${p.symbol} (profit ${num(p.profit)})?`,
      () => act(`/api/positions/${p.ticket}/close`, `Position ${p.ticket}`, "not closed",
        "was closed already (elsewhere, or by its stop or target)"), `close-${p.ticket}`, asking,
      "Keep it") : "")],
  ], positions);
}

function orderTable(orders, act, asking) {
  return table([
    ["Symbol", (p) => p.symbol], ["Order", (p) => `${p.side} ${p.type}`], ["Volume", (p) => num(p.volume), "num"],
    ["Price", (p) => num(p.price, 5), "num"], ["SL", (p) => num(p.sl, 5), "num"], ["TP", (p) => num(p.tp, 5), "num"],
    ["Expires", (p) => datetime(p.expires)], ["Plugin", (p) => p.plugin ?? "by hand"], ["Ticket", (p) => p.ticket, "num"],
    ["", (p) => (p.plugin ? confirmed("Cancel", `Cancel ${p.side} ${p.type} ${num(p.volume)} ${p.symbol} at ${num(p.price, 5)}?`,
      () => act(`/api/orders/${p.ticket}/cancel`, `Order ${p.ticket}`, "not cancelled",
        "was no longer pending (filled or removed elsewhere)"), `cancel-${p.ticket}`, asking,
      "Keep it") : "")],
  ], orders);
}

// The last stop-out, kept across restarts (the health's last_stop_out): the broker closed positions for want
// of margin, an account-level emergency, said above everything else.
function stopOut(s) {
  if (!s || !Array.isArray(s.tickets)) return [];
  const said = s.margin_level !== null && s.margin_level !== undefined;
  const level = said ? ` at a margin level of ${num(s.margin_level)}%` : "";
  return [h("p", {class: "error", role: "alert", id: "stop-out",
    text: `Stop-out at ${datetime(s.time)}: the broker closed position${s.tickets.length > 1 ? "s" : ""} ` +
      `${s.tickets.join(", ")} for want of margin${level}, net ${num(s.net)} ${s.currency ?? ""}. ` +
      "Alerts are still taken; Pause holds them."})];
}

function draw(body, o, act, asking) {
  clear(body);
  asking.shown = false;
  const positions = Array.isArray(o.positions) ? o.positions : [];
  const orders = Array.isArray(o.orders) ? o.orders : [];
  const errors = Array.isArray(o.errors ?? o.last_errors) ? (o.errors ?? o.last_errors) : [];
  body.append(
    ...stopOut(o.health?.last_stop_out),
    h("div", {class: "grid"},
      panel("Health", labelled(o.words?.health)),
      panel("Broker", labelled(o.words?.broker)),
      panel("Account", labelled(o.words?.account)),
      panel("Today", labelled(o.words?.today)),
      panel("Limits", labelled(o.words?.limits))),
    panel("Latency, last hour", latency(o.latency)),
    panel("Open positions", positions.length
      ? h("div", {id: "open-positions"}, positionTable(positions, act, asking))
      : h("p", {class: "muted", text: o.positions?.error ?? "No open positions."})),
    panel("Pending orders", orders.length
      ? h("div", {id: "pending-orders"}, orderTable(orders, act, asking))
      : h("p", {class: "muted", text: o.orders?.error ?? "No pending orders."})),
    panel("Last errors", errors.length
      ? h("ul", {class: "errors"}, errors.map((e) => h("li", {},
          h("span", {class: "muted", text: `${time(e.at)} ${e.plugin ?? ""} `}),
          e.file ? h("code", {text: `${e.file}${e.line ? `:${e.line}` : ""} `}) : null,
          typeof e === "object" ? show(e.message ?? e) : show(e))))
      : h("p", {class: "muted", text: "None."})));
}

export function render(root) {
  const body = h("div", {id: "overview"}, h("p", {class: "muted", text: "Loading…"}));
  const message = h("p", {class: "error", role: "alert", id: "overview-message"});
  const asking = {id: null, shown: false};
  root.append(h("h1", {text: "Overview"}), message, body);
  // `gone`: what a 404 or 409 means, the ticket gone before the question was answered (the page had not
  // redrawn yet): said as such, not as a failure, which a trader would go and undo by hand at the broker.
  const act = async (path, subject, undone, gone) => {
    const failed = `${subject} ${undone}`;
    message.textContent = "";
    try {
      const answer = await post(path, {});
      if (answer.unknown) message.textContent = `${subject}: not known yet whether it was done: ${answer.error}`;
      else if (!answer.ok) message.textContent = `${failed}: ${answer.error}`;
    } catch (err) {
      message.textContent = err.status === 404 || err.status === 409 ? `${subject} ${gone}: nothing was sent.`
        : refusal(failed, err).message;
    }
    load();
  };
  const load = coalesce(async () => {
    try {
      draw(body, await get("/api/overview"), act, asking);
      if (!asking.shown) asking.id = null;  // its position or order is gone
    } catch (err) {
      clear(body, panel("Overview", failure(refusal("Not shown", err))));
    }
  });
  load();
  return listen((event) => REFRESHING.has(event.kind) && load());
}
