"""The dashboard's page at ``/`` and its files under ``/static`` (docs/dashboard.md).

The page is plain HTML, CSS and JavaScript modules from ``static/``; it reads and acts through
the ``/api`` routes with the session its login opens. Every answer of this blueprint carries a
Content-Security-Policy that allows nothing inline and nothing from elsewhere, so a string
from an alert or a script that slipped into the page as markup still could not run.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.dashboard.files import Files, packaged
from engine.interfaces.web.session import signed_in

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
FOREVER = "public, max-age=31536000, immutable"  # a versioned path never changes content


def dashboard_blueprint(ops: Operations, server: ServerConfig, files: Files | None = None) -> Blueprint:
    """``GET /`` and ``GET /static/<path>``; ``files`` defaults to the package's ``static/``
    folder, read once per process (raises OSError if it cannot be read, KeyError without
    index.html)."""
    files = files or packaged()
    page = files.page()
    bp = Blueprint("dashboard", __name__)

    @bp.after_request
    async def secure(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @bp.get("/")
    async def index():
        # Always revalidated: it is what names the current version of everything else, and
        # whether this browser has a session (the page asks for its CSRF token only then).
        shown = page.replace(b"{{session}}", b"yes" if signed_in() else b"no")
        return Response(shown, content_type=files.get("index.html").content_type,
                        headers={"Cache-Control": "no-cache"})

    @bp.get("/static/<path:name>")
    async def static(name: str):
        head, _, rest = name.partition("/")
        versioned = head == files.version and rest
        found = files.get(rest if versioned else name)
        if found is None:
            return Response("not found\n", status=404, content_type="text/plain; charset=utf-8")
        gzipped = found.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", "")
        headers = {"Cache-Control": FOREVER if versioned else "no-cache", "Vary": "Accept-Encoding"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped if gzipped else found.body, content_type=found.content_type, headers=headers)

    return bp


__all__ = ["CSP", "dashboard_blueprint"]
