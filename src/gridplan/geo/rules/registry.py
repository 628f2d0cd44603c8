"""The rule registry: every rule declares its id, severity, order, map style and label once.

A rule is a :class:`RuleSpec`: its stable id (DESIGN.md, "Rule ids"), its default severity,
its place in report order, the Leaflet style its findings are drawn with, a short label for
map legends, and the function that runs it, ``run(context, config) -> RuleResult``. Each rule
module registers its specs with :func:`register` when it is imported, and the package
``gridplan.geo.rules`` imports every rule module, so the registry is complete as soon as
anything in the package is imported.

Everything else reads the registry: :func:`~gridplan.geo.rules.engine.check_areas` runs every
registered rule in order, :data:`~gridplan.geo.rules.config.RULES` and
:data:`~gridplan.geo.rules.config.DEFAULT_SEVERITIES` are views of it,
:meth:`~gridplan.geo.rules.report.CheckReport.by_rule` counts in its order, and
:func:`gridplan.maps.style.finding_style` draws with its styles. A registered rule's findings
therefore appear in the check table, the JSON report, the stored findings and the map legend
with nothing else to change.

Adding a rule
-------------
1. Write one module under ``gridplan/geo/rules/`` with a function
   ``run(context: RuleContext, config: CheckConfig) -> RuleResult``. It reads what it needs
   from the :class:`~gridplan.geo.rules.rule_context.RuleContext` (the validated inputs as
   ``context.inputs``; shared products such as ``context.boundary``,
   ``context.compound_pieces``, ``context.households`` are computed once, on first use) and
   builds its rows with :func:`~gridplan.geo.rules.finding.raw_findings`. At the bottom of
   the module, register it::

       register(
           RuleSpec(
               id="service.volunteers_short",
               severity="warning",
               order=120,
               label="too few registered volunteers",
               style={"color": "#2e7d32", "weight": 3, "fill": False, "dashArray": "3 3"},
               run=_volunteers_short,
           )
       )

2. Add the module to the import line in ``gridplan/geo/rules/__init__.py``.

That is two files (plus the rule's tests) for a rule computed from the inputs a check already
has: the areas (with every column they came with, as ``context.inputs.areas``), roads,
compounds, units, outline and overrides. A rule with a tolerance of its own adds it as a
:class:`~gridplan.geo.rules.config.CheckConfig` field (``config.py``: every number is a
default a jurisdiction can change). A rule that needs a new input layer also adds it where
every layer comes in: the parameter of :func:`~gridplan.geo.rules.engine.check_areas`
(``engine.py``), its validation and projection in
:func:`~gridplan.geo.rules.context.build_context` (``context.py``) and its slot in
:class:`~gridplan.geo.rules.levels.CheckLayers` (``levels.py``, for checks of stored plans).
The two rules DESIGN.md names next:

* ``service.volunteers_short`` (registered volunteers under 8 % of residents) reads a
  ``volunteers`` column of the areas: ``service.py`` + ``__init__.py`` + ``config.py`` (the
  target share): three files.
* ``reach.outside`` (households beyond the walking threshold of their service centre) needs
  the facilities, the walking network and the buildings: ``reach.py`` + ``__init__.py`` +
  ``config.py`` (minutes, walking speed, target share) + ``engine.py``, ``context.py``,
  ``levels.py`` (the three layers): six files in ``geo/rules``, plus
  ``gridplan/ops/layers.py`` (the store's layers every check reads), besides the
  walking-distance computation itself (``gridplan.geo.reach``). That is how it was added.

Neither touches the engine's loop, the report, the JSON contract or the map styles.

Tests register a throwaway rule for the duration of a ``with`` block
(:meth:`RuleRegistry.registered`), which unregisters it even when the block fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from gridplan.geo.rules.finding import RAW_COLUMNS, no_findings

if TYPE_CHECKING:
    from gridplan.geo.rules.config import CheckConfig
    from gridplan.geo.rules.rule_context import RuleContext

#: The severities a rule can have.
SEVERITIES: tuple[str, ...] = ("error", "warning")

_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RuleResult:
    """What one rule found.

    Parameters
    ----------
    findings
        The rule's raw findings (columns :data:`~gridplan.geo.rules.finding.RAW_COLUMNS`:
        ``area`` an area index, ``-1`` for none; ``geometry`` in the metric CRS), every row
        with the rule's own id.
    notes
        What the rule could not check and why (e.g. ``roads not checked: no roads given``).
    ignored_slivers
        Number of features narrower than the sliver width the rule ignored, or ``None`` when
        the rule does not ignore slivers (then it has no entry in the report's
        ``ignored_slivers``).
    """

    findings: pd.DataFrame = field(default_factory=no_findings)
    notes: tuple[str, ...] = ()
    ignored_slivers: int | None = None


class Rule(Protocol):
    """The function that runs a rule."""

    def __call__(self, context: RuleContext, config: CheckConfig) -> RuleResult:
        """Run the rule on a check's inputs.

        Parameters
        ----------
        context
            The check's validated inputs and their shared products, computed on first use.
        config
            The bands and tolerances.

        Returns
        -------
        RuleResult
            The rule's findings, notes and ignored slivers.
        """
        ...


@dataclass(frozen=True)
class RuleSpec:
    """One rule, declared once.

    Parameters
    ----------
    id
        The stable rule id, ``group.name`` (DESIGN.md, "Rule ids").
    severity
        Default severity, one of :data:`SEVERITIES` (a
        :class:`~gridplan.geo.rules.config.CheckConfig` may override it).
    order
        Position in report order: findings, counts and notes of rules with a lower order come
        first (ties by id).
    label
        A short human description for map legends, e.g. ``"boundary off any road"``.
    style
        Leaflet path options its findings are drawn with (``color``, ``weight``,
        ``fillColor``, …), distinct from every other rule's.
    run
        The function that runs it (see :class:`Rule`).

    Raises
    ------
    ValueError
        If the id is not ``group.name`` or the severity is unknown.
    """

    id: str
    severity: str
    order: int
    label: str
    style: Mapping[str, Any]
    run: Rule = field(compare=False)

    def __post_init__(self) -> None:
        if not _RULE_ID.match(self.id):
            raise ValueError(f"rule id must be group.name in lower case, not {self.id!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"rule {self.id}: severity must be one of {', '.join(SEVERITIES)}, "
                f"not {self.severity!r}"
            )
        object.__setattr__(self, "style", MappingProxyType(dict(self.style)))


class RuleRegistry(Mapping[str, RuleSpec]):
    """The registered rules by id, iterated in report order (``order``, then id).

    Examples
    --------
    >>> from gridplan.geo.rules import REGISTRY
    >>> list(REGISTRY)[:2]
    ['size.under', 'size.over']
    >>> REGISTRY["roads.off_road"].severity
    'warning'
    """

    def __init__(self) -> None:
        self._specs: dict[str, RuleSpec] = {}
        self._ordered: tuple[RuleSpec, ...] = ()

    def register(self, spec: RuleSpec) -> RuleSpec:
        """Add ``spec`` to the registry and return it.

        Raises
        ------
        ValueError
            If a rule with the same id is registered already.
        """
        if spec.id in self._specs:
            raise ValueError(f"rule {spec.id} is registered already")
        self._specs[spec.id] = spec
        self._reorder()
        return spec

    def unregister(self, rule_id: str) -> RuleSpec:
        """Remove the rule ``rule_id`` from the registry and return its spec.

        Raises
        ------
        KeyError
            If no rule has that id.
        """
        spec = self._specs.pop(rule_id)
        self._reorder()
        return spec

    @contextmanager
    def registered(self, spec: RuleSpec) -> Iterator[RuleSpec]:
        """Register ``spec`` for the duration of a ``with`` block (for tests).

        The rule is unregistered when the block ends, also when it raises.
        """
        self.register(spec)
        try:
            yield spec
        finally:
            self.unregister(spec.id)

    def specs(self) -> tuple[RuleSpec, ...]:
        """The registered rules in report order."""
        return self._ordered

    def ids(self) -> tuple[str, ...]:
        """The registered rule ids in report order."""
        return tuple(spec.id for spec in self._ordered)

    def __getitem__(self, rule_id: str) -> RuleSpec:
        return self._specs[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    def __len__(self) -> int:
        return len(self._specs)

    def _reorder(self) -> None:
        self._ordered = tuple(sorted(self._specs.values(), key=lambda s: (s.order, s.id)))


#: The rules every check runs.
REGISTRY = RuleRegistry()


def register(spec: RuleSpec) -> RuleSpec:
    """Register ``spec`` in :data:`REGISTRY` (see :meth:`RuleRegistry.register`)."""
    return REGISTRY.register(spec)


def check_result(spec: RuleSpec, result: RuleResult) -> RuleResult:
    """``result`` after making sure it is the rule's own.

    Raises
    ------
    ValueError
        If the findings lack a raw column or hold rows of another rule.
    """
    missing = [c for c in RAW_COLUMNS if c not in result.findings.columns]
    if missing:
        raise ValueError(f"rule {spec.id}: findings lack column(s) {', '.join(missing)}")
    others = sorted(set(result.findings["rule"]) - {spec.id})
    if others:
        raise ValueError(f"rule {spec.id} returned findings of {', '.join(map(str, others))}")
    return result
