"""Shared pieces of the extract path: the error type, the batch result and the lake layout.

A batch lands as ``lake/raw/<source>/<entity>/as_of=<date>/<batch_id>.parquet`` (every column
as text plus ``_batch_id`` and ``_loaded_at``; typing is staging's job); rejected rows go to
``lake/quarantine/...`` with their reason. See :mod:`kam_transforms.extract.landing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kam_transforms.entities import Entity

__all__ = ["ExportNotFoundError", "ExtractError", "LandResult", "partition_dir"]


class ExtractError(RuntimeError):
    """An export cannot be landed at all (missing file, missing required column)."""


class ExportNotFoundError(ExtractError):
    """The file drop has no export of an entity (an error unless the entity is optional)."""


@dataclass(frozen=True)
class LandResult:
    """What one batch did: the counts always satisfy rows_in == landed + quarantined."""

    source: str
    entity: str
    batch_id: str
    rows_in: int
    rows_landed: int
    rows_quarantined: int
    path: str
    quarantine_path: str | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def partition_dir(lake_dir: Path, zone: str, ent: Entity, as_of: date) -> Path:
    return lake_dir / zone / ent.source / ent.name / f"as_of={as_of.isoformat()}"
