"""The scenario file described from its model: a JSON schema, and a step reference in words.

Both are generated from the pydantic models of :mod:`gridplan.geo.scenario.model`, so what
the HTTP API documents (``POST /scenarios``) and what ``gridplan scenario --help`` lists are
what :func:`~gridplan.geo.scenario.model.parse_scenario` accepts.
"""

from __future__ import annotations

import copy
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from gridplan.geo.scenario.model import STEP_TYPES, BaseSpec, Scenario

_REF = "#/$defs/"


def scenario_json_schema(
    *, stored_base_only: bool = False, plan_id_max: int | None = None
) -> dict[str, Any]:
    """The JSON schema (2020-12, as OpenAPI 3.1 uses) of a scenario document.

    Self-contained: the model's ``$defs`` are inlined, so the schema can sit anywhere in an
    OpenAPI document (e.g. an operation's request body). Each step is one of ``oneOf``,
    told apart by its ``action`` constant.

    Parameters
    ----------
    stored_base_only
        Narrow ``base`` to ``{plan: <id> | "latest"}`` (bases from files are refused over
        HTTP).
    plan_id_max
        With ``stored_base_only``, the largest plan id (ids start at 1).

    Examples
    --------
    >>> schema = scenario_json_schema(stored_base_only=True, plan_id_max=2**31 - 1)
    >>> schema["required"]
    ['name', 'base', 'steps']
    >>> sorted(step["properties"]["action"]["const"] for step in schema["properties"]["steps"]
    ...        ["items"]["oneOf"])  # doctest: +NORMALIZE_WHITESPACE
    ['assign_compound', 'create', 'merge', 'move_units', 'redistrict', 'regrid', 'split']
    >>> schema["properties"]["base"]["required"]
    ['plan']
    """
    raw = Scenario.model_json_schema(mode="validation")
    defs = raw.pop("$defs", {})
    schema: dict[str, Any] = _inline(raw, defs)
    if stored_base_only:
        plan = copy.deepcopy(schema["properties"]["base"]["properties"]["plan"])
        plan["anyOf"] = [
            {**alt, "minimum": 1, **({"maximum": plan_id_max} if plan_id_max else {})}
            if alt.get("type") == "integer"
            else alt
            for alt in plan["anyOf"]
            if alt.get("type") != "null"
        ]
        plan.pop("default", None)
        schema["properties"]["base"] = {
            "type": "object",
            "title": "BaseSpec",
            "description": "The base plan: a stored plan id, or latest.",
            "required": ["plan"],
            "properties": {"plan": plan},
            "additionalProperties": False,
        }
    return schema


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` into ``defs`` replaced by (a copy of) its target; the
    discriminator mappings (which point into ``defs``) and null values (null defaults, which
    say nothing and which FastAPI drops from an OpenAPI document) left out."""
    if isinstance(node, list):
        return [_inline(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith(_REF):
            raise ValueError(f"unexpected reference {ref}")
        target = _inline(defs[ref.removeprefix(_REF)], defs)
        return {**target, **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
    return {k: _inline(v, defs) for k, v in node.items() if k != "discriminator" and v is not None}


def scenario_help() -> str:
    """The file reference of ``gridplan scenario --help``: the scenario's fields, its base's,
    then :func:`steps_help`.

    Examples
    --------
    >>> print(scenario_help().split("\\n\\n")[0])  # doctest: +NORMALIZE_WHITESPACE
    A scenario file (YAML) has these fields:
      name  text, required: the new plan's name
      description  text
      base  mapping, required: the plan the steps start from (fields below)
      targets  mapping (community, grid), default community households 1000 to 3000; grid
        households 300 to 500: a band per level: households or residents, low to high
      seed  integer, default 0: random seed
      steps  list of step (the step types below), at least 1, required: run in order
    """
    return "\n\n".join(
        [
            _fields("A scenario file (YAML) has these fields:", Scenario, skip=("folder",)),
            _fields(
                "base: a stored plan, or files (paths relative to the scenario file):", BaseSpec
            ),
            steps_help(),
        ]
    )


def _fields(title: str, model: type[BaseModel], skip: tuple[str, ...] = ()) -> str:
    lines = [title]
    for name, info in model.model_fields.items():
        if name not in skip:
            lines.append(f"  {name}  {_field_text(info)}")
    return "\n".join(lines)


def steps_help() -> str:
    """The step reference of ``gridplan scenario --help``: each action, what it does and its
    fields (type, required or default, constraints, meaning). Plain text without square
    brackets (Rich would read them as markup).

    Examples
    --------
    >>> print(steps_help().split("\\n\\n")[2])  # doctest: +NORMALIZE_WHITESPACE
    move_units: Move units (by id) into a community.
      units  list of text, at least 1, required: unit ids
      community  text, required: the receiving community (id or name)
    """
    out = [
        "Step types: each item of steps has an action and that action's fields "
        "(communities by id or name):"
    ]
    for model in STEP_TYPES:
        action = get_args(model.model_fields["action"].annotation)[0]
        lines = [f"{action}: {_doc(model)}"]
        for name, info in model.model_fields.items():
            if name == "action":
                continue
            lines.append(f"  {name}  {_field_text(info)}")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split()).replace("``", "")


def _field_text(info: FieldInfo) -> str:
    parts = [_type_text(info.annotation)]
    for meta in info.metadata:
        if isinstance(meta, annotated_types.MinLen):
            parts.append(f"at least {meta.min_length}")
        elif isinstance(meta, annotated_types.Ge):
            parts.append(f">= {meta.ge}")
        elif isinstance(meta, annotated_types.Gt):
            parts.append(f"> {meta.gt}")
    if info.is_required():
        parts.append("required")
    elif info.default not in (None, ""):
        parts.append(f"default {_value_text(info.default)}")
    text = ", ".join(parts)
    return f"{text}: {info.description}" if info.description else text


def _value_text(value: Any) -> str:
    """A default value in words: ``True`` as true, a band as ``1000 to 3000``, a model as
    its fields."""
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return " to ".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_value_text(v)}" for k, v in value.items())
    return str(value)


def _type_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type_text(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        alts = [a for a in get_args(annotation) if a is not type(None)]
        if set(alts) == set(STEP_TYPES):
            return "step (the step types below)"
        return " or ".join(_type_text(a) for a in alts)
    if origin is Literal:
        return " or ".join(str(a) for a in get_args(annotation))
    if origin is list:
        return f"list of {_type_text(get_args(annotation)[0])}"
    if origin is tuple:
        args = get_args(annotation)
        return f"{len(args)} {_type_text(args[0])}s"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = list(annotation.model_fields)
        return f"mapping ({', '.join(fields)})" if len(fields) <= 4 else "mapping"
    names = {str: "text", int: "integer", float: "number", bool: "true or false"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


__all__ = ["scenario_help", "scenario_json_schema", "steps_help"]
