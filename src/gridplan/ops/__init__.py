"""The application layer: store-aware use cases, each written once.

The command line (:mod:`gridplan.api.commands`), the HTTP routers (:mod:`gridplan.api`), the
maps and the demo call these functions and render what they return; none of them repeats a
use case. Each module is one use case (or a family of them):

* :mod:`~gridplan.ops.layers` — what a stored plan is checked, drawn and run against;
* :mod:`~gridplan.ops.checks` — check a plan (stored, or drawn polygons from files);
* :mod:`~gridplan.ops.units` — build units from the store's roads, buildings and compounds;
* :mod:`~gridplan.ops.partition` — partition units into a community plan;
* :mod:`~gridplan.ops.grids` — divide a plan's communities into coded grids (a child plan);
* :mod:`~gridplan.ops.plans` — list, show, diff and export stored plans;
* :mod:`~gridplan.ops.scenario` — run a scenario on a stored base or on files;
* :mod:`~gridplan.ops.files` — write a result so the next command can read it.

Use cases take an open :class:`~gridplan.data.store.base.Store` (or plain layers) and
settings objects, and return frozen result dataclasses; they never print.
"""
