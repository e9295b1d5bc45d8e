// Work not saved, guarded: a view says what leaving it now would lose; the browser asks before the
// page itself goes (a reload, the tab closed, another address), and the dashboard asks before
// another view, another file or a log-out replaces it, so that a strategy typed is not lost to a slip.

let loses = null;

/** fn() says what leaving now would lose ("demo.lua has changes not saved."), or null; asked until
 * the function returned is called (the view left). */
export function guard(fn) {
  loses = fn;
  return () => { if (loses === fn) loses = null; };
}

/** What leaving the view now would lose ("demo.lua has changes not saved."), or null. */
export function unsaved() {
  return loses ? loses() : null;
}

/** Whether the page may leave what it shows: nothing would be lost, or the trader says to. */
export function mayLeave() {
  const lost = unsaved();
  return !lost || window.confirm(`${lost} Leave without saving?`);
}

window.addEventListener("beforeunload", (event) => {
  if (loses && loses()) {
    event.preventDefault();
    event.returnValue = "";  // older browsers ask only with it set
  }
});
