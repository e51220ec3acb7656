"""The base of every kind's settings: a frozen dataclass whose field defaults are the
full-run values and whose ``SMOKE`` holds the fields that differ in smoke mode.

It sits below the networks (:mod:`musicalpy.models`) and the families that build them
(:mod:`musicalpy.families`), so that a network can read its settings class without
importing the family that trains it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = ["Settings"]


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of every family's settings: field defaults are the full-run values and
    :attr:`SMOKE` the fields that differ in smoke mode, so each value is written once.

    Sequences are tuples (the settings are frozen); :meth:`to_dict` gives lists for
    ``card.json`` and the CLI, :meth:`from_dict` reads them back.
    """

    #: Field values that differ in smoke runs (tiny models for tests).
    SMOKE: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def defaults(cls, smoke: bool = False) -> Settings:
        """The full-run settings, or the smoke ones."""
        return cls(**dict(cls.SMOKE)) if smoke else cls()

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, *, smoke: bool = False) -> Settings:
        """:meth:`defaults` with ``values`` applied; unknown keys raise a ValueError."""
        base = cls.defaults(smoke)
        return base.replace(**dict(values or {})) if values else base

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (lists become tuples); unknown names raise."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            kind = getattr(self, "kind", type(self).__name__)
            raise ValueError(f"unknown setting(s) for {kind}: {sorted(unknown)}; known: {sorted(known)}")
        return dataclasses.replace(self, **{k: _frozen(v) for k, v in changes.items()})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples as lists."""
        return {f.name: _thawed(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def __getitem__(self, name: str) -> Any:
        # Read-only mapping access keeps ``settings["units"]`` of older callers working.
        if name not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """``getattr`` with a default, as ``dict.get``."""
        return getattr(self, name, default)

    def keys(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value
