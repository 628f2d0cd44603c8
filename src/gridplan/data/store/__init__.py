"""Stores: PostGIS (system of record) and an embedded GeoPackage, behind one interface."""

from gridplan.data.store.base import ImportResult, Store, open_store

__all__ = ["ImportResult", "Store", "open_store"]
