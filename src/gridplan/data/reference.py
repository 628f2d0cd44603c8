"""Reference facts shipped with gridplan: named compound assignments and division codes.

``data/reference/named_assignments.csv``
    The named assignments of the community-management opinions (落实属地管理): 新世纪豪园,
    市直机关宿舍楼, 镇长楼 and 银星花园 → 青新社区; 阳光时代广场 → 阳光社区; 福隆广场 → 锦青社区;
    世纪公园 and 豪富花园 → 洪宅垵社区; 机场生活区 → 高霞社区; 市公安局宿舍 → 普照社区. Columns
    ``compound``, ``community``, ``note``; usable as an overrides file.
``data/reference/qingyang_communities.csv``
    The 14 communities of Qingyang subdistrict (青阳街道, ``350582001``), Jinjiang (``350582``),
    with their National Bureau of Statistics 2023 codes ``350582001004``–``350582001017``.
    Names and codes only: no public boundary polygons exist, and gridplan invents none.

Names are compared after :func:`normalise_name`.
"""

from __future__ import annotations

import unicodedata
from importlib import resources
from pathlib import Path

import pandas as pd

from gridplan.errors import InputError

#: GB/T 2260 code of Jinjiang city (county level).
JINJIANG_COUNTY_CODE = "350582"
#: Code of Qingyang subdistrict (青阳街道) in Jinjiang.
QINGYANG_SUBDISTRICT_CODE = "350582001"

_OVERRIDE_COLUMNS = ("compound", "community")


def normalise_name(name: object) -> str:
    """Normalise a name for matching: NFKC (full-width → half-width), no whitespace, casefold.

    Examples
    --------
    >>> normalise_name(" 新世纪\u3000豪园 ") == normalise_name("新世纪豪园")
    True
    >>> normalise_name("ＡＢＣ１２３ Park")
    'abc123park'
    """
    if name is None or (isinstance(name, float) and name != name):
        return ""
    text = unicodedata.normalize("NFKC", str(name))
    return "".join(text.split()).casefold()


def _reference_file(name: str) -> Path:
    return Path(str(resources.files("gridplan.data").joinpath("reference", name)))


def named_assignments_path() -> Path:
    """Path of the shipped named-assignments CSV."""
    return _reference_file("named_assignments.csv")


def load_overrides(path: str | Path | None = None) -> pd.DataFrame:
    """Read an overrides CSV (compound name → community name).

    Parameters
    ----------
    path
        A UTF-8 CSV with columns ``compound`` and ``community`` (other columns are kept);
        ``None`` reads the shipped named assignments.

    Returns
    -------
    pandas.DataFrame
        ``compound``, ``community``, any other columns, and ``line`` (the CSV line number).

    Raises
    ------
    InputError
        If the file is missing or unreadable, lacks a column, has an empty name, or names one
        compound twice with different communities.

    Examples
    --------
    >>> table = load_overrides()
    >>> table.loc[table["compound"] == "福隆广场", "community"].item()
    '锦青社区'
    """
    source = Path(path) if path is not None else named_assignments_path()
    try:
        table = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"overrides file {source} not found") from exc
    except OSError as exc:  # a directory, no permission, ...
        raise InputError(f"overrides file {source} cannot be read ({exc.strerror})") from exc
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"overrides file {source} is not a UTF-8 CSV: {exc}") from exc
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in _OVERRIDE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"overrides file {source}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(table.columns)})"
        )
    table["line"] = range(2, len(table) + 2)
    for col in _OVERRIDE_COLUMNS:
        table[col] = table[col].str.strip()
        empty = table[table[col] == ""]
        if not empty.empty:
            raise InputError(
                f"overrides file {source} line {int(empty['line'].iloc[0])}: empty {col}"
            )
    keys = table["compound"].map(normalise_name)
    targets = table["community"].map(normalise_name)
    conflicts = pd.DataFrame({"k": keys, "t": targets}).groupby("k")["t"].nunique()
    if (conflicts > 1).any():
        bad = conflicts[conflicts > 1].index[0]
        rows = table[keys == bad]
        raise InputError(
            f"overrides file {source}: compound {rows['compound'].iloc[0]!r} is assigned to "
            f"different communities on lines {', '.join(str(x) for x in rows['line'])}"
        )
    return table.reset_index(drop=True)


def qingyang_communities() -> pd.DataFrame:
    """The 14 communities of Qingyang subdistrict with their 12-digit codes.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``name`` (e.g. 青新社区), ``official_name`` (青新社区居委会),
        ``subdistrict_code``, ``county_code`` (all strings).

    Examples
    --------
    >>> q = qingyang_communities()
    >>> len(q), q["code"].iloc[0], q["code"].iloc[-1]
    (14, '350582001004', '350582001017')
    """
    return pd.read_csv(_reference_file("qingyang_communities.csv"), dtype=str)
