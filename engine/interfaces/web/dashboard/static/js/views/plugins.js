// Plugins: each plugin's row with its switch, and the engine's pause, each asked to confirm.

import {h, clear, panel, failure, refusal, table, num, show, time, confirmed} from "../dom.js";
import {get, post} from "../api.js";
import {coalesce, listen} from "../live.js";

const REFRESHING = new Set(["plugin.switched", "plugin.error", "reload", "pause", "resume", "lagged"]);

export function render(root) {
  const body = h("div", {id: "plugins"}, h("p", {class: "muted", text: "Loading…"}));
  const message = h("p", {class: "error", role: "alert"});
  const asking = {id: null, shown: false};
  let drawnHeld = "";   // pause.held_ids the page last drew
  root.append(h("h1", {text: "Plugins"}), message, body);

  // Why the engine is paused, typed beside Pause and sent as typed (the facade trims and cuts it). Made
  // once: a live redraw keeps what is being typed.
  const reason = h("input", {id: "pause-reason", type: "text", placeholder: "why (optional)",
                             "aria-label": "why you pause (optional)", size: 28});

  // `failed`: what was not done, said before the server's reason, as the overview's refusals are.
  const act = async (path, failed, body = {}) => {
    message.textContent = "";
    let done = false;
    try {
      await post(path, body);
      done = true;
    } catch (err) {
      message.textContent = refusal(failed, err).message;
    }
    load();
    return done;
  };
  const pauseWhy = async () => {
    if (await act("/api/pause", "Not paused", {reason: reason.value})) reason.value = "";
  };
  const stays = "Not resumed (still paused)";

  // A resume skips the alerts received while paused, for good: the question says how many, and
  // running them (at the prices of now, oldest first) is a choice of its own. Which ones were shown
  // goes with it (their ids): with others held since, the engine stays paused (409) and the page asks again.
  const resumes = (held, ids) => {
    const them = held === 1 ? "the alert" : `the ${held} alerts`;
    const shown = `held_ids=${encodeURIComponent(ids)}`;
    return held
      ? h("span", {},
        confirmed("Resume", `Resume the engine? ${held === 1 ? "The alert" : `The ${held} alerts`} received while paused `
          + `will be skipped: journaled, never executed.`, () => act(`/api/resume?${shown}`, stays), "resume", asking),
        " ",
        confirmed("Resume and run them", `Resume and run ${them} received while paused, oldest first, at the prices `
          + "of now (those older than engine.max_alert_age expire)?",
          () => act(`/api/resume?execute_missed=true&${shown}`, stays), "resume-run", asking))
      : confirmed("Resume", "Resume the engine?", () => act(`/api/resume?${shown}`, stays), "resume", asking);
  };
  const load = async () => {
    let answer;
    try {
      answer = await get("/api/plugins");
    } catch (err) {
      clear(body, panel("Plugins", failure(refusal("Not shown", err))));
      return;
    }
    const pause = answer.pause || {};
    const plugins = answer.plugins || [];
    const errors = Object.entries(answer.load_errors || {});
    // A resume question open over other held alerts than it was drawn with is withdrawn, not redrawn
    // under the trader's eyes: the same words ("The alert ...") may name another alert now.
    if (pause.paused && String(asking.id).startsWith("resume") && (pause.held_ids ?? "") !== drawnHeld) {
      asking.id = null;
      message.textContent = "The alerts held while paused changed: the question is withdrawn, Resume asks again.";
    }
    drawnHeld = pause.held_ids ?? "";
    asking.shown = false;
    // Moved by the redraw, the reason's field would lose the cursor mid-word: it is given back where it was.
    const typing = document.activeElement === reason ? [reason.selectionStart, reason.selectionEnd] : null;
    clear(body,
      panel("Engine",
        h("p", {id: "engine-state", text: pause.paused ? `Paused${pause.by ? ` by ${pause.by}` : ""}${pause.reason ? `: ${pause.reason}` : ""}` : "Running"}),
        pause.paused
          ? resumes(pause.held || 0, pause.held_ids || "")
          : h("span", {class: "confirm"}, reason,
            confirmed("Pause", "Pause the engine? Alerts will be journaled, not executed, and no plugin opens a "
              + "position; closes go on.", pauseWhy, "pause", asking))),
      panel("Plugins", plugins.length ? table([
        ["Name", (p) => p.name], ["State", (p) => p.state_words ?? p.state],
        ["Version", (p) => p.version ?? ""],   // serving now: read again at each reload
        ["Hooks", (p) => show(p.hooks)], ["Symbols", (p) => show(p.symbols)], ["Priority", (p) => p.priority, "num"],
        ["Guard", (p) => (p.guard ? "yes" : "")],
        ["Calls", (p) => p.calls, "num"], ["Errors", (p) => p.errors, "num"], ["Timeouts", (p) => p.timeouts, "num"],
        ["p50", (p) => (p.p50_us === undefined ? "" : `${num(p.p50_us / 1000, 2)} ms`), "num"],
        ["p99", (p) => (p.p99_us === undefined ? "" : `${num(p.p99_us / 1000, 2)} ms`), "num"],
        ["Memory", (p) => (p.memory_bytes ? `${num(p.memory_bytes / 1024, 0)} KiB` : ""), "num"],
        ["Budget", (p) => (p.budget ? `${Number(p.budget.instructions).toLocaleString("en")} instructions, `
          + `${p.budget.timeout_ms} ms, ${p.budget.memory_mb} MB${p.budget_note ? ` (${p.budget_note})` : ""}` : "")],
        ["Last error", (p) => show(p.last_error)],
        ["", (p) => {
          // A file that does not load serves as no plugin: nothing to switch until it is saved and loads.
          if (p.state === "failed" && !p.version) {
            return h("span", {}, "Does not load: ",
              h("a", {href: `#/editor/${encodeURIComponent(p.file ?? "")}`, text: "fix it in the Editor"}));
          }
          const path = `/api/plugins/${encodeURIComponent(p.name)}/${p.enabled === false ? "enable" : "disable"}`;
          const switched = () => act(path, `${p.name} not ${p.enabled === false ? "enabled" : "disabled"}`);
          if (p.enabled === false) return h("button", {type: "button", text: "Enable", on: {click: switched}});
          // A guard switched off lets through what it refuses: asked first, as a pause is.
          return p.guard
            ? confirmed("Disable", `Disable the guard ${p.name}? The entries it refuses will go through.`, switched,
                        `disable-${p.name}`, asking)
            : h("button", {type: "button", text: "Disable", on: {click: switched}});
        }],
      ], plugins) : h("p", {class: "muted", text: "No plugins."})),
      errors.length ? panel("Load errors", h("ul", {}, errors.map(([file, error]) => h("li", {}, h("code", {text: file}), " ", error)))) : null,
      h("p", {class: "muted", text: `Updated ${time(Date.now() / 1000)}`}));
    if (typing && reason.isConnected) {
      reason.focus();
      reason.setSelectionRange(...typing);
    }
    if (!asking.shown) asking.id = null;  // its button is gone: the engine paused or the plugin switched elsewhere
  };
  const refresh = coalesce(load);
  refresh();
  return listen((event) => REFRESHING.has(event.kind) && refresh());
}
