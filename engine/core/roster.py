"""The loaded plugins, as snapshots: what makes a reload atomic.

A ``Roster`` is the set of plugins at one moment, never changed once made (a plugin's
``enabled`` switch aside). Each alert, timer call or broker event holds the roster that was
current when it began, so it finishes on the versions it started with however many reloads
happen meanwhile. ``PluginSet`` makes a new roster for each change, and knows when a plugin
taken out of service is no longer used by anything in flight, so its runtime can go.

A roster's index maps (symbol, hook) to the enabled plugins that define that hook and watch
that symbol, in priority order: the cost of an alert follows the plugins it concerns, not
the plugins loaded.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

from engine.core.plugins import Plugin


class Roster:
    """The plugins by name at one moment (``generation``)."""

    __slots__ = ("generation", "_by_name", "_index")

    def __init__(self, by_name: dict[str, Plugin], generation: int):
        self.generation = generation
        self._by_name = by_name
        self._index: dict[tuple[str | None, str], tuple[Plugin, ...]] = {}

    def __iter__(self) -> Iterator[Plugin]:
        return iter(sorted(self._by_name.values(), key=_order))

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> Plugin | None:
        return self._by_name.get(name)

    def concerned(self, symbol: str | None, hook: str) -> tuple[Plugin, ...]:
        """The enabled plugins defining ``hook`` that watch ``symbol``, lowest priority first.
        A symbol-less alert (closeall) concerns every plugin with the hook."""
        key = (symbol, hook)
        found = self._index.get(key)
        if found is None:
            found = tuple(sorted((p for p in self._by_name.values()
                                  if p.enabled and hook in p.hooks and (symbol is None or p.meta.watches(symbol))),
                                 key=_order))
            self._index[key] = found
        return found

    def with_hook(self, hook: str) -> Iterable[Plugin]:
        return (p for p in self if p.enabled and hook in p.hooks)


class PluginSet:
    """The current roster, the rosters held by work in flight, and the plugins retiring."""

    def __init__(self) -> None:
        self.current = Roster({}, 0)
        self._held: Counter[int] = Counter()        # generation -> holders
        self._retiring: list[tuple[Plugin, int]] = []  # out of service since that generation

    # -- the current plugins ----------------------------------------------------------------

    def __iter__(self) -> Iterator[Plugin]:
        return iter(self.current)

    def __len__(self) -> int:
        return len(self.current)

    def get(self, name: str) -> Plugin | None:
        return self.current.get(name)

    def from_file(self, path: Path) -> Plugin | None:
        return next((p for p in self.current if p.path == path), None)

    def concerned(self, symbol: str | None, hook: str) -> tuple[Plugin, ...]:
        return self.current.concerned(symbol, hook)

    def with_hook(self, hook: str) -> Iterable[Plugin]:
        return self.current.with_hook(hook)

    # -- changes ------------------------------------------------------------------------------

    def swap(self, add: Plugin | None = None, remove: Iterable[Plugin] = ()) -> None:
        """The next roster: ``add`` in (replacing any plugin of its name), ``remove`` out. What
        leaves retires once nothing in flight holds a roster it is in."""
        by_name = dict(self.current._by_name)
        leaving = {id(p): p for p in remove if by_name.get(p.name) is p}
        if add is not None and by_name.get(add.name) not in (None, add):
            leaving[id(by_name[add.name])] = by_name[add.name]
        for p in leaving.values():
            del by_name[p.name]
        if add is not None:
            by_name[add.name] = add
        generation = self.current.generation + 1
        self.current = Roster(by_name, generation)
        self._retiring.extend((p, generation) for p in leaving.values())

    def changed(self) -> None:
        """Call after enabling or disabling a plugin: the current roster's index is redone."""
        self.current._index.clear()

    # -- work in flight ------------------------------------------------------------------------

    def hold(self) -> Roster:
        """The current roster, held until ``release``: its plugins stay loaded meanwhile."""
        roster = self.current
        self._held[roster.generation] += 1
        return roster

    def release(self, roster: Roster) -> None:
        self._held[roster.generation] -= 1
        if not self._held[roster.generation]:
            del self._held[roster.generation]

    def retired(self) -> list[Plugin]:
        """Takes the plugins out of service that nothing in flight can reach any more."""
        oldest = min(self._held, default=self.current.generation)
        done = [p for p, since in self._retiring if since <= oldest]
        self._retiring = [(p, since) for p, since in self._retiring if since > oldest]
        return done

    @property
    def retiring(self) -> int:
        return len(self._retiring)


def _order(p: Plugin) -> tuple[int, str]:
    return (p.meta.priority, p.name)
