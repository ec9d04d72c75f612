"""A file drop's declaration of how its exports are written: ``<source>/_export.json|yaml``.

::

    {"defaults": {"encoding": "utf-8", "delimiter": ","},
     "entities": {
        "customers": {"encoding": "gb18030", "delimiter": ";",
                      "date_format": "%d.%m.%Y", "timestamp_format": "%d.%m.%Y %H:%M",
                      "columns": {"客户编号": "customer_id", "客户名称": "customer_name"},
                      "formats": {"created_at": "%d.%m.%Y %H:%M"},
                      "sheet": "Sheet1"}}}

Each source's file is checked against this schema on its own (a broken ``erp/_export.json``
fails the ERP entities only). Every problem is reported at once, each naming the file and
the key (``entities.customers.encoding``); entity and setting names are checked against the
canonical ones, with a "did you mean" for a near miss. Invalid JSON or YAML names the line.
"""

from __future__ import annotations

import codecs
import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kam_transforms.entities import ENTITIES, Entity
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.rules import rules_for

__all__ = [
    "CONFIG_NAMES",
    "ExportConfigError",
    "ExportSpec",
    "config_path",
    "export_spec",
    "load_export_config",
]

#: The declaration's file names, in ``<exports_dir>/<source>/`` (at most one may exist).
CONFIG_NAMES = ("_export.json", "_export.yaml", "_export.yml")


class ExportConfigError(ExtractError):
    """A source's ``_export.json|yaml`` is unreadable or does not match the schema."""


@dataclass(frozen=True)
class ExportSpec:
    """How one entity's export files are written."""

    encoding: str = "utf-8"
    delimiter: str = ","
    date_format: str | None = None
    timestamp_format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    sheet: str | int = 0
    #: ``full`` (default): every export holds all records, so a key missing from it was
    #: deleted (:mod:`kam_transforms.extract.snapshot`); ``incremental``: changed records only.
    snapshot: str = "full"
    allow_empty: bool = False
    max_shrink: float = 0.5

    def all_formats(self) -> dict[str, str]:
        out = dict(self.formats)
        if self.date_format:
            out["date_format"] = self.date_format
        if self.timestamp_format:
            out["timestamp_format"] = self.timestamp_format
        return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "a list",
        bool: "a boolean",
        str: "a string",
        int: "a number",
        float: "a number",
    }.get(type(value), f"a {type(value).__name__}")


def _did_you_mean(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _encoding(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a codec name such as utf-8, latin-1, gb18030, got {_kind(value)}"
    try:
        info = codecs.lookup(value)
    except LookupError:
        return f"unknown encoding {value!r} (a Python codec name such as utf-8, latin-1, gb18030)"
    if not getattr(info, "_is_text_encoding", True):
        return f"{value!r} is not a text encoding"
    return None


def _delimiter(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) != 1:
        return f"must be one character, got {value!r}"
    if value in '"\r\n':
        return f"{value!r} cannot be a delimiter"
    return None


def _strptime(value: Any) -> str | None:
    if not isinstance(value, str) or "%" not in value:
        return f"must be a strptime format string such as '%d.%m.%Y', got {value!r}"
    return None


def _sheet(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return f"must be a sheet name or a 0-based sheet index, got {_kind(value)}"
    if isinstance(value, int) and value < 0:
        return f"a sheet index must be 0 or more, got {value}"
    return None


def _columns(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"must be an object mapping export headers to canonical names, got {_kind(value)}"
    bad = [k for k, v in value.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        return f"header {bad[0]!r} must map to a column name (a non-empty string)"
    targets = [v.strip() for v in value.values()]
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        return f"several headers map to {', '.join(twice)}"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "encoding": _encoding,
    "delimiter": _delimiter,
    "date_format": _strptime,
    "timestamp_format": _strptime,
    "columns": _columns,
    "formats": lambda v: (
        None if isinstance(v, dict) else f"must be an object column -> format, got {_kind(v)}"
    ),
    "sheet": _sheet,
    "snapshot": lambda v: (
        None if v in ("full", "incremental") else f"must be 'full' or 'incremental', got {v!r}"
    ),
    "allow_empty": lambda v: (
        None if isinstance(v, bool) else f"must be true or false, got {_kind(v)}"
    ),
    "max_shrink": lambda v: (
        None
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
        else f"must be a share between 0 and 1, got {v!r}"
    ),
}


def _check_settings(values: Any, key: str, ents: list[Entity], errors: list[str]) -> None:
    if values is None:
        return
    if not isinstance(values, dict):
        errors.append(f"{key}: must be an object of settings, got {_kind(values)}")
        return
    for name, value in values.items():
        check = _CHECKS.get(name)
        if check is None:
            errors.append(
                f"{key}.{name}: unknown setting{_did_you_mean(name, list(_CHECKS))}; "
                f"known: {', '.join(_CHECKS)}"
            )
            continue
        problem = check(value)
        if problem:
            errors.append(f"{key}.{name}: {problem}")
        elif name == "formats":
            timed = sorted({c for e in ents for c in rules_for(e).dates + rules_for(e).timestamps})
            for col, fmt in value.items():
                where = f"{key}.formats.{col}"
                if col not in timed:
                    errors.append(
                        f"{where}: not a date or timestamp column{_did_you_mean(col, timed)}"
                    )
                elif problem := _strptime(fmt):
                    errors.append(f"{where}: {problem}")


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ExportConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if path.suffix == ".json":

        def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in pairs]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise ExportConfigError(f"{path}: key {', '.join(twice)} appears twice")
            return dict(pairs)

        try:
            return json.loads(text, object_pairs_hook=no_repeats)
        except json.JSONDecodeError as exc:
            raise ExportConfigError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    import yaml  # type: ignore[import-untyped, unused-ignore]

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ExportConfigError(f"{path}: invalid YAML{where}: {problem}") from None


def config_path(exports_dir: Path, source: str) -> Path | None:
    """The source's declaration file, if any (two of them are an error)."""
    folder = Path(exports_dir) / source
    found = [folder / n for n in CONFIG_NAMES if (folder / n).is_file()]
    if len(found) > 1:
        raise ExportConfigError(
            f"{folder}: both {found[0].name} and {found[1].name}; keep one declaration"
        )
    return found[0] if found else None


def load_export_config(exports_dir: Path, source: str) -> dict[str, ExportSpec]:
    """Per entity name of ``source`` its :class:`ExportSpec` (``"*"``: the defaults).

    Raises
    ------
    ExportConfigError
        The file is not valid JSON/YAML (file and line named) or breaks the schema (every
        problem listed, each with the file and the key).
    """
    path = config_path(exports_dir, source)
    if path is None:
        return {"*": ExportSpec()}
    raw = _parse(path)
    if raw is None:
        raw = {}
    ents = [e for e in ENTITIES if e.source == source]
    names = [e.name for e in ents]
    errors: list[str] = []
    if not isinstance(raw, dict):
        raise ExportConfigError(f"{path}: must hold an object with defaults and entities")
    for key in raw:
        if key not in ("defaults", "entities"):
            errors.append(
                f"{key}: unknown key{_did_you_mean(key, ['defaults', 'entities'])}; "
                "known: defaults, entities"
            )
    _check_settings(raw.get("defaults"), "defaults", ents, errors)
    declared = raw.get("entities") or {}
    if not isinstance(declared, dict):
        errors.append(f"entities: must be an object entity -> settings, got {_kind(declared)}")
        declared = {}
    for name, values in declared.items():
        key = f"entities.{name}"
        if name not in names:
            other = [e.qualified_name for e in ENTITIES if e.name == name]
            hint = f" ({other[0]} belongs in its own source's file)" if other else ""
            errors.append(
                f"{key}: no such {source} entity{hint or _did_you_mean(name, names)}; "
                f"known: {', '.join(names)}"
            )
            continue
        _check_settings(values, key, [e for e in ents if e.name == name], errors)
    if errors:
        raise ExportConfigError(f"{path}: " + f"; {path}: ".join(errors))
    defaults = raw.get("defaults") or {}
    specs = {name: ExportSpec(**{**defaults, **(v or {})}) for name, v in declared.items()}
    specs["*"] = ExportSpec(**defaults)
    return specs


def export_spec(exports_dir: Path, ent: Entity) -> ExportSpec:
    """The :class:`ExportSpec` of one entity (its own settings over the source's defaults)."""
    specs = load_export_config(exports_dir, ent.source)
    return specs.get(ent.name, specs["*"])
