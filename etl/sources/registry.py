"""Finds the sources: every package under etl/sources/ that exposes `SOURCE`.

Adding a source is adding a folder; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

import etl.sources
from etl.errors import ConfigError
from etl.sources.base import Source


@cache
def source_packages() -> tuple[ModuleType, ...]:
    """Every source package under etl/sources/, imported."""
    return tuple(
        importlib.import_module(f"etl.sources.{module.name}")
        for module in pkgutil.iter_modules(etl.sources.__path__)
        if module.ispkg
    )


@cache
def all_sources() -> dict[str, Source]:
    found: dict[str, Source] = {}
    for package in source_packages():
        source = getattr(package, "SOURCE", None)
        if source is not None:
            found[source.name] = source
    return found


def get_source(name: str) -> Source:
    sources = all_sources()
    if name not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise ConfigError(f"unknown source {name!r} (known: {known})")
    return sources[name]
