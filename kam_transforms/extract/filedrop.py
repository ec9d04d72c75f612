"""File-drop connector: CSV, Excel (.xlsx) and Parquet exports, one folder per entity.

Layout (either form per entity)::

    <exports_dir>/<source>/<entity>/*.csv|*.xlsx|*.parquet    every file is part of the batch
    <exports_dir>/<source>/<entity>.csv|.xlsx|.parquet          one file

and an optional declaration per source, ``<exports_dir>/<source>/_export.json`` (or
``_export.yaml``)::

    {"defaults": {"encoding": "utf-8", "delimiter": ","},
     "entities": {
        "customers": {"encoding": "gb18030", "delimiter": ";",
                      "date_format": "%d.%m.%Y", "timestamp_format": "%d.%m.%Y %H:%M",
                      "columns": {"客户编号": "customer_id", "客户名称": "customer_name"},
                      "sheet": "Sheet1"}}}

``encoding`` is one of Python's codec names (``utf-8``, ``utf-8-sig`` for UTF-8 with a BOM,
``gb18030``, ...); a UTF-8 file that starts with a BOM is read as ``utf-8-sig`` anyway.
``columns`` maps export headers to canonical names; headers it does not name are kept (a
canonical name as is, anything else carried through as an extra column). ``date_format`` and
``timestamp_format`` are ``strptime`` formats for sources that do not write ISO-8601.
File drops are full snapshots: every run lands the whole export (no watermark window).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from kam_transforms.entities import Entity
from kam_transforms.extract.files import ExtractError, _read_text_table
from kam_transforms.extract.run import Fetched, Window

__all__ = ["SUFFIXES", "ExportSpec", "FileDropConnector", "load_export_config", "read_export"]

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".parquet")


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

    def all_formats(self) -> dict[str, str]:
        out = dict(self.formats)
        if self.date_format:
            out["date_format"] = self.date_format
        if self.timestamp_format:
            out["timestamp_format"] = self.timestamp_format
        return out


_SPEC_KEYS = {
    "encoding",
    "delimiter",
    "date_format",
    "timestamp_format",
    "columns",
    "formats",
    "sheet",
}


def _spec(values: dict[str, Any], where: str) -> ExportSpec:
    unknown = sorted(set(values) - _SPEC_KEYS)
    if unknown:
        raise ExtractError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    if "delimiter" in values and len(str(values["delimiter"])) != 1:
        raise ExtractError(f"{where}: delimiter must be one character")
    return ExportSpec(**values)


def load_export_config(exports_dir: Path, source: str) -> dict[str, ExportSpec]:
    """Per entity name the :class:`ExportSpec` declared in ``<source>/_export.json|yaml``."""
    folder = Path(exports_dir) / source
    raw: dict[str, Any] = {}
    for name in ("_export.json", "_export.yaml", "_export.yml"):
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                raw = json.loads(text)
            else:
                import yaml  # type: ignore[import-untyped, unused-ignore]

                raw = yaml.safe_load(text) or {}
            break
    defaults = raw.get("defaults", {})
    specs = {
        name: _spec({**defaults, **(values or {})}, f"{folder}/_export: {name}")
        for name, values in (raw.get("entities") or {}).items()
    }
    specs["*"] = _spec(dict(defaults), f"{folder}/_export: defaults")
    return specs


def export_files(exports_dir: Path, ent: Entity) -> list[Path]:
    """The files of ``ent``'s export: its folder's files, else ``<entity>.<suffix>``."""
    folder = Path(exports_dir) / ent.source / ent.name
    if folder.is_dir():
        return sorted(
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith((".", "_"))
        )
    return [
        p
        for suffix in SUFFIXES
        if (p := Path(exports_dir) / ent.source / f"{ent.name}{suffix}").is_file()
    ]


def _encoding(path: Path, declared: str) -> str:
    norm = declared.lower().replace("_", "-")
    if norm in ("utf-8", "utf8"):
        with path.open("rb") as fh:
            if fh.read(3) == b"\xef\xbb\xbf":
                return "utf-8-sig"
    return declared


def read_export(path: Path, spec: ExportSpec) -> pd.DataFrame:
    """One export file as a frame with the mapped (canonical) column names.

    CSV cells stay text (``""`` is null); Excel and Parquet keep their cell types, which the
    landing renders canonically.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            frame = pd.read_excel(path, sheet_name=spec.sheet, dtype=object, engine="openpyxl")
            frame = frame.astype(object).where(frame.notna(), None)
            frame.columns = [str(c) for c in frame.columns]
        elif suffix == ".parquet":
            frame = pq.read_table(path).to_pandas()
        else:
            delimiter = "\t" if suffix == ".tsv" and spec.delimiter == "," else spec.delimiter
            table = _read_text_table(path, _encoding(path, spec.encoding), delimiter)
            frame = table.to_pandas()
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path}: not readable as {spec.encoding}: {exc}") from exc
    except (ValueError, OSError) as exc:
        if isinstance(exc, ExtractError):
            raise
        raise ExtractError(f"{path}: cannot read the export: {exc}") from exc
    renamed = [spec.columns.get(str(c).strip(), str(c).strip()) for c in frame.columns]
    frame.columns = renamed
    return frame


class FileDropConnector:
    """Full-snapshot exports dropped by the source system (no watermark window)."""

    name = "files"
    incremental = False

    def __init__(self, exports_dir: Path) -> None:
        self.exports_dir = Path(exports_dir)

    def fetch(self, ent: Entity, window: Window) -> Fetched:
        files = export_files(self.exports_dir, ent)
        if not files:
            where = self.exports_dir / ent.source / ent.name
            raise ExtractError(
                f"{where}(.csv|.xlsx|.parquet or folder): export for {ent.qualified_name} not found"
            )
        specs = load_export_config(self.exports_dir, ent.source)
        spec = specs.get(ent.name, specs["*"])
        frames = []
        for path in files:
            frame = read_export(path, spec)
            frame["__origin"] = str(path)
            frame["__row"] = range(1, len(frame) + 1)
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        origin = str(files[0]) if len(files) == 1 else str(files[0].parent)
        return Fetched(
            frame=frame,
            origin=origin,
            formats=spec.all_formats(),
            stats={"files": [str(p) for p in files]},
        )
