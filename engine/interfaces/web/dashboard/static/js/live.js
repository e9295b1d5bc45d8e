// Live updates: one EventSource on /api/events (the session cookie goes with it), its events
// handed to whoever listens; the browser reconnects by itself after a drop.

const handlers = new Set();
let source = null;

function mark(state) {
  const badge = document.getElementById("live");
  if (!badge) return;
  badge.textContent = state;
  badge.dataset.state = state;
}

export function connect() {
  if (source) return;
  source = new EventSource("/api/events");
  source.onopen = () => mark("live");
  source.onerror = () => mark(source && source.readyState === EventSource.CLOSED ? "offline" : "reconnecting");
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    handlers.forEach((fn) => {
      try { fn(event); } catch (err) { console.error(err); }
    });
  };
}

export function disconnect() {
  if (source) source.close();
  source = null;
  mark("offline");
}

/** fn(event) for each event until the returned function is called. */
export function listen(fn) {
  handlers.add(fn);
  return () => handlers.delete(fn);
}
