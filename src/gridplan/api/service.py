"""The state one HTTP app holds: its settings, its store and its cache of immutable plans.

Plans are append-only and never change once stored, so a loaded plan can be kept for as long
as it is useful. Only "which plan is the latest" (and "which import is the latest") can change:
:class:`PlanCache` re-asks the store at most every ``refresh_seconds`` (one cheap query), and at
once when the store says it changed — PostGIS through ``LISTEN``/``NOTIFY`` (every write of any
process notifies the store's channel), the GeoPackage through its change stamp (one ``stat`` of
the file per answer) — so every worker of ``gridplan serve --workers N`` sees a plan another
worker or a ``gridplan`` command stored within milliseconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from gridplan.data.store.base import Store, open_store
from gridplan.errors import NotFoundError
from gridplan.plan import Plan
from gridplan.settings import Settings

T = TypeVar("T")

logger = logging.getLogger("gridplan.api")

#: The largest plan id (plan ids are 32-bit integers in the stores).
PLAN_ID_MAX = 2_147_483_647


class Service:
    """The settings, store and plan cache behind one app.

    Parameters
    ----------
    settings
        The service settings.
    store
        An open store; ``None`` opens ``settings.database_url`` on first use.
    refresh_seconds
        How stale "the latest plan" may be when another process stores a plan.
    """

    def __init__(
        self, settings: Settings, store: Store | None = None, *, refresh_seconds: float = 1.0
    ) -> None:
        self.settings = settings
        #: How stale "the latest plan" and "the latest import" may be.
        self.refresh_seconds = refresh_seconds
        self._store = store
        self._owns_store = store is None
        self._open_lock = threading.Lock()
        # A GeoPackage (SQLite) store is used by one thread at a time; PostGIS has a pool.
        self._call_lock: threading.Lock | None = None
        if store is not None:
            self._call_lock = None if _is_postgis(store) else threading.Lock()
        self.plans = PlanCache(self, refresh_seconds=refresh_seconds)
        self._import_marker = 0
        self._import_checked = -float("inf")
        self._stamp: Hashable | None = None
        self._stop_watch: Callable[[], None] | None = None
        self._want_watch = False
        if store is not None:
            self._stamp = store.change_stamp()

    @property
    def store(self) -> Store:
        """The store, opened on first use."""
        if self._store is None:
            with self._open_lock:
                if self._store is None:
                    store = open_store(self.settings.database_url)
                    self._call_lock = None if _is_postgis(store) else threading.Lock()
                    self._store = store
                    self._stamp = store.change_stamp()
                    if self._want_watch:
                        self._stop_watch = store.watch(self.changed)
        return self._store

    def start_watching(self) -> None:
        """Listen to the store's change feed (:meth:`Store.watch`) until :meth:`close`; the
        app does this at startup. Without it, another process's plan is seen within
        ``refresh_seconds`` (or at once on a store with a change stamp). A store not yet
        opened is watched from when it is first used."""
        with self._open_lock:
            self._want_watch = True
            if self._stop_watch is None and self._store is not None:
                self._stop_watch = self._store.watch(self.changed)

    def changed(self, what: str = "") -> None:
        """Forget "the latest plan" and "the latest import": the store changed (``what``, as
        :meth:`gridplan.data.store.base.Store.watch` says it)."""
        self.plans.invalidate()
        self._import_checked = -float("inf")

    def notice_changes(self) -> None:
        """Call :meth:`changed` if the store's change stamp moved since the last look (one
        ``stat`` for a GeoPackage; nothing for a store without a stamp)."""
        if self._store is None:
            return
        stamp = self._store.change_stamp()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            self.changed("stamp")

    def call(self, func: Callable[[Store], T]) -> T:
        """Run ``func(store)``, one call at a time when the store is not thread-safe."""
        store = self.store
        lock = self._call_lock
        if lock is None:
            return func(store)
        with lock:
            return func(store)

    def latest_import(self) -> int:
        """The id of the latest import (0 before any), re-read at most every
        ``refresh_seconds``: what the stored layers are as of."""
        self.notice_changes()
        if time.monotonic() - self._import_checked >= self.refresh_seconds:
            self._import_marker = self.call(lambda s: s.latest_import_id()) or 0
            self._import_checked = time.monotonic()
        return self._import_marker

    def close(self) -> None:
        """Stop watching the store, and close it if this service opened it."""
        if self._stop_watch is not None:
            self._stop_watch()
            self._stop_watch = None
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None


def _is_postgis(store: Store) -> bool:
    return type(store).__name__ == "PostGISStore"


class PlanCache:
    """Stored plans by id (a small LRU) and the id of the latest one.

    Parameters
    ----------
    service
        The service whose store holds the plans.
    refresh_seconds
        The latest plan id is re-read from the store at most this often.
    max_plans
        How many loaded plans to keep.
    """

    def __init__(self, service: Service, *, refresh_seconds: float = 1.0, max_plans: int = 8):
        self._service = service
        self._refresh = refresh_seconds
        self._max = max_plans
        self._plans: OrderedDict[int, Plan] = OrderedDict()
        self._latest: int | None = None
        self._checked = -float("inf")
        self._refreshing = False
        self._lock = threading.Lock()
        #: Bumped whenever the latest plan id changes.
        self.version = 0

    def latest_is_fresh(self) -> bool:
        """Whether :meth:`latest_id` can answer without asking the store."""
        return time.monotonic() - self._checked < self._refresh

    def _read_latest(self) -> None:
        latest = self._service.call(lambda s: s.latest_plan_id())
        with self._lock:
            if latest != self._latest:
                self._latest = latest
                self.version += 1
            self._checked = time.monotonic()

    def latest_id(self) -> int:
        """The id of the latest stored plan (read from the store when the last reading is
        older than ``refresh_seconds``).

        Raises
        ------
        NotFoundError
            If no plan is stored.
        """
        self._service.notice_changes()
        if not self.latest_is_fresh():
            self._read_latest()
        if self._latest is None:
            raise NotFoundError("no plan is stored yet: import or create a plan first")
        return self._latest

    def latest_known(self) -> int | None:
        """The latest plan id without waiting on the store, or ``None`` if it must be read.

        When the last reading is older than ``refresh_seconds``, one background thread re-reads
        it and the previous reading is returned meanwhile (stale while revalidating), so no
        request waits on the database for it. Before the first reading, after
        :meth:`invalidate`, and with ``refresh_seconds == 0`` this returns ``None`` and the
        caller reads synchronously.
        """
        self._service.notice_changes()
        latest = self._latest
        if latest is None or self._checked == -float("inf"):
            return None
        if self.latest_is_fresh():
            return latest
        if self._refresh <= 0:
            return None
        with self._lock:
            if not self._refreshing:
                self._refreshing = True
                threading.Thread(
                    target=self._background_read, name="gridplan-latest-plan", daemon=True
                ).start()
        return latest

    def _background_read(self) -> None:
        try:
            self._read_latest()
        except Exception as exc:  # nobody to answer: keep serving the last reading
            logger.warning("could not re-read the latest plan: %s", exc)
        finally:
            self._refreshing = False

    def invalidate(self) -> None:
        """Forget the latest plan id (after this app stored a plan)."""
        with self._lock:
            self._checked = -float("inf")

    def resolve(self, plan_id: int | None) -> int:
        """``plan_id``, or the latest plan's id when it is ``None``."""
        return self.latest_id() if plan_id is None else plan_id

    def get(self, plan_id: int | None = None) -> Plan:
        """A stored plan (the latest when ``plan_id`` is ``None``).

        Raises
        ------
        NotFoundError
            If there is no such plan.
        """
        pid = self.resolve(plan_id)
        with self._lock:
            plan = self._plans.get(pid)
            if plan is not None:
                self._plans.move_to_end(pid)
                return plan
        plan = self._service.call(lambda s: s.load_plan(pid))
        with self._lock:
            self._plans[pid] = plan
            while len(self._plans) > self._max:
                self._plans.popitem(last=False)
        return plan



class SharedResults:
    """Results computed once per key and kept (a small LRU), however many ask at once.

    A cold ``GET /plans/{id}/checks`` can take a minute on a city; when several clients ask
    for it at the same time, the first computes it and the others wait for that result
    instead of each computing it again (which multiplied both the time and the memory).

    Parameters
    ----------
    max_entries
        How many results to keep.
    max_bytes
        The most bytes of kept results (for ``bytes``/``str`` results); the oldest go first.

    Examples
    --------
    >>> calls = []
    >>> shared = SharedResults(max_entries=2)
    >>> shared.get(("plan", 1), lambda: calls.append(1) or b"report")
    b'report'
    >>> shared.get(("plan", 1), lambda: calls.append(2) or b"other")
    b'report'
    >>> calls
    [1]
    """

    def __init__(self, max_entries: int = 8, max_bytes: int = 256_000_000) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._done: OrderedDict[Hashable, object] = OrderedDict()
        self._running: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The result for ``key``: kept, being computed by another caller (waited for), or
        computed now by ``compute()``. If ``compute`` fails, its caller gets the error, nothing
        is kept, and the next caller that was waiting computes it again."""
        while True:
            with self._lock:
                if key in self._done:
                    self._done.move_to_end(key)
                    return self._done[key]  # type: ignore[return-value]
                running = self._running.get(key)
                if running is None:  # nobody computes it: this caller does
                    running = self._running[key] = threading.Event()
                    break
            running.wait()  # then take its result (or, if it failed, try again)
        try:
            result = compute()
            with self._lock:
                self._done[key] = result
                self._evict()
            return result
        finally:
            with self._lock:
                self._running.pop(key, None)
            running.set()

    def _evict(self) -> None:
        def size(value: object) -> int:
            return len(value) if isinstance(value, bytes | str) else 0

        total = sum(size(v) for v in self._done.values())
        while len(self._done) > self._max_entries or (
            total > self._max_bytes and len(self._done) > 1
        ):
            _, gone = self._done.popitem(last=False)
            total -= size(gone)
