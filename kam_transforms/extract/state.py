"""Watermarks per source and entity, in small JSON files next to the lake.

``<lake_dir>/_state/<source>/<entity>.json`` (one file per entity, so parallel extract tasks
never write the same file)::

    {
      "source": "crm", "entity": "accounts", "connector": "hubspot",
      "watermark": "2026-10-31T17:02:11.512000+00:00",   # cursor of the latest run, or null
      "as_of": "2026-10-31",                              # the latest as-of date committed
      "runs": {                                           # one entry per as-of date
        "2026-10-31": {"from": "2026-10-30T...", "to": "2026-10-31T...",
                        "batch_id": "...", "rows_landed": 12, "rows_quarantined": 0,
                        "committed_at": "2026-11-01T02:00:03+00:00"}
      }
    }

A run as of ``D`` reads from ``runs[D].from`` when ``D`` ran before (so a rerun refetches
exactly the same interval and lands the same batch again), else from the watermark of the
latest earlier run. The file is replaced atomically (temporary file, fsync, rename) and
only after the batch has landed and passed its raw suite; a failed or killed run leaves it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kam_transforms.entities import Entity

__all__ = ["WatermarkStore"]


class WatermarkStore:
    """Read and commit the watermark of each (source, entity) under ``<lake_dir>/_state``."""

    def __init__(self, lake_dir: Path) -> None:
        self.root = Path(lake_dir) / "_state"

    def path(self, ent: Entity) -> Path:
        return self.root / ent.source / f"{ent.name}.json"

    def load(self, ent: Entity) -> dict[str, Any]:
        path = self.path(ent)
        if not path.is_file():
            return {"source": ent.source, "entity": ent.name, "watermark": None, "runs": {}}
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        state.setdefault("runs", {})
        return state

    def watermark(self, ent: Entity) -> str | None:
        value = self.load(ent).get("watermark")
        return str(value) if value else None

    def window_start(self, ent: Entity, as_of: date) -> str | None:
        """Where a run as of ``as_of`` starts: its own earlier start, or the previous run's end."""
        runs: dict[str, Any] = self.load(ent)["runs"]
        day = as_of.isoformat()
        if day in runs:
            start = runs[day].get("from")
            return str(start) if start else None
        earlier = sorted(d for d in runs if d < day)
        if not earlier:
            return None
        end = runs[earlier[-1]].get("to")
        return str(end) if end else None

    def commit(
        self,
        ent: Entity,
        as_of: date,
        *,
        start: str | None,
        end: str | None,
        connector: str,
        details: dict[str, Any],
        committed_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Record the run as of ``as_of`` (interval ``start``..``end``) and move the watermark.

        The watermark moves only when ``as_of`` is the latest date run so far (a backfill of
        an earlier date records its run and leaves the current watermark alone).
        """
        state = self.load(ent)
        day = as_of.isoformat()
        state["runs"][day] = {
            "from": start,
            "to": end,
            **details,
            "committed_at": (committed_at or datetime.now(UTC)).isoformat(),
        }
        latest = max(state["runs"])
        if day == latest:
            state["watermark"] = end
            state["as_of"] = day
        state["connector"] = connector
        state["runs"] = dict(sorted(state["runs"].items()))
        self._write(self.path(ent), state)
        return state

    @staticmethod
    def _write(path: Path, state: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2, sort_keys=False, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
