"""Read a catalogue file (TOML) and check it; every error names its line.

The shipped file is ``data/catalogue.toml``; a deployment points ``PARLEY_CATALOGUE`` at its own.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from server.catalogue.model import Catalogue, build
from server.catalogue.schema import CatalogueFile


class CatalogueError(Exception):
    """The catalogue file is wrong; the message lists each problem as ``file:line: what``."""


def load_catalogue(text: str, name: str = "catalogue.toml") -> Catalogue:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{name}: {exc}") from None
    try:
        parsed = CatalogueFile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{name}:{line_of(text, e['loc'])}: {_where(e['loc'])}: {e['msg']}"
                 for e in exc.errors()]
        raise CatalogueError("\n".join(lines)) from None
    catalogue, problems = build(parsed)
    if catalogue is None:
        raise CatalogueError("\n".join(f"{name}:{line_of(text, loc)}: {_where(loc)}: {msg}"
                                       for loc, msg in problems))
    return catalogue


def load_catalogue_file(path: Path) -> Catalogue:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from None
    return load_catalogue(text, str(path))


@functools.cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue (read once; immutable)."""
    text = resources.files("server.catalogue").joinpath("data/catalogue.toml").read_text("utf-8")
    return load_catalogue(text, "server/catalogue/data/catalogue.toml")


def configured_catalogue(path: Path | None) -> Catalogue:
    """The deployment's catalogue (``Settings.catalogue_path``) or the shipped one."""
    return default_catalogue() if path is None else load_catalogue_file(path)


def line_of(text: str, loc: Sequence[str | int]) -> int:
    """The line (1-based) of the table or key a pydantic location points at, best effort."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    tables: list[str] = []
    i = 0
    while i < len(loc):
        key = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if isinstance(key, str) and isinstance(nxt, int):
            tables.append(key)
            header = re.compile(r"^\s*\[\[\s*" + re.escape(".".join(tables)) + r"\s*\]\]")
            hits = [n for n in range(start, end) if header.match(lines[n])]
            if nxt >= len(hits):
                return start + 1
            start = hits[nxt]
            following = [n for n in range(start + 1, end)
                         if re.match(r"^\s*\[\[?\s*" + re.escape(".".join(tables)) + r"\s*\]\]?",
                                     lines[n]) or re.match(r"^\s*\[\[?[^.\]]+\]\]?\s*$", lines[n])]
            end = following[0] if following else end
            i += 2
            continue
        if isinstance(key, str):
            pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
            for n in range(start, end):
                if pattern.match(lines[n]):
                    return n + 1
        return start + 1
    return start + 1


def _where(loc: Sequence[str | int]) -> str:
    return ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[")
