"""The alert lifecycle as the warehouse sees it: the alert state's episodes, exported to the lake.

The alerts step of run date ``D`` writes every episode of the alert state
(:class:`~kam_transforms.alerts.outbox.OutboxState`, table ``alert_episodes``) to::

    <lake>/alert_history/as_of=<D>/alert_lifecycle.parquet

(a full snapshot: ``dedup_key``, ``customer_id``, ``rule_id``, ``severity``, ``raised_on``,
``closed_on``, ``_batch_id``, ``_loaded_at``), streamed in batches to a temporary file and
moved into place atomically, so a build never reads half a file. A rerun of ``D`` rewrites the
same bytes; a run whose state already holds a newer date (a backfill) writes nothing, so a
partition never holds what was known only later.

The dbt build of date ``D`` reads the newest partition dated *before* ``D`` (staging
``stg_alerts__alert_lifecycle``): the alert history up to the previous alerts step, never the
one of its own date, which runs after it (no circularity; a rebuild of ``D`` after its alerts
step gives the same tables). ``int_alert_lifecycle`` then adds what ``D``'s alerts step will
record from ``D``'s own ``key_account_alerts``: alerts raised at ``D`` and alerts closed at
``D`` (open in that history, no longer detected).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kam_transforms.alerts.outbox import OutboxState

__all__ = ["HISTORY_DIR", "LIFECYCLE_FILE", "LIFECYCLE_SCHEMA", "export_alert_lifecycle"]

#: The folder under the lake the alerts step writes (dbt source ``alert_history``).
HISTORY_DIR = "alert_history"
LIFECYCLE_FILE = "alert_lifecycle.parquet"
LIFECYCLE_SCHEMA = pa.schema(
    [
        ("dedup_key", pa.string()),
        ("customer_id", pa.string()),
        ("rule_id", pa.string()),
        ("severity", pa.string()),
        ("raised_on", pa.date32()),
        ("closed_on", pa.date32()),
        ("_batch_id", pa.string()),
        ("_loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)
_BATCH_ROWS = 50_000


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def export_alert_lifecycle(state: OutboxState, lake_dir: str | Path, as_of: dt.date) -> Path:
    """Write the state's episodes raised on or before ``as_of`` as the partition of ``as_of``;
    return the file. The caller holds the alerts lock and skips stale runs."""
    folder = Path(lake_dir) / HISTORY_DIR / f"as_of={as_of.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / LIFECYCLE_FILE
    batch_id = f"alerts-{as_of.isoformat()}"
    loaded_at = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC)
    fd, tmp = tempfile.mkstemp(prefix=".alert_lifecycle.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        with pq.ParquetWriter(tmp, LIFECYCLE_SCHEMA) as writer:  # no rows: a valid empty file
            for rows in state.episode_batches(as_of, _BATCH_ROWS):
                columns = list(zip(*rows, strict=True))
                writer.write_table(
                    pa.table(
                        {
                            "dedup_key": columns[0],
                            "customer_id": columns[1],
                            "rule_id": columns[2],
                            "severity": columns[3],
                            "raised_on": [_day(v) for v in columns[4]],
                            "closed_on": [_day(v) for v in columns[5]],
                            "_batch_id": [batch_id] * len(rows),
                            "_loaded_at": [loaded_at] * len(rows),
                        },
                        schema=LIFECYCLE_SCHEMA,
                    )
                )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

