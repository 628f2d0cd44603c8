"""gridplan: community (社区) and grid (网格) boundary planning.

Data flows one way: read → normalise → build units → assign / partition → check → store →
serve / draw. ``gridplan.data`` reads and stores, ``gridplan.geo`` computes, ``gridplan.maps``
draws and ``gridplan.api`` serves (HTTP and the ``gridplan`` command line).
"""

__version__ = "0.1.0"

#: The embedded store a command uses without ``--db`` or ``GRIDPLAN_DATABASE_URL``.
DEFAULT_STORE = "gridplan.gpkg"
