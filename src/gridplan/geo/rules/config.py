"""Configuration of the boundary checks: size bands per level and rule tolerances.

Every number is a default, never a constant: a jurisdiction passes its own
:class:`CheckConfig` (the command line builds one from its options).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, overload

from gridplan.errors import InputError
from gridplan.geo.rules.registry import REGISTRY
from gridplan.plan import Level

#: The two measures a size band can be expressed in.
MEASURES: tuple[str, ...] = ("households", "residents")

#: Default bands ``(level, measure) -> (lo, hi)`` from the community-building opinions and
#: the local grid standards (DESIGN.md, "The rules it serves").
DEFAULT_BANDS: Mapping[tuple[str, str], tuple[float, float]] = MappingProxyType(
    {
        ("community", "households"): (1000.0, 3000.0),
        ("community", "residents"): (3000.0, 5000.0),
        ("grid", "households"): (300.0, 500.0),
    }
)


class _Severities(Mapping[str, str]):
    """Default severity per rule id, read from the registry whenever it is used."""

    def __getitem__(self, rule_id: str) -> str:
        return REGISTRY[rule_id].severity

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


class _RuleIds(Sequence[str]):
    """The registered rule ids in report order, read from the registry whenever it is used."""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return REGISTRY.ids()[index]

    def __len__(self) -> int:
        return len(REGISTRY)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(REGISTRY.ids())


#: Default severity of each rule (a live view of :data:`~gridplan.geo.rules.registry.REGISTRY`).
DEFAULT_SEVERITIES: Mapping[str, str] = _Severities()

#: Rule ids in report order (a live view of :data:`~gridplan.geo.rules.registry.REGISTRY`).
RULES: Sequence[str] = _RuleIds()


@dataclass(frozen=True)
class CheckConfig:
    """What the checks measure and how tolerant they are.

    Parameters
    ----------
    measure
        ``"households"`` or ``"residents"``: what the size band counts.
    bands
        Bands per ``(level, measure)`` as ``(lo, hi)`` (inclusive).
    road_tolerance
        Metres: a boundary stretch follows a road when it runs within this distance of a road
        centreline (default 15 m).
    road_max_angle
        Degrees: ... and runs along it, i.e. its direction differs from the road's by at most
        this angle (default 35°). A boundary that meets a road end-on or crosses it does not
        follow it. ``90`` counts every stretch within the tolerance, whatever its direction.
    road_classes
        Only roads of these classes count as boundaries (``None``: every road).
    min_off_road_length
        Metres: off-road stretches shorter than this are not reported (they still lower
        ``road_boundary_share``). ``None`` uses ``road_tolerance``.
    sliver_width
        Metres: gaps, overlaps and detached parts narrower than this are digitising slivers,
        ignored and counted (default 1 m, like the gap width of GEOS/PostGIS coverage
        validation). Boundaries closer than this to each other are shared.
    sample_step
        Metres: a boundary segment whose status changes along it (a road stops half-way)
        is measured in pieces at most this long (default 2 m).
    compound_min_share
        A compound counts as split only when each side holds at least this share of it.
    reach_minutes
        Minutes of walk to a community's own service centre that rule ``reach.outside``
        measures (default 10: the 10-minute service circle).
    walking_speed
        Metres per minute (default 50: GB 50180-2018's 10-minute circle is 500 m).
    reach_target_share
        The share of a community's households that must live within ``reach_minutes`` of its
        service centre (default 1.0: every household).
    volunteer_share, model_volunteer_share
        Registered volunteers rule ``service.volunteers_short`` asks for, as a share of
        residents (default 8 %; 10 % in model communities, 示范社区).
    severities
        Severity per rule id (default: each registered rule's own); a rule left out has its
        registered severity.
    """

    measure: str = "households"
    bands: Mapping[tuple[str, str], tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_BANDS)
    )
    road_tolerance: float = 15.0
    road_max_angle: float = 35.0
    road_classes: frozenset[str] | None = None
    min_off_road_length: float | None = None
    sliver_width: float = 1.0
    sample_step: float = 2.0
    compound_min_share: float = 0.01
    reach_minutes: float = 10.0
    walking_speed: float = 50.0
    reach_target_share: float = 1.0
    volunteer_share: float = 0.08
    model_volunteer_share: float = 0.10
    severities: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise InputError(f"measure must be households or residents, not {self.measure!r}")
        for (level, measure), (lo, hi) in self.bands.items():
            if not 0 <= lo <= hi:
                raise InputError(f"band for {level} {measure} must satisfy 0 <= lo <= hi")
        for name in ("road_tolerance", "sliver_width", "sample_step"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be positive")
        if not 0 < self.road_max_angle <= 90:
            raise InputError("road_max_angle must be in (0, 90] degrees")
        if not 0 <= self.compound_min_share < 0.5:
            raise InputError("compound_min_share must be in [0, 0.5)")
        for name in ("reach_minutes", "walking_speed"):
            value = getattr(self, name)
            if not (value > 0 and value != float("inf")):
                raise InputError(f"{name} must be a positive number")
        if not 0 <= self.reach_target_share <= 1:
            raise InputError("reach_target_share must be in [0, 1]")
        for name in ("volunteer_share", "model_volunteer_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} must be in [0, 1]")

    @property
    def reach_metres(self) -> float:
        """The walking distance rule ``reach.outside`` measures: minutes × speed."""
        return self.reach_minutes * self.walking_speed

    def band(self, level: Level | str) -> tuple[float, float]:
        """The band of ``level`` in :attr:`measure`.

        Raises
        ------
        InputError
            If no band is configured for the level and measure.
        """
        key = (Level(level).value, self.measure)
        if key not in self.bands:
            raise InputError(f"no {self.measure} band is configured for level {key[0]}")
        return self.bands[key]

    @classmethod
    def from_targets(cls, targets: Mapping[str, Any], level: Level | str) -> CheckConfig:
        """The configuration that checks ``level`` against a plan's targets.

        ``{"community": {"residents": [3000, 5000]}}`` checks communities by residents in that
        band; a level with a ``households`` band is checked by households; a level without
        targets (or whose bands are all ``null``) uses the default bands.

        Raises
        ------
        InputError
            If a band is not two numbers.

        Examples
        --------
        >>> cfg = CheckConfig.from_targets({"grid": {"households": [200, 400]}}, "grid")
        >>> cfg.measure, cfg.bands[("grid", "households")]
        ('households', (200.0, 400.0))
        """
        name = Level(level).value
        wanted = targets.get(name) if isinstance(targets, Mapping) else None
        if not isinstance(wanted, Mapping) or not wanted:
            return cls()
        given = [m for m in ("households", "residents") if wanted.get(m) is not None]
        if not given:  # e.g. {"households": null} as older plans stored it
            return cls()
        measure = given[0]
        band = wanted[measure]
        if not isinstance(band, list | tuple) or len(band) != 2:
            raise InputError(f"plan target {name}.{measure} must be [lo, hi], not {band!r}")
        try:
            lo, hi = float(band[0]), float(band[1])
        except (TypeError, ValueError) as exc:
            raise InputError(f"plan target {name}.{measure} must be numbers") from exc
        return cls(measure=measure).with_band(name, lo, hi)

    def with_band(self, level: Level | str, lo: float, hi: float) -> CheckConfig:
        """A copy whose band for ``level`` (in :attr:`measure`) is ``lo``–``hi``."""
        bands = dict(self.bands)
        bands[(Level(level).value, self.measure)] = (float(lo), float(hi))
        return replace(self, bands=bands)

    @property
    def off_road_min_length(self) -> float:
        """The shortest reported off-road stretch, in metres."""
        if self.min_off_road_length is None:
            return self.road_tolerance
        return self.min_off_road_length
