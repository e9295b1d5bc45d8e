// The page's one way to the server: same-origin fetches carrying the session cookie, and on
// every state-changing request the X-CSRF-Token that GET /api/session gives. The token typed
// at login goes only into the body of POST /login: never a URL, never storage.

// .message begins with the request ("GET /api/x: 404 ..."), for the console; .why is the server's
// words alone (or that it cannot be reached), for the trader: dom.js refusal() says it.
export class ApiError extends Error {
  constructor(status, message, why = message) {
    super(message);
    this.status = status;
    this.why = why;
  }
}

let csrf = null;
const listeners = new Set();

/** fn() is called when a request finds the session gone (401). */
export function onLoggedOut(fn) {
  listeners.add(fn);
}

async function reason(response, what) {
  let detail = response.statusText || "";
  let body = null;
  try {
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      body = await response.json();
      detail = body.error || body.message || detail;
    } else {
      detail = (await response.text()).trim().slice(0, 200) || detail;
    }
  } catch (_) { /* the status alone says it */ }
  const error = new ApiError(response.status, `${what}: ${response.status} ${detail}`.trim(),
                             body?.error || `${response.status} ${detail}`.trim());
  error.body = body;
  return error;
}

/** The session's CSRF token, asked once; null when there is no session. */
export async function session() {
  const response = await fetch("/api/session", {credentials: "same-origin", cache: "no-store"});
  if (!response.ok) {
    csrf = null;
    throw await reason(response, "GET /api/session");
  }
  csrf = (await response.json()).csrf;
  return csrf;
}

async function send(method, path, init) {
  try {
    return await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, `${method} ${path}: the server cannot be reached`, "the server cannot be reached");
  }
}

/** Whether the session's CSRF token is another than the one in headers, now put there. A login
 * from another tab replaces the session (its cookie is this tab's too), and this tab's token,
 * the old session's, would have every change refused until the page is reloaded. */
async function renewed(headers) {
  const old = headers["X-CSRF-Token"];
  try { await session(); } catch (_) { return false; }
  if (!csrf || csrf === old) return false;
  headers["X-CSRF-Token"] = csrf;
  return true;
}

/** A request to the API; answers the parsed JSON (or text), throws ApiError (its answer's
 * JSON, when it has one, as .body). */
export async function request(method, path, body, {text = false, headers: more = {}} = {}) {
  const headers = {Accept: "application/json", ...more};
  const init = {method, headers, credentials: "same-origin", cache: "no-store"};
  const changes = method !== "GET" && method !== "HEAD";
  if (changes) {
    if (!csrf) {
      try { await session(); } catch (_) { /* the request's own 401 or 403 tells */ }
    }
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) {
    headers["Content-Type"] = text ? "text/plain; charset=utf-8" : "application/json";
    init.body = text ? body : JSON.stringify(body);
  }
  let response = await send(method, path, init);
  // A stale token's 403 comes before anything is done: sent again, once, with the session's own.
  if (response.status === 403 && changes && await renewed(headers)) response = await send(method, path, init);
  if (response.status === 401) {
    csrf = null;
    listeners.forEach((fn) => fn());
  }
  if (!response.ok) throw await reason(response, `${method} ${path}`);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);

/** POST /login with the token in a JSON body; throws ApiError with what went wrong. */
export async function login(token) {
  const response = await fetch("/login", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({token}),
  });
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    throw new ApiError(429, `Too many failed logins; try again${wait ? ` in ${wait} s` : " later"}.`);
  }
  if (response.status === 401) throw new ApiError(response.status, "Wrong token.");
  if (!response.ok) throw await reason(response, "POST /login");
  await session();
}

export async function logout() {
  try {
    await request("POST", "/logout");
  } finally {
    csrf = null;
  }
}
