// Shadow mode's differing alerts (GET /api/shadow, docs/shadow.md), on the Alerts page: newest
// first, a page at a time (before: the ids below the last shown, as the alerts above page, so that an
// alert differing meanwhile moves no page), each with the lines that say how the shadow's scripts
// decided otherwise; a row opens the alert's detail. Nothing shows without shadow mode.

import {h, clear, panel, failure, refusal, table, time} from "../dom.js";
import {get} from "../api.js";

const PAGE = 20;

/** The panel's holder, filled once /api/shadow answers (its data-state then "on" or "off");
 * ``open(id)`` opens an alert's detail. */
export function shadowPanel(open) {
  const holder = h("div", {id: "shadow-panel"});
  let offset = 0;     // how many newer differing alerts the page passes over: its rows' place in the count
  let before = null;  // the id the page starts below (null: the newest)
  const back = [];    // the pages passed to get here, to go Newer: [before, offset]
  let latest = 0;   // the newest read: an older one's answer, come later, is dropped

  const load = async () => {
    const mine = ++latest;
    let answer;
    try {
      answer = await get(`/api/shadow?limit=${PAGE}` + (before === null ? "" : `&before=${before}`));
    } catch (err) {
      const said = failure(refusal("Not shown", err));
      if (mine === latest) clear(holder, panel("Shadow: where the next version differs", said));
      return;
    }
    if (mine !== latest) return;
    holder.dataset.state = answer.scripts ? "on" : "off";
    if (!answer.scripts) return clear(holder);
    const rows = answer.differences ?? [];
    const total = Number(answer.differ ?? 0);
    const older = () => {
      back.push([before, offset]);
      [before, offset] = [rows[rows.length - 1].id, offset + rows.length];
      load();
    };
    const newer = () => { [before, offset] = back.pop() ?? [null, 0]; load(); };
    // Each button goes once (the panel drawn anew brings new ones): a double-click on Older went a page
    // further by the count (41–47 of 28) and Newer came back to the same page.
    const once = (go) => (e) => { e.currentTarget.disabled = true; go(); };
    clear(holder, panel("Shadow: where the next version differs",
      h("p", {id: "shadow-range", class: "muted",
        text: rows.length ? `${offset + 1}–${offset + rows.length} of ${total} differing alerts ` +
          `(${answer.alerts} run by ${answer.scripts})` : `None of ${answer.alerts} alerts run by ${answer.scripts}` +
          (offset ? " on this page." : " differs.")}),
      rows.length ? h("div", {id: "shadow-differences"}, table([
        ["Id", (d) => d.id, "num"], ["Time", (d) => time(d.time)], ["Symbol", (d) => d.symbol ?? ""],
        ["Differences", (d) => (d.differences ?? []).join("; ")],
      ], rows, (d) => ({class: "clickable", dataset: {id: d.id}, tabindex: 0,
                       on: {click: () => open(d.id), keydown: (e) => e.key === "Enter" && open(d.id)}}))) : null,
      h("p", {},
        h("button", {type: "button", id: "shadow-newer", text: "Newer", disabled: before === null,
                     on: {click: once(newer)}}),
        " ",
        h("button", {type: "button", id: "shadow-older", text: "Older",
                     disabled: rows.length < PAGE || offset + rows.length >= total, on: {click: once(older)}}),
        " ",
        h("button", {type: "button", id: "shadow-refresh", text: "Refresh", on: {click: load}}))));
  };
  load();
  return holder;
}
