"""/resume in the dashboard's words: with alerts held from the pause, it asks first, saying how
many a plain resume skips for good, and offers running them instead, as the Plugins page's
Resume and "Resume and run them" do (docs/dashboard.md), through the same facade call
(``Operations.resume``, what ``POST /api/resume?execute_missed=true`` calls). With none held it
resumes at once, as /pause pauses."""

from __future__ import annotations

from engine.app.operations import Operations
from engine.interfaces.telegram.tables import ago

RUN = "run"      # the button that resumes and runs the held alerts (its callback data's action)


def asked(held: int) -> str:
    """The question, as the dashboard asks it (engine/interfaces/web/dashboard/static/js/views/plugins.js)."""
    them = "The alert" if held == 1 else f"The {held} alerts"
    return (f"<b>Resume the engine?</b> {them} received while paused will be skipped: journaled, never executed.\n"
            f"<b>Resume and run them</b> runs {them.lower()} instead, oldest first, at the prices of now (those "
            f"older than engine.max_alert_age expire).")


def question(held: int, confirm_seconds: float) -> str:
    """The question's message: what it asks, then how to answer it."""
    return (f"{asked(held)}\nPress a button, or send <code>/resume</code> again to resume without them, "
            f"within {ago(confirm_seconds)}.")


def keyboard(token: str, no: str) -> dict:
    """Resume (skipping them), Resume and run them, and Keep paused (``no``: the dismissal)."""
    return {"inline_keyboard": [[{"text": "Resume", "callback_data": f"resume:{token}"},
                                 {"text": "Resume and run them", "callback_data": f"{RUN}:{token}"}],
                                [{"text": "Keep paused", "callback_data": f"{no}:{token}"}]]}


async def resumed(ops: Operations, run: bool, by: str, shown: tuple[int, ...]) -> str:
    """Resumes (running the held alerts if ``run``) and says what it did; a no when not paused
    (resumed meanwhile from elsewhere: nothing runs twice, nothing is skipped unasked). Raises
    HeldChanged, still paused, when other alerts are held than the question showed (``shown``: their ids)."""
    if not ops.paused:
        return "Not paused: alerts are being executed."
    queued = await ops.resume(run, by=by, shown=shown)
    if queued:
        them = "the alert" if queued == 1 else f"the {queued} alerts"
        return (f"▶️ <b>Resumed</b>: {them} received while paused {'is' if queued == 1 else 'are'} queued, oldest "
                "first, at the prices of now; new alerts are executed after them.")
    return ("▶️ <b>Resumed</b>: new alerts are executed. Those received while paused are skipped (journaled, "
            "never executed).")
