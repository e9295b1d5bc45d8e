// Editor: the files of scripts/, opened in CodeMirror with Lua highlighting and line numbers
// (vendor/, loaded only here); Check marks each finding at its line, Save shows the reload's
// result or error at its line, Replay sets the draft beside the live version over the last
// days of alerts (replay.js), New starts a file from an example.

import {h, clear, panel, failure, refusal} from "../dom.js";
import {get, request} from "../api.js";
import {replayResult} from "./replay.js";
import {guard, mayLeave} from "../unsaved.js";

const vendor = (file) => new URL(`../../vendor/${file}`, import.meta.url).href;
let loading = null;

function script(src) {
  return new Promise((resolve, reject) => {
    document.head.append(h("script", {src, on: {load: resolve, error: () => reject(new Error(`could not load ${src}`))}}));
  });
}

/** CodeMirror and its Lua mode, loaded once; null if they cannot be (a plain textarea then). */
function codemirror() {
  loading ??= (async () => {
    document.head.append(h("link", {rel: "stylesheet", href: vendor("codemirror.min.css")}));
    await script(vendor("codemirror.min.js"));
    await script(vendor("lua.min.js"));
    return window.CodeMirror;
  })().catch(() => null);
  return loading;
}

const names = (list) => (list || []).map((f) => (typeof f === "string" ? f : f.name ?? f.file ?? f.path)).filter(Boolean);
const textOf = (answer) => (typeof answer === "string" ? answer : answer.text ?? answer.source ?? "");

class Pad {
  constructor(host, CM, text, readOnly) {
    this.marks = [];
    if (CM) {
      this.cm = CM(host, {value: text, mode: "lua", lineNumbers: true, indentUnit: 2, readOnly,
                          gutters: ["CodeMirror-linenumbers", "findings"]});
    } else {
      this.area = h("textarea", {class: "plain-editor", spellcheck: "false"});
      this.area.value = text;
      this.area.readOnly = readOnly;
      host.append(this.area);
    }
  }

  get text() { return this.cm ? this.cm.getValue() : this.area.value; }

  unmark() {
    if (!this.cm) return;
    this.cm.clearGutter("findings");
    this.marks.forEach((line) => this.cm.removeLineClass(line, "background"));
    this.marks = [];
  }

  /** A finding at its (1-based) line: a marker in the gutter, the line tinted, its message as the marker's title. */
  mark(line, severity, message) {
    if (!this.cm || !Number.isInteger(line) || line < 1) return;
    const handle = this.cm.getLineHandle(Math.min(line, this.cm.lineCount()) - 1);
    this.cm.setGutterMarker(handle, "findings", h("span", {class: `finding ${severity}`, title: message, text: "●"}));
    this.cm.addLineClass(handle, "background", `line-${severity === "error" ? "error" : "warning"}`);
    this.marks.push(handle);
  }

  go(line) {
    if (this.cm && line >= 1) { this.cm.setCursor({line: line - 1, ch: 0}); this.cm.focus(); }
  }
}

/** A version as the alerts and the Plugins page name it (the source's hash, begun). */
const named = (version) => (version ? ` Version ${version} serves.` : "");

/** A save that loaded: a plugin switched off (by an administrator) stays off, and decides nothing. */
function loaded(answer) {
  if (answer.enabled !== false) {
    return h("p", {class: "ok", text: `Saved and loaded.${named(answer.serving_version)}`});
  }
  return h("p", {class: "error", id: "save-off", text: `Saved and loaded, but ${answer.plugin} is switched off: `
    + "it decides nothing until it is enabled (Plugins)."});
}

/** A save that did not load: what trades meanwhile, the version from before or nothing. */
function serving(answer) {
  return h("p", {class: "muted", id: "save-serving", text: answer && answer.serving
    ? `${answer.serving} goes on serving its version from before this save.${named(answer.serving_version)}`
    : "Nothing serves from this file until it loads."});
}

/** The editor; `shown`: the script to open (#/editor/<file>: the Plugins page's link to a file that does not load). */
export function render(root, shown) {
  const files = h("ul", {class: "files", id: "script-files"}, h("li", {class: "muted", text: "Loading…"}));
  const examples = h("select", {id: "example"});
  const newName = h("input", {id: "new-name", placeholder: "new.lua", size: 12});
  const work = h("div", {id: "editor-work"});
  const refused = h("div", {id: "new-refused"});
  root.append(h("h1", {text: "Editor"}),
    h("div", {class: "editor-layout"},
      panel("Scripts", files,
        h("form", {class: "filters", id: "new-script", on: {submit: (e) => { e.preventDefault(); fresh(); }}},
          newName, examples, h("button", {type: "submit", text: "New"})), refused),
      work));
  let editable = false;
  let exampleList = [];
  let nameRule = null;  // {pattern, rule}: what a new file may be named, as the server says
  let opened = null;  // {name, pad, saved}: the file on screen and the text last saved or read
  const unguard = guard(() => (opened && opened.pad.text !== opened.saved
    ? `${opened.name} has changes not saved.` : null));

  // A save goes over the version opened only (If-Match), a new file only where none is
  // (If-None-Match): an edit made elsewhere meanwhile, or a live strategy of the same name,
  // is never overwritten unseen.
  async function open(name, text) {
    if (!mayLeave()) return;
    opened = null;
    clear(work, h("p", {class: "muted", text: "Loading…"}));
    let version = null;
    try {
      if (text === undefined) {
        const found = await get(`/api/scripts/${encodeURIComponent(name)}`);
        text = textOf(found);
        version = found.version ?? null;
      }
    } catch (err) {
      clear(work, panel(name, failure(refusal("Not opened", err))));
      return;
    }
    const CM = await codemirror();
    const host = h("div", {class: "pad"});
    const result = h("div", {class: "result", id: "editor-result", role: "status"});
    const check = h("button", {type: "button", id: "check", text: "Check"});
    const save = h("button", {type: "button", id: "save", text: "Save", disabled: !editable});
    const replay = h("button", {type: "button", id: "replay", text: "Replay",
                                title: "what this draft would have done with the alerts received"});
    const days = h("input", {id: "replay-days", type: "number", min: 1, max: 366, value: 30, size: 4,
                             "aria-label": "days of alerts to replay"});
    clear(work, panel(name, h("div", {class: "toolbar"}, check, save, replay, days, h("span", {text: " days"}),
      editable ? null : h("span", {class: "muted", text: " editing is off (server.dashboard_edit)"})), host, result));
    const pad = new Pad(host, CM, text, !editable);
    opened = {name, pad, saved: text};
    const path = `/api/scripts/${encodeURIComponent(name)}`;

    const findings = (list) => {
      pad.unmark();
      clear(result);
      if (!list.length) return result.append(h("p", {class: "ok", text: "No findings."}));
      const where = (f) => (f.line ? h("code", {text: f.column ? `${f.line}:${f.column} ` : `line ${f.line} `}) : null);
      list.filter((f) => f.severity !== "ok").forEach((f) => pad.mark(Number(f.line), f.severity || "error", f.message));
      result.append(h("ul", {class: "findings"}, list.map((f) => h("li", {class: f.severity || "error", tabindex: 0,
        on: {click: () => pad.go(Number(f.line))}}, where(f), `${f.severity || "error"}: `, f.message))));
    };
    // An error at its line (a save that did not load, a replay refused for the draft): marked as a finding.
    const fault = (line, message) => findings([{line: Number.isInteger(line) ? line : undefined, severity: "error",
                                                message: message || "not loaded"}]);
    check.addEventListener("click", async () => {
      try {
        const answer = await request("POST", `${path}/check`, pad.text, {text: true});
        findings(Array.isArray(answer) ? answer : answer.findings || []);
      } catch (err) {
        clear(result, failure(refusal("Not checked", err)));
      }
    });
    // A 422 names the file at fault (and its line): this script's is marked as a save's error is;
    // another file's (moonhook.toml saved since) is named, nothing marked here.
    const refusedReplay = (err) => {
      const at = err.status === 422 && err.body ? err.body.file : null;
      if (at === name) {
        fault(Number(err.body.line), err.body.error);
        result.prepend(h("p", {class: "error", text: `Not replayed: ${name} does not run:`}));
      } else if (at) {
        clear(result, failure(new Error(`Not replayed, for a fault in ${at} (not in ${name}): ${err.body.error}`)));
      } else {
        clear(result, failure(refusal("Not replayed", err)));
      }
    };
    replay.addEventListener("click", async () => {
      replay.disabled = true;
      pad.unmark();
      clear(result, h("p", {class: "muted", text: `Replaying the last ${days.value} days of alerts…`}));
      try {
        const answer = await request("POST", `${path}/replay?days=${encodeURIComponent(days.value)}`, pad.text, {text: true});
        clear(result, replayResult(answer));
        // The draft's faults in this script, marked at their lines (once a line) as a save's error is.
        const lines = new Map((answer.draft?.faults ?? []).filter((f) => f.file === name).map((f) => [f.line, f.what]));
        lines.forEach((what, line) => pad.mark(line, "error", what));
        result.scrollIntoView({block: "nearest"});
      } catch (err) {
        refusedReplay(err);
      } finally {
        replay.disabled = false;
      }
    });
    const store = async (over) => {
      save.disabled = true;
      const sent = pad.text;
      const precondition = over ? {"If-Match": `"${over}"`}
        : version ? {"If-Match": `"${version}"`} : {"If-None-Match": "*"};
      try {
        const answer = await request("PUT", path, sent, {text: true, headers: precondition});
        version = answer.version ?? version;
        if (opened && opened.pad === pad) opened.saved = sent;  // written, loaded or not
        pad.unmark();
        if (answer && answer.loaded) {
          clear(result, loaded(answer));
        } else {
          fault(Number(answer && answer.line), answer && (answer.message || answer.error));
          result.append(serving(answer));
        }
        loadFiles();
      } catch (err) {
        if (err.status === 412 && err.body) {
          const now = err.body.version;
          // Once: a second save, over the version the first wrote, would be refused as "changed since".
          const overwrite = h("button", {type: "button", id: "save-over", text: "Save over it",
                                         on: {click: () => { overwrite.disabled = true; store(now); }}});
          clear(result, h("p", {class: "error", id: "save-conflict", text: `${err.body.error} `}),
                now ? overwrite : null);
        } else {   // what was not done, then why (nothing was written)
          clear(result, failure(refusal("Not saved", err)));
        }
      } finally {
        save.disabled = false;
      }
    };
    save.addEventListener("click", () => store(null));
  }

  // A new name is asked about before anything is typed under it: the server's rule for a new file's
  // name (given with the list: GET /api/scripts' new_name; the save checks it too), then whether the
  // file is there already (a live strategy).
  // Said beside the form: the script open, and what is typed in it, stay.
  function refuse(err) {
    clear(refused, failure(err));
  }

  async function fresh() {
    clear(refused);
    const name = newName.value.trim();
    if (!nameRule) return refuse(new Error("The list of scripts has not loaded yet: try again once it shows."));
    // A new file's editor could not be saved: said here, not as a read-only editor with its Save greyed out.
    if (!editable) {
      return refuse(new Error("Editing is off (server.dashboard_edit = false): no new script is made here."));
    }
    if (!new RegExp(nameRule.pattern).test(name)) {
      return refuse(new Error(`File name ${JSON.stringify(name)}: ${nameRule.rule}.`));
    }
    try {
      await get(`/api/scripts/${encodeURIComponent(name)}`);
      return refuse(new Error(`${name} exists already: open it from the list, or give the new script another name.`));
    } catch (err) {
      if (err.status !== 404) {
        return refuse(err.status === 400 && err.body ? new Error(err.body.error) : refusal("Not made", err));
      }
    }
    const example = exampleList.find((e) => e.name === examples.value);
    open(name, example ? example.text : "");
  }

  async function loadFiles() {
    try {
      const answer = await get("/api/scripts");
      editable = Boolean(answer.edit ?? answer.editable ?? answer.dashboard_edit);
      nameRule = answer.new_name ?? null;
      const list = names(Array.isArray(answer) ? answer : answer.files ?? answer.scripts);
      clear(files, list.length ? list.map((name) => h("li", {},
        h("a", {href: "#/editor", text: name, on: {click: (e) => { e.preventDefault(); open(name); }}})))
        : h("li", {class: "muted", text: "No scripts."}));
    } catch (err) {
      clear(files, h("li", {}, failure(refusal("Not shown", err))));
    }
  }

  async function loadExamples() {
    try {
      const answer = await get("/api/examples");
      exampleList = (Array.isArray(answer) ? answer : answer.examples || [])
        .map((e) => (typeof e === "string" ? {name: e, text: ""} : {name: e.name ?? e.file, text: textOf(e)}));
    } catch (_) {
      exampleList = [];
    }
    clear(examples, h("option", {value: "", text: "empty"}),
      exampleList.map((e) => h("option", {value: e.name, text: e.name})));
  }

  const listed = loadFiles();
  loadExamples();
  if (shown) listed.then(() => open(shown));  // once the list says whether editing is on
  return unguard;
}
