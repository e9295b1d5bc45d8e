// Building the page from data: every string goes in as a text node or through an attribute
// setter, never as markup, so nothing from an alert, a script or a broker can become HTML.

const SVG = "http://www.w3.org/2000/svg";

function build(el, props, children) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") || key === "style") throw new Error(`h(): no ${key} attribute`);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h("td", {class: "num"}, "1.5"). */
export function h(tag, props, ...children) {
  return build(document.createElement(tag), props, children);
}

/** An SVG element, for the charts. */
export function s(tag, props, ...children) {
  return build(document.createElementNS(SVG, tag), props, children);
}

/** el emptied, then given children (nested arrays flattened; null, undefined and false left out). */
export function clear(el, ...children) {
  el.replaceChildren();
  return build(el, {}, children);
}

export function time(seconds) {
  if (seconds === undefined || seconds === null || seconds === "") return "";
  const d = new Date(Number(seconds) * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toLocaleTimeString();
}

export function datetime(seconds) {
  if (seconds === undefined || seconds === null || seconds === "") return "";
  const d = new Date(Number(seconds) * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toLocaleString();
}

export function num(value, digits = 2) {
  if (value === undefined || value === null || value === "") return "";
  const n = Number(value);
  return Number.isFinite(n) ? n.toFixed(digits) : String(value);
}

const scalar = (v) => v === null || typeof v !== "object";

/** A value of unknown shape, shown as text: a list of plain values joined by commas, a flat
 * object as "key value" pairs, anything deeper as indented JSON. */
export function show(value) {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value) && value.every(scalar)) return value.join(", ");
  if (typeof value === "object" && !Array.isArray(value) && Object.values(value).every(scalar)) {
    return Object.entries(value).map(([k, v]) => `${k} ${v}`).join(", ");
  }
  return typeof value === "object" ? JSON.stringify(value, null, 2) : String(value);
}

/** A table of rows: columns are [heading, (row) => text or Node, class]. */
export function table(columns, rows, rowProps = () => ({})) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map(([title, , cls]) => h("th", {class: cls}, title)))),
    h("tbody", {}, rows.map((row) => h("tr", rowProps(row),
      columns.map(([, cell, cls]) => h("td", {class: cls}, cell(row)))))));
}

/** Key and value pairs of a plain object, as a definition list. */
export function pairs(obj) {
  if (!obj || typeof obj !== "object") return h("p", {class: "muted", text: show(obj) || "none"});
  return h("dl", {class: "pairs"}, Object.entries(obj).map(([k, v]) => [h("dt", {text: k}), h("dd", {text: show(v)})]));
}

/** [label, value] pairs said in words by the engine (the overview's words), as a definition list. */
export function labelled(list) {
  const rows = Array.isArray(list) ? list : [];
  return h("dl", {class: "pairs"}, rows.map(([k, v]) => [h("dt", {text: k}), h("dd", {text: v})]));
}

/** A panel: a titled section whose body is filled later. */
export function panel(title, ...body) {
  return h("section", {class: "panel"}, h("h2", {text: title}), ...body);
}

/** What was not done, then why, as the page words a refusal: `refusal("Not saved", err)` is
 * "Not saved: <the server's words>" (an ApiError's why), never the request's method and path. */
export function refusal(what, err) {
  return new Error(`${what}: ${err?.why ?? err?.message ?? String(err)}`);
}

/** A failure shown in its panel as a plain message, in place of what could not be loaded. */
export function failure(err) {
  return h("p", {class: "error", role: "alert", text: err && err.message ? err.message : String(err)});
}

/**
 * A button that asks "Sure?" in place before it acts. `asking` holds the id of the question open, so a refresh
 * (a live event redraws the page) keeps the question on screen instead of taking it from under the pointer.
 * `no` is the label of the button that leaves things as they are. Yes acts once: a double-click would send the
 * action twice, and the second's refusal (the position closed already) would read as the first's failure.
 */
export function confirmed(label, question, act, id, asking, no = "Cancel") {
  const box = h("span", {class: "confirm"});
  const reset = () => {
    if (asking.id === id) asking.id = null;
    clear(box, h("button", {type: "button", id, text: label, on: {click: ask}}));
  };
  function ask() {
    asking.id = id;
    let answered = false;
    const yes = () => {
      if (answered) return;
      answered = true;
      asking.id = null;
      clear(box, h("span", {class: "muted", text: "…"}));
      act();
    };
    clear(box, h("span", {text: question + " "}),
      h("button", {type: "button", class: "danger", id: `${id}-yes`, text: "Yes", on: {click: yes}}),
      h("button", {type: "button", text: no, on: {click: reset}}));
  }
  if (asking.id === id) {
    asking.shown = true;
    ask();
  } else reset();
  return box;
}
