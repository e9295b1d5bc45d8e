// Live updates: one EventSource on /api/events (the session cookie goes with it), its events
// handed to whoever listens; the browser reconnects by itself after a drop, and the views are
// told a "lagged" event then: what happened during the drop was told to no one.

const handlers = new Set();
let source = null;
let opened = false;  // a stream was open since the login: one opened again missed what came meanwhile
let refused = () => {};

function mark(state) {
  const badge = document.getElementById("live");
  if (!badge) return;
  badge.textContent = state;
  badge.dataset.state = state;
}

export function connect() {
  if (source) return;
  source = new EventSource("/api/events");
  source.onopen = () => {
    mark("live");
    if (opened) tell({kind: "lagged", missed: null});  // each view reads again, as after events lost
    opened = true;
  };
  // A drop is retried by the browser; a refusal (an answer other than the stream: a 401 once the
  // session ended) is not, and is told to whoever asked (onRefused), to find out why.
  source.onerror = () => {
    const closed = source && source.readyState === EventSource.CLOSED;
    mark(closed ? "offline" : "reconnecting");
    if (closed) refused();
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    tell(event);
  };
}

function tell(event) {
  handlers.forEach((fn) => {
    try { fn(event); } catch (err) { console.error(err); }
  });
}

/** fn() is called when the server refuses the stream (the browser tries no more). */
export function onRefused(fn) {
  refused = fn;
}

/** The stream opened again after a refusal; the views read again once it is open. */
export function reopen() {
  if (!source || source.readyState !== EventSource.CLOSED) return;
  source = null;
  connect();
}

export function disconnect() {
  if (source) source.close();
  source = null;
  opened = false;
  mark("offline");
}

// A page left for another keeps its stream open in the back-forward cache, and the browser
// opens at most six connections to a server: six pages left that way and the next one never
// loads. So the stream closes when the page is hidden and opens again if it comes back.
let resume = false;
window.addEventListener("pagehide", () => {
  if (!source) return;
  source.close();
  source = null;
  resume = true;
});
window.addEventListener("pageshow", (e) => {
  if (e.persisted && resume) {
    resume = false;
    connect();
  }
});

/** fn(event) for each event until the returned function is called. */
export function listen(fn) {
  handlers.add(fn);
  return () => handlers.delete(fn);
}

/** fn run for many events at once: never two at a time, at most once per `gap` ms, and once
 *  more after a run if asked meanwhile (so the last event is always seen). At a bar's close
 *  hundreds of events come in a second; a reload for each would flood the server. A run that
 *  took long waits `pace` times as long before the next: a read of a year's trades costs the
 *  engine seconds, and back to back under a stream of fills it would hold the engine all along. */
export function coalesce(fn, gap = 1000, pace = 0) {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    const started = Date.now();
    try {
      await fn();
    } finally {
      const took = Date.now() - started;
      const wait = Math.max(0, gap - took, pace * took);
      setTimeout(() => {
        running = false;
        if (again) { again = false; run(); }
      }, wait);
    }
  };
  return run;
}

/** fn at most once per frame however often asked: a redraw for a burst of events. */
export function perFrame(fn) {
  let asked = false;
  return () => {
    if (asked) return;
    asked = true;
    requestAnimationFrame(() => { asked = false; fn(); });
  };
}
