"""File-drop connector: CSV, Excel (.xlsx) and Parquet exports, one folder per entity.

Layout (one form per entity; both at once is an error)::

    <exports_dir>/<source>/<entity>/*.csv|*.tsv|*.xlsx|*.parquet   every file is part of the batch
    <exports_dir>/<source>/<entity>.csv|.tsv|.xlsx|.parquet         one file

How the files are written (encoding, delimiter, header mapping, date formats, sheet) is
declared per source in ``<source>/_export.json|yaml``
(:mod:`~kam_transforms.extract.export_config`).
Discovery (:func:`discover`) refuses what it cannot read safely and says what it skips:

- a file or folder that is a symbolic link resolving outside the export folder (or a broken
  link) is refused, naming the link; nothing is read from it;
- a sub-folder of an entity folder is an error (its files would otherwise be skipped while
  the extract reports success); hidden (``.``) or ``_``-prefixed entries and files of other
  suffixes (``README.txt``, ``.DS_Store``) are skipped and listed in the result's
  ``stats["ignored"]`` and the log;
- every file must carry every canonical column of the entity (after the ``columns``
  mapping): a file lacking one fails the entity naming the file and the column, rather than
  landing its rows with nulls.

Each file is read by :func:`~kam_transforms.extract.readers.open_export` as Arrow record
batches. File drops are read whole every run (no watermark). An entity's export is a full
snapshot by default (``"snapshot": "full"``: a key missing from it is deleted, see
:mod:`kam_transforms.extract.snapshot`; ``"allow_empty"`` and ``"max_shrink"`` set its
limits) or ``"snapshot": "incremental"`` (changed records only: nothing is deleted).

An optional entity (``Entity.optional``: the owner directory, account plans) may be absent
(:class:`~kam_transforms.extract.files.ExportNotFoundError`: the run lands nothing and the
previous batch stays in force) or header-only (an empty full snapshot, allowed without
declaring ``allow_empty``: every key landed before is deleted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kam_transforms.entities import Entity
from kam_transforms.extract.export_config import ExportSpec, config_path, export_spec
from kam_transforms.extract.files import ExportNotFoundError, ExtractError
from kam_transforms.extract.landing import Part, SchemaDriftError
from kam_transforms.extract.readers import DATA_SUFFIXES, ExportFile, open_export
from kam_transforms.extract.run import Fetched, Window
from kam_transforms.extract.snapshot import Snapshot

__all__ = ["Discovered", "FileDropConnector", "discover", "export_files", "open_entity_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Discovered:
    """An entity's export files, and the entries of its folder that were skipped."""

    files: list[Path]
    ignored: list[Path]


def _inside(root: Path, path: Path) -> None:
    """Refuse ``path`` when it (or a folder on the way) is a link leaving ``root``."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ExtractError(f"{path}: a broken or looping symbolic link; refused") from None
    if not real.is_relative_to(root.resolve()):
        raise ExtractError(
            f"{path}: a symbolic link that resolves outside the export folder {root}; "
            f"refused (links may only point inside the export folder)"
        )


def _regular(root: Path, path: Path) -> Path:
    _inside(root, path)
    if not path.is_file():
        raise ExtractError(f"{path}: not a regular file; refused")
    return path


def discover(exports_dir: Path, ent: Entity) -> Discovered:
    """The files of ``ent``'s export: its folder's data files, else ``<entity>.<suffix>``.

    Raises
    ------
    ExtractError
        A link leaves the export folder, a sub-folder is in the entity folder, or both the
        folder and a single file exist. The message names the path, never file content.
    """
    root = Path(exports_dir)
    source_dir = root / ent.source
    if source_dir.exists() or source_dir.is_symlink():
        _inside(root, source_dir)
    folder = source_dir / ent.name
    singles = [
        p
        for suffix in DATA_SUFFIXES
        if (p := source_dir / f"{ent.name}{suffix}").exists() or p.is_symlink()
    ]
    if not (folder.exists() or folder.is_symlink()):
        return Discovered([_regular(root, p) for p in singles], [])
    _inside(root, folder)
    if not folder.is_dir():
        raise ExtractError(f"{folder}: not a folder; refused")
    if singles:
        raise ExtractError(
            f"{ent.qualified_name}: both the folder {folder} and {singles[0].name} exist; "
            "keep one form of the export"
        )
    files, ignored = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")):
            ignored.append(path)
            continue
        _inside(root, path)
        if path.is_dir():
            raise ExtractError(
                f"{path}: a sub-folder in the export folder of {ent.qualified_name}; its files "
                "would not be read. Move them up, or prefix the folder with '_' to skip it"
            )
        if path.suffix.lower() not in DATA_SUFFIXES:
            ignored.append(path)
            continue
        files.append(_regular(root, path))
    return Discovered(files, ignored)


def export_files(exports_dir: Path, ent: Entity) -> list[Path]:
    """The files :func:`discover` finds for ``ent``."""
    return discover(exports_dir, ent).files


def _spec(exports_dir: Path, ent: Entity) -> ExportSpec:
    path = config_path(exports_dir, ent.source)
    if path is not None:
        _inside(Path(exports_dir), path)
    return export_spec(exports_dir, ent)


def open_entity_files(files: list[Path], ent: Entity, spec: ExportSpec) -> list[ExportFile]:
    """Open the files of ``ent``'s export and check each carries every canonical column.

    Raises
    ------
    SchemaDriftError
        A file lacks a canonical column, or two of its columns have one name (after the
        ``columns`` mapping); the message names the file and the columns.
    """
    opened = []
    for path in files:
        export = open_export(path, spec)
        missing = [c for c in ent.columns if c not in export.columns]
        if missing:
            raise SchemaDriftError(
                f"{ent.qualified_name}: {path} lacks canonical column(s) {', '.join(missing)}; "
                "every file of the export must carry every canonical column (map other "
                'headers with "columns" in _export.json)'
            )
        twice = sorted({c for c in export.columns if export.columns.count(c) > 1})
        if twice:
            raise SchemaDriftError(
                f"{ent.qualified_name}: {path}: column(s) {', '.join(twice)} appear twice "
                "(after the columns mapping)"
            )
        opened.append(export)
    return opened


class FileDropConnector:
    """Full-snapshot exports dropped by the source system (no watermark window)."""

    name = "files"
    incremental = False

    def __init__(self, exports_dir: Path) -> None:
        self.exports_dir = Path(exports_dir)

    def fetch(self, ent: Entity, window: Window) -> Fetched:
        found = discover(self.exports_dir, ent)
        if not found.files:
            where = self.exports_dir / ent.source / ent.name
            raise ExportNotFoundError(
                f"{where}(.csv|.tsv|.xlsx|.parquet or folder): export for {ent.qualified_name} "
                "not found"
            )
        spec = _spec(self.exports_dir, ent)
        opened = open_entity_files(found.files, ent, spec)
        warnings = [w for export in opened for w in export.warnings]
        # Each file streams its record batches into the landing: no file is held whole.
        parts = [Part(str(e.path), tuple(e.columns), e.batches) for e in opened]
        origin = str(found.files[0]) if len(found.files) == 1 else str(found.files[0].parent)
        for path in found.ignored:
            log.warning("%s: ignored (not an export file of %s)", path, ent.qualified_name)
        for warning in warnings:
            log.warning("%s", warning)
        return Fetched(
            frame=None,
            origin=origin,
            parts=parts,
            formats=spec.all_formats(),
            snapshot=(
                Snapshot(
                    allow_empty=spec.allow_empty or ent.optional, max_shrink=float(spec.max_shrink)
                )
                if spec.snapshot == "full"
                else None
            ),
            stats={
                "files": [str(p) for p in found.files],
                "ignored": [str(p) for p in found.ignored],
                "warnings": warnings,
            },
        )
