"""Road classes from source vocabularies: OSM ``highway`` tags and US Census TIGER MTFCC codes.

Every road gridplan stores has a ``road_class`` from :data:`gridplan.data.layers.ROAD_CLASSES`
(ranked, most important first). This module maps the vocabularies that road data arrives in
onto those classes.

OSM ``highway`` → ``road_class``:

=================================================================== ============
``highway``                                                         road_class
=================================================================== ============
motorway, motorway_link                                             motorway
trunk, trunk_link                                                   trunk
primary, primary_link                                               primary
secondary, secondary_link                                           secondary
tertiary, tertiary_link                                             tertiary
residential, unclassified, living_street, road                      local
service                                                             service
footway, path, pedestrian, cycleway, steps, track, bridleway        path
anything else (busway, construction, proposed, …) or missing        other
=================================================================== ============

TIGER/Line MTFCC → ``road_class``:

============================================================= =========
MTFCC                                                         road_class
============================================================= =========
S1100 primary road (limited-access highway)                   motorway
S1630 ramp                                                    motorway
S1200 secondary road (main artery, US/state highway)          secondary
S1400 local neighbourhood road, rural road, city street       local
S1640 service drive along a limited-access highway            service
S1730 alley, S1740 private road, S1780 parking lot road       service
S1500 vehicular trail (4WD), S1710 walkway, S1720 stairway,   path
S1820 bike path, S1830 bridle path
anything else                                                 other
============================================================= =========

S1500 (four-wheel-drive trails) counts as ``path``: it is no street a community boundary
would follow.
"""

from __future__ import annotations

import re

import pandas as pd

from gridplan.data.layers import ROAD_CLASSES

#: OSM ``highway`` value → road class (values not listed map to ``other``).
HIGHWAY_CLASSES: dict[str, str] = {
    "motorway": "motorway",
    "motorway_link": "motorway",
    "trunk": "trunk",
    "trunk_link": "trunk",
    "primary": "primary",
    "primary_link": "primary",
    "secondary": "secondary",
    "secondary_link": "secondary",
    "tertiary": "tertiary",
    "tertiary_link": "tertiary",
    "residential": "local",
    "unclassified": "local",
    "living_street": "local",
    "road": "local",
    "service": "service",
    "footway": "path",
    "path": "path",
    "pedestrian": "path",
    "cycleway": "path",
    "steps": "path",
    "track": "path",
    "bridleway": "path",
}

#: TIGER MTFCC code → road class (codes not listed map to ``other``).
MTFCC_CLASSES: dict[str, str] = {
    "S1100": "motorway",
    "S1630": "motorway",
    "S1200": "secondary",
    "S1400": "local",
    "S1640": "service",
    "S1730": "service",
    "S1740": "service",
    "S1780": "service",
    "S1500": "path",
    "S1710": "path",
    "S1720": "path",
    "S1820": "path",
    "S1830": "path",
}

_MTFCC = re.compile(r"^S\d{4}$")


def road_class_from_highway(highway: pd.Series) -> pd.Series:
    """Map OSM ``highway`` values to road classes.

    A multi-valued tag (``primary;secondary``) uses its first value; case and surrounding
    spaces are ignored; missing or unknown values give ``other``.

    Examples
    --------
    >>> import pandas as pd
    >>> highway = pd.Series(["primary_link", "living_street", "steps", None])
    >>> road_class_from_highway(highway).tolist()
    ['primary', 'local', 'path', 'other']
    """
    return highway.map(lambda v: HIGHWAY_CLASSES.get(_first(v), "other")).astype(object)


def road_class_from_mtfcc(mtfcc: pd.Series) -> pd.Series:
    """Map TIGER/Line MTFCC codes to road classes (unknown or missing codes give ``other``).

    Examples
    --------
    >>> import pandas as pd
    >>> road_class_from_mtfcc(pd.Series(["S1100", "S1200", "S1400", "S1630", "S1730"])).tolist()
    ['motorway', 'secondary', 'local', 'motorway', 'service']
    """
    return mtfcc.map(lambda v: MTFCC_CLASSES.get(_first(v).upper(), "other")).astype(object)


def road_class_from_values(values: pd.Series) -> pd.Series:
    """Map a column of unknown vocabulary to road classes, value by value.

    Values that already are road classes are kept; values that look like MTFCC codes
    (``S`` and four digits) go through :func:`road_class_from_mtfcc`; everything else is read
    as an OSM ``highway`` value (so Geofabrik's ``fclass`` column works too).

    Examples
    --------
    >>> import pandas as pd
    >>> road_class_from_values(pd.Series(["local", "S1200", "trunk_link", "busway"])).tolist()
    ['local', 'secondary', 'trunk', 'other']
    """

    def one(value: object) -> str:
        text = _first(value)
        if text in ROAD_CLASSES:
            return text
        if _MTFCC.match(text.upper()):
            return MTFCC_CLASSES.get(text.upper(), "other")
        return HIGHWAY_CLASSES.get(text, "other")

    return values.map(one).astype(object)


def _first(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).split(";")[0].strip().lower()
