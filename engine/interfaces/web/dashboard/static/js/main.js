// The dashboard's router: one view per hash (#/overview, #/alerts, ...; #/alerts/12 opens an
// alert's detail), the login in front of them while there is no session, and the live event
// stream while there is one.

import {h, clear, failure} from "./dom.js";
import {session, logout, onLoggedOut} from "./api.js";
import {connect, disconnect, onRefused, reopen} from "./live.js";
import {mayLeave, unsaved} from "./unsaved.js";
import * as login from "./views/login.js";
import * as overview from "./views/overview.js";
import * as alerts from "./views/alerts.js";
import * as plugins from "./views/plugins.js";
import * as editor from "./views/editor.js";
import * as trades from "./views/trades.js";

const VIEWS = {overview, alerts, plugins, editor, trades};
const root = document.getElementById("view");
const nav = document.getElementById("nav");
const logoutButton = document.getElementById("logout");
let signedIn = false;
let leave = null;
let shown = location.hash;  // the address of the view on screen, gone back to when leaving it is refused
let notice = "";  // why the login is asked again: the session ended under the page
const ENDED = "Your session ended (logged out in another tab, expired, or the engine restarted): log in again.";
const RETRY_MS = 5000;  // a stream refused with the session alive (the server busy) is asked for again after this

function signed(state) {
  signedIn = state;
  nav.hidden = !state;
  logoutButton.hidden = !state;
  document.getElementById("live").hidden = !state;
  if (state) connect(); else disconnect();
}

function show() {
  shown = location.hash;
  document.getElementById("login-again")?.remove();
  if (leave) leave();
  leave = null;
  clear(root);
  const route = location.hash.replace(/^#\/?/, "") || "overview";
  const [name, ...rest] = route.split("/");
  if (!signedIn) {
    document.title = "moonhook: log in";
    login.render(root, {notice, done: () => {
      notice = "";
      signed(true);
      location.hash = name === "login" ? "#/overview" : `#/${route}`;
      show();
    }});
    return;
  }
  if (name === "login") {  // already logged in
    location.replace("#/overview");
    return;
  }
  const view = VIEWS[name];
  if (!view) {
    root.append(failure(new Error(`No view named ${name}.`)));
    return;
  }
  document.title = `moonhook: ${name}`;
  nav.querySelectorAll("a").forEach((a) => a.classList.toggle("current", a.dataset.view === name));
  root.dataset.view = name;
  try {
    leave = view.render(root, decodeURIComponent(rest.join("/"))) || null;
  } catch (err) {
    root.append(failure(err));
  }
}

// The session ended under the page (a 401 to a request, or to the stream): the login, saying why.
// A view holding work not saved (a script typed in the editor) stays below it, as it is, and goes
// on once logged in again: replaced by the login, the work would be lost to a session's end.
function ended() {
  if (!signedIn) return;
  signed(false);
  notice = ENDED;
  const lost = unsaved();
  if (!lost) {
    show();
    return;
  }
  const again = h("div", {id: "login-again"});
  root.before(again);
  login.render(again, {notice: `${ENDED} ${lost} It stays below, as it is.`, done: () => {
    notice = "";
    again.remove();
    signed(true);
  }});
}

onLoggedOut(ended);

// The stream refused: a 401 when the session ended (logged out in another tab, expired, the engine
// restarted, which forgets its sessions), which the browser does not retry; the page, left as it
// was, would show what it last read as if it were live. Any other refusal: asked for again later.
onRefused(async () => {
  try {
    await session();
  } catch (err) {
    if (err.status === 401) {
      ended();
      return;
    }
  }
  setTimeout(() => { if (signedIn) reopen(); }, RETRY_MS);
});

logoutButton.addEventListener("click", async () => {
  if (!mayLeave()) return;
  try { await logout(); } catch (_) { /* gone either way */ }
  notice = "";
  signed(false);
  show();
});

window.addEventListener("hashchange", () => {
  if (location.hash !== shown && !mayLeave()) {
    history.replaceState(null, "", shown || location.pathname);  // the view and its work stay
    return;
  }
  show();
});

// The page says whether the browser had a session when it was served: without one, the login
// at once, never a GET /api/session answered 401 (an error in the console of every first visit).
(async () => {
  try {
    if (root.dataset.session !== "yes") throw new Error("no session");
    await session();
    signed(true);
  } catch (_) {
    signed(false);
  }
  show();
})();
