"""The dashboard's static files, read once: what may be served, with its type and a version.

Only the files found in ``static/`` when the server starts are served, looked up by their exact
relative path in a table, so no path from a request ever reaches the file system (no
traversal, no directory listing). The version is a hash of every file's content: the page
names its files under ``/static/<version>/``, which may be cached for good, and a new release
(any changed file) gets a new version, so browsers fetch it again.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).with_name("static")

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".md": "text/plain; charset=utf-8",
}
_COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".json", ".md")


@dataclass(frozen=True)
class File:
    body: bytes
    gzipped: bytes | None  # None where compressing does not pay
    content_type: str


class Files:
    """The files under ``root`` of a known type, by relative POSIX path; ``version`` names this set."""

    def __init__(self, root: Path = STATIC):
        self.files: dict[str, File] = {}
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            kind = TYPES.get(path.suffix.lower())
            if kind is None or any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            name = path.relative_to(root).as_posix()
            body = path.read_bytes()
            digest.update(name.encode() + b"\0" + body + b"\0")
            packed = gzip.compress(body, 9, mtime=0) if path.suffix in _COMPRESSIBLE else None
            self.files[name] = File(body, packed if packed and len(packed) < len(body) else None, kind)
        self.version = "v" + digest.hexdigest()[:12]

    def get(self, name: str) -> File | None:
        return self.files.get(name)

    def page(self) -> bytes:
        """index.html with its ``{{version}}`` placeholders filled in."""
        return self.files["index.html"].body.replace(b"{{version}}", self.version.encode())


@lru_cache(maxsize=1)
def packaged() -> Files:
    """The package's own files, read and compressed once per process (every app shares them)."""
    return Files()
