"""``server.hosts``: the names the dashboard and the API answer to (docs/security.md, "DNS rebinding").

A stranger's site can make its own name lead to this machine (its LAN address, or 127.0.0.1)
after its page has loaded in the trader's browser: the page's requests are then same-origin to
the browser, and reach moonhook from the trader's own address. Such a request names the
stranger's site in its ``Host``. The names no DNS answer can move (an IP address,
``localhost`` and names under ``.localhost``, which browsers resolve to this machine
themselves) are always answered; any other only when ``server.hosts`` lists it, with its port
(``"mypc.local:8080"``) or without (any port).
"""

from __future__ import annotations

import ipaddress
import re

Name = tuple[str, int | None]  # a name (lowercase, no trailing dot; an IPv6 address unbracketed) and its port

_LABELS = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def split(text: str) -> Name | None:
    """A ``Host`` header's (or a ``server.hosts`` entry's) name and port: ``"Example.com.:8080"``
    is ``("example.com", 8080)``, ``"[::1]"`` is ``("::1", None)``; None when it is neither an
    IP address nor a DNS name, or its port is not a number."""
    text = text.strip().lower()
    port: str | None = None
    if text.startswith("["):  # "[::1]:8080"
        name, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    elif text.count(":") == 1:
        name, port = text.split(":")
    else:
        name = text
    name = name.rstrip(".")
    if port is not None and not (port.isdecimal() and 0 < int(port) < 65536):
        return None
    if not (_ip(name) or (len(name) <= 253 and _LABELS.fullmatch(name))):
        return None
    return name, int(port) if port is not None else None


def _ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


def fixed(name: str) -> bool:
    """Whether ``name`` (as ``split`` gives it) is one no DNS answer can move to another machine."""
    return _ip(name) or name == "localhost" or name.endswith(".localhost")


def host_entries(entries: object) -> tuple[str, ...]:
    """``server.hosts`` as given, checked; raises ValueError naming the entry that is not a name."""
    if not isinstance(entries, (list, tuple)):
        raise ValueError(f"server.hosts: expected a list of names, like [\"trader.example.com\"], got {entries!r}")
    for i, entry in enumerate(entries):
        if not isinstance(entry, str) or split(entry) is None:
            raise ValueError(f"server.hosts[{i}]: expected a name, or a name:port, like \"trader.example.com\" or "
                             f"\"mypc.local:8080\", got {entry!r}")
    return tuple(entries)


def answers(host: str | None, hosts: tuple[Name, ...]) -> bool:
    """Whether a request whose ``Host`` header is ``host`` is answered: none or an empty one
    (HTTP/1.0: no name a page could own), a fixed name, or one of ``hosts`` (``split`` entries)."""
    if not host:
        return True
    named = split(host)
    if named is None:
        return False
    name, port = named
    # A Host without a port names the scheme's own, 80 or 443: an entry with either matches it.
    return fixed(name) or any(name == n and (p in (None, port) or (port is None and p in (80, 443)))
                              for n, p in hosts)


def listed(entries: tuple[str, ...]) -> tuple[Name, ...]:
    """``server.hosts`` entries (checked by ``host_entries``) as names and ports."""
    return tuple(n for n in (split(e) for e in entries) if n is not None)


def unlisted_note(host: str, entries: tuple[str, ...], proxies: tuple[str, ...] = ()) -> str | None:
    """What ``moonhook run`` and ``moonhook check`` say when no name is listed and the server
    listens beyond this machine (``server.host`` is not a loopback address), or sits behind a
    reverse proxy (``proxies``: ``server.trusted_proxies``), which forwards the public name; None
    otherwise."""
    bare = host.strip().lower().strip("[]")
    if entries:
        return None
    if bare == "localhost" or (_ip(bare) and ipaddress.ip_address(bare.split("%", 1)[0]).is_loopback):
        if not proxies:
            return None
        return ("server.trusted_proxies is set and server.hosts is empty: a reverse proxy that forwards your public "
                "name (Caddy does, nginx with proxy_set_header Host) has the dashboard and the API refused (403) "
                "until the name is listed in server.hosts. The webhook answers at any name.")
    named = "" if _ip(bare) else f", {host!r}"
    return (f"server.host is {host!r} and server.hosts is empty: the dashboard and the API answer at this "
            f"machine's IP addresses, localhost{named} only; another name for it (your reverse proxy's public "
            "name, mypc.local) is refused until listed in server.hosts. The webhook answers at any name.")
