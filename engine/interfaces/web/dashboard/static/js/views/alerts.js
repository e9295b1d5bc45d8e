// Alerts: the latest alerts, filtered by status, symbol and plugin, kept live from the event
// stream; a row's detail (GET /api/alerts/<id>) opens below the table.

import {h, clear, panel, failure, table, time, num, show, pairs} from "../dom.js";
import {get} from "../api.js";
import {listen} from "../live.js";

const STATUSES = ["", "received", "done", "rejected", "duplicate", "failed", "paused", "expired"];
const LIMIT = 100;

function cells(row) {
  return [
    ["Time", (a) => time(a.received_at ?? a.at)],
    ["Id", (a) => a.id, "num"],
    ["Symbol", (a) => a.symbol],
    ["Command", (a) => a.command ?? a.action],
    ["Status", (a) => h("span", {class: `status ${a.status}`, text: a.status})],
    ["Latency", (a) => (a.latency_ms === undefined || a.latency_ms === null ? "" : `${num(a.latency_ms, 1)} ms`), "num"],
  ];
}

function detail(a) {
  const decisions = a.decisions ?? a.plugins ?? (a.outcome && a.outcome.plugins) ?? [];
  const orders = a.orders ?? (a.outcome && a.outcome.orders) ?? [];
  return [
    h("h3", {text: `Alert ${a.id}`}),
    h("p", {}, h("span", {class: `status ${a.status}`, text: a.status}), " ", a.reason ?? ""),
    h("h4", {text: "As received"}), h("pre", {text: show(a.alert ?? a.received)}),
    h("h4", {text: "Plugins' decisions"}),
    Array.isArray(decisions) && decisions.length
      ? table([["Plugin", (d) => d.plugin ?? d.name], ["Decision", (d) => d.decision ?? d.action ?? d.answer],
               ["Reason", (d) => d.reason ?? ""]], decisions)
      : h("pre", {text: show(decisions) || "none"}),
    h("h4", {text: "Orders and the broker's answers"}),
    Array.isArray(orders) && orders.length
      ? orders.map((o) => h("pre", {text: show(o)}))
      : h("p", {class: "muted", text: "No orders."}),
    h("h4", {text: "Timings"}), pairs(a.timings ?? {received_at: a.received_at, latency_ms: a.latency_ms}),
  ];
}

export function render(root) {
  const status = h("select", {id: "filter-status", name: "status"}, STATUSES.map((v) => h("option", {value: v, text: v || "any status"})));
  const symbol = h("input", {id: "filter-symbol", name: "symbol", placeholder: "symbol", size: 10});
  const plugin = h("input", {id: "filter-plugin", name: "plugin", placeholder: "plugin", size: 10});
  const list = h("div", {id: "alerts-table"}, h("p", {class: "muted", text: "Loading…"}));
  const more = h("div", {id: "alert-detail"});
  let rows = [];

  const matches = (a) => (!status.value || a.status === status.value) &&
    (!symbol.value || String(a.symbol).toUpperCase() === symbol.value.trim().toUpperCase()) && !plugin.value;

  const open = async (id) => {
    clear(more).append(h("p", {class: "muted", text: "Loading…"}));
    try {
      clear(more).append(panel("Detail", ...detail(await get(`/api/alerts/${encodeURIComponent(id)}`))));
    } catch (err) {
      clear(more).append(panel("Detail", failure(err)));
    }
  };
  const draw = () => clear(list).append(rows.length
    ? table(cells(), rows, (a) => ({class: "clickable", dataset: {id: a.id}, tabindex: 0,
                                     on: {click: () => open(a.id), keydown: (e) => e.key === "Enter" && open(a.id)}}))
    : h("p", {class: "muted", text: "No alerts."}));
  const load = async () => {
    const query = new URLSearchParams({limit: String(LIMIT)});
    for (const [k, el] of [["status", status], ["symbol", symbol], ["plugin", plugin]]) {
      if (el.value.trim()) query.set(k, el.value.trim());
    }
    try {
      const answer = await get(`/api/alerts?${query}`);
      rows = Array.isArray(answer) ? answer : answer.alerts ?? [];
      draw();
    } catch (err) {
      clear(list).append(failure(err));
    }
  };

  for (const el of [status, symbol, plugin]) el.addEventListener("change", load);
  root.append(h("h1", {text: "Alerts"}),
    panel("Latest alerts", h("form", {class: "filters", on: {submit: (e) => { e.preventDefault(); load(); }}},
      status, symbol, plugin, h("button", {type: "submit", text: "Filter"})), list),
    more);
  load();

  return listen((event) => {
    if (event.kind === "lagged") return load();
    if (event.kind !== "alert.received" && event.kind !== "alert.finished") return;
    const old = rows.find((r) => r.id === event.id);
    const row = {...old, ...event, received_at: old ? old.received_at : event.at};
    if (!old && !matches(row)) return;  // events carry no plugin: a new row waits for a reload then
    rows = [row, ...rows.filter((r) => r.id !== event.id)].sort((a, b) => b.id - a.id).slice(0, LIMIT);
    draw();
  });
}
