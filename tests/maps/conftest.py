"""Fixtures of the map tests (the kit itself is in ``mapkit.py``)."""

from mapkit import browser

__all__ = ["browser"]
