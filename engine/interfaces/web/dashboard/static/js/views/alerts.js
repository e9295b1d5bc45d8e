// Alerts: the latest alerts, filtered by status, symbol and plugin, kept live from the event
// stream; a row's detail (GET /api/alerts/<id>) opens below the table, with the version of each
// plugin that decided it and what the shadow's scripts decided beside it, read again when its
// alert finishes or an order of it settles.
// #/alerts/<id> opens with that alert's detail. A page holds 100; Older reads the 100 before the
// last shown. Below, an alert to try before TradingView sends it.

import {h, clear, panel, failure, refusal, table, time, num, show, labelled} from "../dom.js";
import {get} from "../api.js";
import {listen, perFrame} from "../live.js";
import {tryPanel} from "./try_alert.js";
import {shadowPanel} from "./shadow.js";

const STATUSES = ["", "received", "done", "rejected", "duplicate", "failed", "paused", "expired", "skipped"];
const LIMIT = 100;
// What changes an alert's row, and its detail if open: an order's late answer too (order.settled).
const CHANGES = new Set(["alert.received", "alert.finished", "order.settled"]);

/** Receipt to finish in ms: the event's, the detail's, or the journal row's two times. */
function latency(a) {
  if (a.latency_ms !== undefined && a.latency_ms !== null) return a.latency_ms;
  if (a.timings && a.timings.total_ms !== undefined && a.timings.total_ms !== null) return a.timings.total_ms;
  if (a.status !== "received" && a.updated_at && a.received_at) return (a.updated_at - a.received_at) * 1000;
  return null;
}

function cells() {
  return [
    ["Time", (a) => time(a.received_at ?? a.at)],
    ["Id", (a) => a.id, "num"],
    ["Symbol", (a) => a.symbol],
    ["Command", (a) => a.command ?? a.action],
    ["Status", (a) => h("span", {class: `status ${a.status}`, text: a.status})],
    ["Latency", (a) => (latency(a) === null ? "" : `${num(latency(a), 1)} ms`), "num"],
  ];
}

function decided(decisions, orders) {
  return [
    h("h4", {text: "Plugins' decisions"}),
    Array.isArray(decisions) && decisions.length
      ? table([["Plugin", (d) => d.plugin ?? d.name], ["Decision", (d) => d.result ?? d.decision ?? d.answer],
               ["Reason", (d) => d.reason ?? ""]], decisions)
      : h("pre", {text: show(decisions) || "none"}),
    h("h4", {text: "Orders and the broker's answers"}),
    Array.isArray(orders) && orders.length
      ? orders.map((o) => h("pre", {text: JSON.stringify(o, null, 2)}))
      : h("p", {class: "muted", text: "No orders."}),
  ];
}

/** What the shadow's scripts decided on the alert (shadow mode, docs/replay.md), on its private
 * paper account: nothing of it reached the broker. */
function shadowed(s) {
  if (!s) return null;
  const outcome = s.outcome ?? {};
  return h("section", {id: "alert-shadow"},
    h("h3", {text: "Shadow: the next version"}),
    h("p", {}, h("span", {class: `status ${s.status}`, text: s.status}), " ",
      s.differs ? "Decided differently from the live scripts:" : "Decided as the live scripts did."),
    s.differs ? h("ul", {class: "findings"}, (s.differences ?? []).map((d) => h("li", {text: d}))) : null,
    h("p", {class: "muted", text: "Its orders went to its own paper account, never to the broker."}),
    decided(outcome.plugins ?? [], outcome.orders ?? []),
    h("h4", {text: "Versions that decided it"}), h("div", {id: "alert-shadow-versions"}, labelled(s.words?.versions)));
}

function detail(a) {
  const decisions = a.decisions ?? a.plugins ?? (a.outcome && a.outcome.plugins) ?? [];
  const orders = a.orders ?? (a.outcome && a.outcome.orders) ?? [];
  return [
    h("h3", {text: `Alert ${a.id}`}),
    h("p", {}, h("span", {class: `status ${a.status}`, text: a.status}), " ",
      a.reason ?? (a.outcome && (a.outcome.error ?? a.outcome.reason)) ?? ""),
    // an entry the market filled in part: the outcome's lots alone read as a whole fill of a smaller order
    ...(a.words?.parts ?? []).map((said) => h("p", {class: "part", text: said})),
    h("h4", {text: "As received"}), h("pre", {text: JSON.stringify(a.alert ?? a.received ?? null, null, 2)}),
    decided(decisions, orders),
    // which version of each plugin decided it: a script saved mid-session shows where its new version began
    h("h4", {text: "Versions that decided it"}), h("div", {id: "alert-versions"}, labelled(a.words?.versions)),
    h("h4", {text: "Timings"}), labelled(a.words?.timings),  // said in words by the engine
    shadowed(a.shadow),
  ];
}

export function render(root, shown) {
  const status = h("select", {id: "filter-status", name: "status"}, STATUSES.map((v) => h("option", {value: v, text: v || "any status"})));
  const symbol = h("input", {id: "filter-symbol", name: "symbol", placeholder: "symbol", size: 10});
  const plugin = h("input", {id: "filter-plugin", name: "plugin", placeholder: "plugin", size: 10});
  const list = h("div", {id: "alerts-table"}, h("p", {class: "muted", text: "Loading…"}));
  const more = h("div", {id: "alert-detail"});
  let rows = [];
  let before = null;  // on an older page: the alert id it starts below (new alerts go on the newest only)

  const matches = (a) => (!status.value || a.status === status.value) &&
    (!symbol.value || String(a.symbol).toUpperCase() === symbol.value.trim().toUpperCase()) &&
    (!plugin.value.trim() || (a.plugins || []).includes(plugin.value.trim()));

  let detailed = null;  // the id of the alert whose detail is open, read again when it changes
  let reading = 0;      // the newest read of it: an older one's answer, come later, is dropped
  const read = async (id) => {
    const mine = ++reading;
    let drawn;
    try {
      drawn = panel("Detail", ...detail(await get(`/api/alerts/${encodeURIComponent(id)}`)));
    } catch (err) {
      drawn = panel("Detail", failure(refusal("Not shown", err)));
    }
    if (mine === reading) clear(more, drawn);
  };
  const open = (id) => {
    history.replaceState(null, "", `#/alerts/${encodeURIComponent(id)}`);  // a link to this detail; no reload
    detailed = String(id);
    clear(more, h("p", {class: "muted", text: "Loading…"}));
    return read(id);
  };
  const page = (start) => { before = start; load(); };
  const pager = () => h("p", {class: "pager"},
    before !== null
      ? h("button", {type: "button", id: "alerts-newest", text: "Newest", on: {click: () => page(null)}}) : null,
    rows.length >= LIMIT ? h("button", {type: "button", id: "alerts-older", text: "Older",
                                        on: {click: () => page(rows[rows.length - 1].id)}}) : null);
  const draw = () => clear(list, rows.length
    ? table(cells(), rows, (a) => ({class: "clickable", dataset: {id: a.id}, tabindex: 0,
                                     on: {click: () => open(a.id), keydown: (e) => e.key === "Enter" && open(a.id)}}))
    : h("p", {class: "muted", text: before === null ? "No alerts." : "No older alerts."}), pager());
  let during = null;  // the events that come while a load is on its way, applied over its answer
  let latest = 0;     // the newest load: an older one's answer, come later, is dropped
  const load = async () => {
    const mine = ++latest;
    const missed = during = [];
    const query = new URLSearchParams({limit: String(LIMIT)});
    if (before !== null) query.set("before", String(before));
    for (const [k, el] of [["status", status], ["symbol", symbol], ["plugin", plugin]]) {
      if (el.value.trim()) query.set(k, el.value.trim());
    }
    try {
      const answer = await get(`/api/alerts?${query}`);
      if (mine !== latest) return;
      rows = Array.isArray(answer) ? answer : answer.alerts ?? [];
      during = null;
      missed.forEach(take);
      draw();
    } catch (err) {
      if (mine !== latest) return;
      during = null;
      clear(list, failure(refusal("Not shown", err)));
    }
  };

  for (const el of [status, symbol, plugin]) el.addEventListener("change", () => page(null));
  root.append(h("h1", {text: "Alerts"}),
    panel("Latest alerts", h("form", {class: "filters", on: {submit: (e) => { e.preventDefault(); page(null); }}},
      status, symbol, plugin, h("button", {type: "submit", text: "Filter"})), list),
    more, shadowPanel(open), tryPanel());
  load();
  if (shown) open(shown);

  const redraw = perFrame(draw);  // a burst of events, one redraw a frame

  function apply(event) {
    const old = rows.find((r) => r.id === event.id);
    const row = {...old, ...event, received_at: old ? old.received_at : event.at};
    // A new row goes on the newest page only; with a plugin filter, it comes with alert.finished (its plugins).
    if (!old && (before !== null || !matches(row))) return;
    rows = [row, ...rows.filter((r) => r.id !== event.id)].sort((a, b) => b.id - a.id).slice(0, LIMIT);
  }

  // An order whose answer was lost, settled later: its alert's row takes the alert's status now (a
  // failed alert whose orders are all done is done); a row not shown is not added.
  function settle(event) {
    if (!event.alert_status) return;
    rows = rows.map((r) => (r.id === event.alert_id ? {...r, status: event.alert_status} : r));
  }

  function take(event) {
    if (event.kind === "order.settled") settle(event); else apply(event);
  }

  return listen((event) => {
    const about = event.kind === "order.settled" ? event.alert_id : event.id;
    if (detailed !== null && (event.kind === "lagged" || (CHANGES.has(event.kind) && String(about) === detailed))) {
      read(detailed);  // the open detail: its status, its orders' answers
    }
    if (event.kind === "lagged") return load();
    if (!CHANGES.has(event.kind)) return;
    if (during) return during.push(event);
    take(event);
    redraw();
  });
}
