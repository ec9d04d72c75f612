"""The shared landing path: a batch streamed in bounded chunks, raw + quarantine Parquet out.

Every connector (file drop, HubSpot, Odoo) hands over its batch in canonical column names:
as :class:`Part` streams (one per file or listing, each a sequence of Arrow record batches
or frames) to :func:`land_parts`, or as one frame to :func:`land_batch`. Memory is bounded by
a chunk (:data:`CHUNK_ROWS` rows), never the whole entity:

1. **schema**: every canonical column present in every part (a missing one fails the
   entity, naming source, entity, column and origin); a value of an impossible type (a list
   in a text column, a number in a date column, a column of which no value parses) fails it
   too; new source columns are carried through as text;
2. **row rules**, chunk by chunk (:mod:`kam_transforms.extract.rowrules`): every value is
   rendered as text and normalised, each bad row gets its reasons; every row is written at
   once, with its position, row number, origin and reasons, to a hidden staged Parquet file
   (``pyarrow.parquet.ParquetWriter``, one row group per chunk);
3. **whole-batch checks in DuckDB** over the staged file: keys repeated anywhere in the batch
   (after the same trimming as staging) add ``duplicate key ...`` to those rows' reasons; a
   full snapshot lands tombstones for vanished keys and fails when empty, wholly quarantined
   or shrunk too much (:mod:`kam_transforms.extract.snapshot`); rows in = rows landed + rows
   quarantined is checked;
4. the entity's **raw suite** (:mod:`expectations.raw_suites`) runs in DuckDB on the rows to
   land, foreign keys exactly against the parents' landed keys; a blocking failure fails the
   entity before anything becomes visible;
5. **atomic publish**: the rows to land (then the tombstones) and the quarantine are
   streamed from DuckDB into hidden temporary files, which are renamed into
   ``lake/raw|quarantine/<source>/<entity>/as_of=<date>/<batch_id>.parquet``; then the
   date's older batches are removed: a reader sees the old batch or the new one, never a part.

DuckDB's memory here is ``KAM_LANDING_MEMORY_LIMIT``, else ``KAM_DUCKDB_MEMORY_LIMIT``, else
``1GB`` (it spills to a temporary folder beyond that); its threads ``KAM_DUCKDB_THREADS``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq

from kam_transforms.entities import Entity
from kam_transforms.extract.canonical import SchemaDriftError, canonical_text, chunk_texts
from kam_transforms.extract.files import ExtractError, LandResult, partition_dir
from kam_transforms.extract.lake import SNAPSHOT_METADATA, quote
from kam_transforms.extract.rowrules import Drift, OwnerIndex, apply_rules
from kam_transforms.extract.rules import rules_for
from kam_transforms.extract.scratch import connect_spilling, work_folder
from kam_transforms.extract.snapshot import (
    Snapshot,
    check_not_empty,
    check_shrink,
    previous_state,
)
from kam_transforms.lazy import lazy

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pandas as pd
else:  # imported when a batch is first checked, not when a task imports the extract path
    np, pd = lazy("numpy"), lazy("pandas")

__all__ = [
    "CHUNK_ROWS",
    "PAUSE_ENV",
    "BatchOutcome",
    "Part",
    "RawValidationError",
    "SchemaDriftError",
    "canonical_text",
    "land_batch",
    "land_parts",
    "landed_currencies",
    "landed_owners",
    "landed_rows",
]

log = logging.getLogger(__name__)

#: Test hook: seconds to sleep after the batch is written to its temporary file and before
#: it is renamed into place (lets a test kill an extract at the worst moment).
PAUSE_ENV = "KAM_EXTRACT_PAUSE_BEFORE_PUBLISH"
#: The most rows the row rules hold at once.
CHUNK_ROWS = 100_000

Chunk: TypeAlias = "pd.DataFrame | pa.RecordBatch | pa.Table"


class RawValidationError(ExtractError):
    """The raw suite failed on a batch; nothing was landed."""


@dataclass(frozen=True)
class BatchOutcome(LandResult):
    """A :class:`LandResult` plus the quarantine reasons counted per rule and the raw suite."""

    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    #: Tombstones landed for keys that vanished from a full snapshot (not part of rows_in).
    rows_deleted: int = 0
    extra_columns: tuple[str, ...] = ()
    raw_validation: dict[str, Any] = field(default_factory=dict)
    as_of: str = ""
    origin: str = ""


@dataclass(frozen=True)
class Part:
    """One origin of a batch (a file, a listing, a query): its columns and its rows in order.

    ``chunks`` is called once and yields Arrow record batches (or tables, or frames) in
    canonical column names; row numbers count from 1 per part.
    """

    origin: str
    columns: tuple[str, ...]
    chunks: Callable[[], Iterable[Chunk]]

    @classmethod
    def of_frame(cls, frame: pd.DataFrame, origin: str) -> Part:
        """A part holding one frame (connectors that build their batch in memory)."""
        return cls(origin, tuple(str(c) for c in frame.columns), lambda: [frame])


# --------------------------------------------------------------------------- pass 1: rules


def _chunks(part: Part, rows: int) -> Iterator[Chunk]:
    """The part's rows as chunks (Arrow or frames, as given) of at most ``rows`` rows."""
    for chunk in part.chunks():
        if isinstance(chunk, pd.DataFrame):
            for start in range(0, len(chunk), rows):
                yield chunk.iloc[start : start + rows]
            continue
        for start in range(0, chunk.num_rows, rows):
            yield chunk.slice(start, rows)


def _schema_check(parts: Sequence[Part], ent: Entity, required: list[str]) -> list[str]:
    """The batch's columns: canonical ones, then extras in order of appearance."""
    extras: list[str] = []
    for part in parts:
        names = list(part.columns)
        missing = [c for c in required if c not in names]
        if missing:
            raise SchemaDriftError(
                f"{ent.source}/{ent.name}: required column {', '.join(missing)} missing from "
                f"{part.origin}"
            )
        dupes = sorted({c for c in names if names.count(c) > 1})
        if dupes:
            raise SchemaDriftError(
                f"{ent.source}/{ent.name}: column {', '.join(dupes)} appears twice in "
                f"{part.origin}"
            )
        reserved = [c for c in names if c.startswith("_")]
        if reserved:
            raise SchemaDriftError(
                f"{ent.source}/{ent.name}: column {', '.join(reserved)} from {part.origin} "
                f"uses the reserved '_' prefix"
            )
        extras.extend(c for c in names if c not in ent.columns and c not in extras)
    return [*ent.columns, *extras]


@dataclass
class _Staged:
    """What pass 1 wrote and counted."""

    path: Path
    rows_in: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    digest: Any = field(default_factory=hashlib.sha256)


def _stage(
    parts: Sequence[Part],
    ent: Entity,
    order: list[str],
    path: Path,
    known_currencies: set[str] | None,
    fx_landed: bool,
    formats: dict[str, str],
    rows: int,
    owners: OwnerIndex | None = None,
) -> _Staged:
    """Pass 1: rules chunk by chunk, every row written to the staged file with its reasons."""
    rules = rules_for(ent)
    drift = Drift()
    staged = _Staged(path)
    schema = pa.schema(
        [(c, pa.string()) for c in order]
        + [("_pos", pa.int64()), ("_row_number", pa.int64()), ("_source_file", pa.string()),
           ("_reason", pa.string())]
    )  # fmt: skip
    staged.digest.update("\x1f".join(order).encode("utf-8"))
    with pq.ParquetWriter(path, schema) as writer:
        for part in parts:
            row_number = 0
            for chunk in _chunks(part, rows):
                where = f"{ent.source}/{ent.name}: column {{}} from {part.origin}"
                text = chunk_texts(chunk, list(part.columns), order, rules, where)
                n = len(text[order[0]])
                text, reasons = apply_rules(
                    text, n, ent, rules, known_currencies, formats, drift, owners=owners
                )
                if known_currencies is not None and not fx_landed:
                    _require_fx(ent, text, rules.currencies, known_currencies)
                texts = reasons.texts()
                for rule, count in reasons.counts.items():
                    staged.reasons[rule] = staged.reasons.get(rule, 0) + count
                columns = [text[c] for c in order] + [
                    pa.array(np.arange(staged.rows_in, staged.rows_in + n), pa.int64()),
                    pa.array(np.arange(row_number + 1, row_number + n + 1), pa.int64()),
                    pa.array([part.origin] * n, pa.string()),
                    pa.array(texts, pa.string()),
                ]
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                staged.rows_in += n
                row_number += n
    drift.check(ent)
    return staged


def _content_digest(con: duckdb.DuckDBPyConnection, path: Path, order: list[str]) -> bytes:
    """The staged rows' content for the batch id: the count and the exact (HUGEINT) sum of
    DuckDB's hash of each row's position and normalised values, so the id depends on the
    rows and their order, not on how they were chunked, and costs one parallel scan."""
    cols = ", ".join(quote(c) for c in order)
    ((count, total),) = con.execute(
        f"select count(*), coalesce(sum(hash(_pos, {cols})::hugeint), 0)::varchar "  # noqa: S608
        "from read_parquet(?)",
        [str(path)],
    ).fetchall()
    return f"{count}:{total}".encode()


def _require_fx(
    ent: Entity, text: dict[str, pa.Array], cols: Iterable[str], known: set[str]
) -> None:
    used: set[str] = set()
    for c in cols:
        used.update(str(v) for v in text[c].unique().drop_null().to_pylist())
    foreign = sorted(used - known)
    if foreign:
        raise ExtractError(
            f"{ent.source}/{ent.name}: no fx rates landed yet, so currencies "
            f"{', '.join(foreign[:5])} cannot be checked; land erp/fx_rates first"
        )
# --------------------------------------------------------------------------- lake reads


def _partition_files(
    lake_dir: Path, ent: Entity, as_of: date | None, before: bool = False
) -> list[Path]:
    root = lake_dir / "raw" / ent.source / ent.name
    files = []
    for part in sorted(root.glob("as_of=*")):
        day = part.name.removeprefix("as_of=")
        if as_of is not None and (day > as_of.isoformat() or (before and day == as_of.isoformat())):
            continue
        files.extend(sorted(part.glob("*.parquet")))
    return files


def landed_rows(
    lake_dir: Path,
    ent: Entity,
    as_of: date | None = None,
    columns: Iterable[str] | None = None,
    *,
    before: bool = False,
) -> pd.DataFrame:
    """The current landed state of ``ent``: per key the row of the latest batch (as staging).

    Reads partitions with ``as_of <= as_of`` (``<`` with ``before``; all when ``None``);
    ``columns`` limits what is read (keys, ``is_deleted`` and ``_loaded_at`` always are).
    """
    files = _partition_files(lake_dir, ent, as_of, before)
    wanted = None if columns is None else list(dict.fromkeys([*ent.key, *columns]))
    frames = []
    for order, path in enumerate(files):
        schema = pq.read_schema(path)
        cols = None
        if wanted is not None:
            cols = [c for c in [*wanted, "is_deleted", "_loaded_at"] if c in schema.names]
        t = pq.read_table(path, columns=cols).to_pandas()
        t["_order"] = order
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=wanted if wanted is not None else list(ent.key))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(["_order", "_loaded_at"], kind="stable")
    frame = frame.drop_duplicates(list(ent.key), keep="last").drop(columns="_order")
    return frame.reset_index(drop=True)


def landed_owners(lake_dir: Path, as_of: date) -> OwnerIndex | None:
    """The live ``crm/owners`` landed up to ``as_of`` (None when none ever landed)."""
    from kam_transforms.addresses import normalise_address
    from kam_transforms.entities import entity

    ent = entity("crm", "owners")
    if not _partition_files(lake_dir, ent, as_of):
        return None
    rows = landed_rows(lake_dir, ent, as_of, ["email"])
    if "is_deleted" in rows:
        rows = rows[rows["is_deleted"].fillna("false").str.lower() != "true"]
    ids = [str(v) for v in rows["owner_id"]]
    by_email: dict[str, str] = {}
    for oid, mail in zip(ids, rows["email"], strict=True):
        address = normalise_address(mail) if isinstance(mail, str) else None
        if address is not None:
            by_email.setdefault(address, oid)
    return OwnerIndex(frozenset(ids), by_email)


def landed_currencies(lake_dir: Path) -> set[str]:
    """Currencies with a landed fx rate (any date)."""
    from kam_transforms.entities import entity

    out: set[str] = set()
    for path in _partition_files(lake_dir, entity("erp", "fx_rates"), None):
        col = pq.read_table(path, columns=["currency"]).column("currency")
        out.update(v for v in col.to_pylist() if v)
    return out


# --------------------------------------------------------------------------- pass 2: DuckDB


@dataclass(frozen=True)
class _Marked:
    """The staged rows with their duplicate-key reasons: what lands and what is quarantined."""

    good: str
    bad: str
    duplicates: int


def _mark_duplicates(con: duckdb.DuckDBPyConnection, ent: Entity) -> _Marked:
    """Find keys repeated anywhere in the batch; returns the select lists of both outputs."""
    keys = [quote(k) for k in ent.key]
    complete = " and ".join(f"{k} is not null and {k} <> ''" for k in keys)
    con.execute(
        f"create temp table dups as select {', '.join(keys)}, count(*) as _n "  # noqa: S608
        f"from staged where {complete} group by all having count(*) > 1"
    )
    duplicates = con.execute("select coalesce(sum(_n), 0) from dups").fetchall()[0][0]
    if not duplicates:
        con.execute(
            "create temp view marked as select *, cast(null as varchar) as _dup from staged"
        )
        return _Marked("where _reason is null", "where _reason is not null", 0)
    named = " || ', ' || ".join(f"'{k}=' || s.{quote(k)}" for k in ent.key)
    on = " and ".join(f"s.{k} = d.{k}" for k in keys)
    con.execute(
        "create temp view marked as select s.*, case when d._n is not null then "  # noqa: S608
        f"'duplicate key ' || {named} || ' appears ' || d._n || ' times in the batch' end as _dup "
        f"from staged s left join dups d on {on}"
    )
    return _Marked(
        "where _reason is null and _dup is null order by _pos",
        "where _reason is not null or _dup is not null order by _pos",
        int(duplicates),
    )


def _tmp_path(target: Path) -> Path:
    """A hidden temporary name beside ``target`` of this process's own (pid + random): two
    extracts of one entity never share a tmp file (see :func:`_clean_stale_tmp`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _write(
    con: duckdb.DuckDBPyConnection,
    queries: list[str],
    params: list[Any],
    schema: pa.Schema,
    target: Path,
    written: list[Path],
) -> Path:
    """Stream the queries' rows, in order, into a hidden temporary file beside ``target``
    (recorded in ``written``, so a failure removes it)."""
    tmp = _tmp_path(target)
    written.append(tmp)
    with pq.ParquetWriter(tmp, schema) as writer:
        for sql in queries:
            reader = con.sql(sql, params=params).to_arrow_reader(CHUNK_ROWS)
            for batch in reader:
                writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    return tmp


def _clean_stale_tmp(directory: Path) -> None:
    """Delete tmp files of extracts that died (their pid no longer runs), never a live one's."""
    for stale in directory.glob(".*.tmp"):
        owner = re.search(r"\.(\d+)-[0-9a-f]+\.tmp$", stale.name)
        if owner:
            try:
                os.kill(int(owner.group(1)), 0)
                continue  # still running
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        stale.unlink(missing_ok=True)


def _publish(
    raw_tmp: Path, q_tmp: Path | None, raw_dir: Path, q_dir: Path, batch_id: str
) -> tuple[Path, Path | None]:
    raw_target = raw_dir / f"{batch_id}.parquet"
    q_target = q_dir / f"{batch_id}.parquet"
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if pause:
        log.warning("%s=%s: pausing before publishing %s", PAUSE_ENV, pause, batch_id)
        time.sleep(pause)
    os.replace(raw_tmp, raw_target)
    if q_tmp is not None:
        os.replace(q_tmp, q_target)
    for old in raw_dir.glob("*.parquet"):
        if old != raw_target:
            old.unlink()
    for old in q_dir.glob("*.parquet"):
        if q_tmp is None or old != q_target:
            old.unlink()
    return raw_target, (q_target if q_tmp is not None else None)


# --------------------------------------------------------------------------- entry points


def land_parts(
    parts: Sequence[Part],
    ent: Entity,
    lake_dir: Path,
    as_of: date,
    *,
    origin: str,
    loaded_at: datetime | None = None,
    known_currencies: set[str] | None = None,
    fx_landed: bool = True,
    formats: dict[str, str] | None = None,
    validate: bool = True,
    required_columns: Iterable[str] | None = None,
    snapshot: Snapshot | None = None,
    chunk_rows: int = CHUNK_ROWS,
    owners: OwnerIndex | None = None,
) -> BatchOutcome:
    """Land one batch of ``ent`` for ``as_of``, streamed: rules, quarantine, raw suite, publish.

    Parameters
    ----------
    parts
        The batch's origins in order (files of a drop, one listing), each streaming rows in
        canonical column names (every canonical column, plus any extra source columns,
        which are carried through). Values of any type; they land as text.
    origin
        Where the batch came from (a file, folder, URL or table), for messages.
    known_currencies
        Currencies a money row may use (landed fx currencies plus the base currency);
        ``None`` only checks the three-letter form.
    fx_landed
        ``False`` when no fx rate has landed yet: a foreign currency then fails the entity
        (land ``erp/fx_rates`` first) instead of quarantining every such row.
    formats
        ``{"date_format": ..., "timestamp_format": ...}`` or per-column strptime formats for
        sources that do not write ISO-8601.
    validate
        Run the raw suite before publishing (default).
    required_columns
        Columns that must be present (default: the canonical columns of ``ent``).
    snapshot
        The batch is a full snapshot (:mod:`kam_transforms.extract.snapshot`): keys that
        vanished since the previous landed state land as tombstones; an empty, wholly
        quarantined or over-shrunk snapshot fails. ``None``: an incremental batch.
    chunk_rows
        The most rows the row rules hold at once.
    owners
        The live landed owners, for an entity whose rows name one (the owner directory).

    Raises
    ------
    SchemaDriftError
        A required column is missing or a column has an impossible type; nothing is landed.
    RawValidationError
        The raw suite failed; nothing is landed.
    SnapshotError
        A full snapshot is empty, wholly quarantined or shrank too much; nothing is landed.
    """
    loaded = (loaded_at or datetime.now(UTC)).astimezone(UTC)
    required = list(ent.columns if required_columns is None else required_columns)
    order = _schema_check(parts, ent, required)
    raw_dir = partition_dir(lake_dir, "raw", ent, as_of)
    q_dir = partition_dir(lake_dir, "quarantine", ent, as_of)
    for directory in (raw_dir, q_dir):
        if directory.exists():
            _clean_stale_tmp(directory)
    # The staged rows and DuckDB's spill files: a folder of this process's own in the lake.
    written: list[Path] = []
    with work_folder(lake_dir) as spill:
        staged_path = spill / "staged.parquet"
        try:
            staged = _stage(
                parts, ent, order, staged_path, known_currencies, fx_landed, formats or {},
                chunk_rows, owners,
            )  # fmt: skip
            with connect_spilling(spill) as con:
                staged.digest.update(_content_digest(con, staged_path, order))
                for part in parts:
                    staged.digest.update(part.origin.encode("utf-8"))
                batch_id = (
                    f"{ent.source}-{ent.name}-{as_of:%Y%m%d}-{staged.digest.hexdigest()[:12]}"
                )
                counts, raw_tmp, q_tmp = _check_and_write(
                    con, staged, ent, order, lake_dir, as_of, raw_dir, q_dir, batch_id, loaded,
                    known_currencies if validate else None, validate, snapshot, origin, written,
                )  # fmt: skip
            raw_path, q_path = _publish(raw_tmp, q_tmp, raw_dir, q_dir, batch_id)
        finally:
            for path in written:
                path.unlink(missing_ok=True)
    outcome = BatchOutcome(
        **counts, path=str(raw_path), quarantine_path=str(q_path) if q_path else None
    )
    log.info(
        "%s/%s as of %s: %d rows in, %d landed, %d quarantined, %d deleted %s",
        ent.source,
        ent.name,
        as_of,
        outcome.rows_in,
        outcome.rows_landed,
        outcome.rows_quarantined,
        outcome.rows_deleted,
        outcome.quarantine_reasons or "",
    )
    return outcome


def _check_and_write(
    con: duckdb.DuckDBPyConnection,
    staged: _Staged,
    ent: Entity,
    order: list[str],
    lake_dir: Path,
    as_of: date,
    raw_dir: Path,
    q_dir: Path,
    batch_id: str,
    loaded: datetime,
    known_currencies: set[str] | None,
    validate: bool,
    snapshot: Snapshot | None,
    origin: str,
    written: list[Path],
) -> tuple[dict[str, Any], Path, Path | None]:
    """Pass 2: duplicates, snapshot, raw suite, then the raw and quarantine temp files."""
    # A view cannot take a bound parameter: the path is ours (a temp file), quoted.
    path = "'" + str(staged.path).replace("'", "''") + "'"
    con.execute(f"create view staged as select * from read_parquet({path})")  # noqa: S608
    marked = _mark_duplicates(con, ent)
    reasons = dict(staged.reasons)
    if marked.duplicates:
        reasons["duplicate_key"] = reasons.get("duplicate_key", 0) + marked.duplicates
    cols = ", ".join(quote(c) for c in order)
    landed = con.execute(f"select count(*) from (select 1 from marked {marked.good})").fetchall()  # noqa: S608
    rows_landed = int(landed[0][0])
    counted = con.execute(f"select count(*) from (select 1 from marked {marked.bad})").fetchall()  # noqa: S608
    rows_bad = int(counted[0][0])
    if rows_landed + rows_bad != staged.rows_in:  # pragma: no cover - guarded invariant
        raise ExtractError(f"{ent.source}/{ent.name}: row accounting broken ({staged.rows_in} in)")

    out_cols = list(order)
    gone = 0
    if snapshot is not None:
        check_not_empty(ent, snapshot, origin, staged.rows_in, rows_landed, reasons)
        keys = ", ".join(quote(k) for k in ent.key)
        con.execute(f"create temp view present as select {keys} from staged")  # noqa: S608
        canonical = [c for c in order if c in ent.columns]
        if "is_deleted" not in canonical:
            canonical.append("is_deleted")
        previous = previous_state(con, lake_dir, ent, as_of, "present", canonical)
        if not (snapshot.allow_empty and rows_landed == 0):
            check_shrink(ent, snapshot, origin, previous)
        gone = previous.gone
        if gone and "is_deleted" not in out_cols:
            out_cols.append("is_deleted")

    raw_validation: dict[str, Any] = {}
    if validate:
        from expectations.raw_suites import RawSuiteFailed, validate_raw

        live = "true"
        if "is_deleted" in order:
            live = "coalesce(is_deleted, 'false') <> 'true'"
        con.execute(
            f"create temp view landing as select {cols} from marked "  # noqa: S608
            f"where _reason is null and _dup is null and {live}"
        )
        try:
            raw_validation = validate_raw(
                con, "landing", ent, as_of, lake_dir=lake_dir, known_currencies=known_currencies
            )
        except RawSuiteFailed as exc:
            raise RawValidationError(f"{ent.source}/{ent.name} from {origin}: {exc}") from exc

    def select(c: str, available: Iterable[str]) -> str:
        return quote(c) if c in available else f"cast(null as varchar) as {quote(c)}"

    meta = ", ? as _batch_id, cast(? as timestamp) as _loaded_at"
    stamp = loaded.replace(tzinfo=None)
    raw_schema = pa.schema(
        [(c, pa.string()) for c in out_cols]
        + [("_batch_id", pa.string()), ("_loaded_at", pa.timestamp("us"))],
        metadata=SNAPSHOT_METADATA if snapshot is not None else None,
    )
    queries = [
        f"select {', '.join(select(c, order) for c in out_cols)}{meta} from marked {marked.good}"  # noqa: S608
    ]
    if gone:
        canonical_gone = {r[0] for r in con.execute("describe gone").fetchall()}
        queries.append(
            f"select {', '.join(select(c, canonical_gone) for c in out_cols)}{meta} from gone"  # noqa: S608
        )
    raw_tmp = _write(
        con, queries, [batch_id, stamp], raw_schema, raw_dir / f"{batch_id}.parquet", written
    )
    q_tmp = None
    if rows_bad:
        q_schema = pa.schema(
            [(c, pa.string()) for c in order]
            + [("_batch_id", pa.string()), ("_loaded_at", pa.timestamp("us")),
               ("_row_number", pa.int64()), ("_reason", pa.string()),
               ("_source_file", pa.string())]
        )  # fmt: skip
        q_sql = (
            f"select {cols}{meta}, _row_number, concat_ws('; ', _reason, _dup) as _reason, "  # noqa: S608
            f"_source_file from marked {marked.bad}"
        )
        q_target = q_dir / f"{batch_id}.parquet"
        q_tmp = _write(con, [q_sql], [batch_id, stamp], q_schema, q_target, written)
    outcome = {
        "source": ent.source,
        "entity": ent.name,
        "batch_id": batch_id,
        "rows_in": staged.rows_in,
        "rows_landed": rows_landed,
        "rows_quarantined": rows_bad,
        "rows_deleted": gone,
        "quarantine_reasons": dict(sorted(reasons.items())),
        "extra_columns": tuple(c for c in order if c not in ent.columns),
        "raw_validation": raw_validation,
        "as_of": as_of.isoformat(),
        "origin": origin,
    }
    return outcome, raw_tmp, q_tmp


def land_batch(
    frame: pd.DataFrame,
    ent: Entity,
    lake_dir: Path,
    as_of: date,
    *,
    origin: str,
    **kwargs: Any,
) -> BatchOutcome:
    """Land one in-memory frame of ``ent`` (see :func:`land_parts` for the keywords)."""
    return land_parts(
        [Part.of_frame(frame.reset_index(drop=True), origin)],
        ent,
        lake_dir,
        as_of,
        origin=origin,
        **kwargs,
    )
