"""``foreign``: whether a request was sent by another site's page open in the trader's browser, as
the browser tells it (docs/security.md, "The dashboard's session").

``Sec-Fetch-Site``, which no page can set, says so when the browser sends it; a browser too old
to send it (Safari before 16.4, Firefox before 90) still sends ``Origin`` with a page's POST, which
no page can set either. A request with neither (curl, ``moonhook send``, a script) is no page's.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit

from engine.domain.config.hosts import split

DEFAULT_PORTS = {"http": 80, "https": 443}


def foreign(headers: Mapping[str, str]) -> str | None:
    """What marks the request whose ``headers`` these are as sent by another site's page
    (``"Sec-Fetch-Site: cross-site"``, ``"Origin: 'http://evil.example'"``); None when nothing does.
    A ``Sec-Fetch-Site`` that says the page is this origin's, or none (an address typed in), is
    believed over ``Origin``: behind a reverse proxy that does not forward the public name in
    ``Host``, ``Origin`` differs from it on the dashboard's own requests."""
    site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    if site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {site}"
    if site in ("same-origin", "none"):
        return None
    origin = headers.get("Origin")
    if origin is not None and not same_origin(origin, headers.get("Host")):
        return f"Origin: {origin[:80]!r}"
    return None


def same_origin(origin: str, host: str | None) -> bool:
    """Whether the ``Origin`` header ``origin`` names the server that the ``Host`` header ``host``
    names: the same name, and the same port (a ``Host`` without one: the origin's scheme's own,
    as behind a reverse proxy on 80 or 443). ``null`` (a sandboxed frame, a ``data:`` page, a
    redirect from another site) names none, nor does one ``urlsplit`` cannot read (``http://[::1``)."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:   # an unclosed [ of an IPv6 address: a 500 and a traceback, for a stranger's header
        return False
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return False
    theirs, ours = split(parts.netloc), split(host or "")
    if theirs is None or ours is None:
        return False
    default = DEFAULT_PORTS[scheme]
    return theirs[0] == ours[0] and (theirs[1] or default) == (ours[1] or default)
