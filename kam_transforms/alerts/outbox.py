"""Alert state: which conditions are open, which were notified, which digests went out.

A small SQLite database (one file, default ``<outbox_dir>/../alerts_state.sqlite``) keeps

``alerts``
    one row per ``dedup_key`` ever seen: ``customer_id``, ``rule_id``, ``severity`` (latest),
    ``first_seen``, ``last_seen``, ``last_notified``, ``notified_severity`` (the severity the
    last sent digest reported), ``status`` (``open``/``closed``) and ``closed_at``.
``deliveries``
    one row per digest: ``delivery_id`` (the stable Message-ID local part derived from
    recipient, as-of date and the set of alert keys), ``recipient``, ``cc``, ``as_of``,
    ``status`` (``pending``/``sent``/``failed``/``superseded``), ``attempts``,
    ``last_error``, ``created_at``, ``sent_at`` and the exact ``message`` bytes, so a retry
    sends the same message with the same Message-ID.
``delivery_alerts``
    which alert (and at which severity) each digest reports; alerts count as notified only
    when their digest is marked ``sent``.
``runs``
    the as-of dates planned so far; a plan for a date older than the newest one is a no-op.
``alert_episodes``
    the lifecycle of every alert: one row per time a ``dedup_key`` was raised (new, or again
    after it closed): ``raised_on``, ``customer_id``, ``rule_id``, ``severity`` (when
    raised) and ``closed_on`` (the first run that no longer detected it; null while open).
    The alerts step exports it to the lake for the warehouse
    (:mod:`kam_transforms.alerts.lifecycle`). A state from before this table gets one
    episode per alert from its ``first_seen`` and ``closed_at`` when opened.

Every date and timestamp written comes from the run's as-of date, never from the clock, so
a rerun of the same date is deterministic.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kam_transforms.alerts.model import (
    SEVERITY_RANK,
    AlertRow,
    is_missing,
    iter_alert_rows,
    to_date,
)

__all__ = [
    "NO_REMINDER_RULES",
    "AlertPlan",
    "AlertStateError",
    "OutboxState",
    "PlannedAlert",
    "Snooze",
    "SnoozeSource",
    "as_of_timestamp",
    "load_snoozes",
]

log = logging.getLogger(__name__)


class AlertStateError(RuntimeError):
    """The alert state database cannot be opened or written; the message names the file."""


def _state_error(path: Path, exc: sqlite3.Error) -> AlertStateError:
    hint = (
        "the disk is full: free space and rerun (nothing was marked sent)"
        if "full" in str(exc).lower()
        else "it is not a readable alert state: restore it from a backup or move it aside "
        "(a new one re-sends every open alert once)"
    )
    return AlertStateError(f"alert state {path}: {exc}; {hint}")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    dedup_key         TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL,
    rule_id           TEXT NOT NULL,
    severity          TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    last_notified     TEXT,
    notified_severity TEXT CHECK (notified_severity IN ('low', 'medium', 'high')),
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    closed_at         TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    recipient   TEXT NOT NULL,
    cc          TEXT NOT NULL DEFAULT '',
    as_of       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'superseded')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    message     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, as_of);
CREATE TABLE IF NOT EXISTS delivery_alerts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (delivery_id),
    dedup_key   TEXT NOT NULL,
    severity    TEXT NOT NULL,
    PRIMARY KEY (delivery_id, dedup_key)
);
CREATE TABLE IF NOT EXISTS runs (
    as_of           TEXT PRIMARY KEY,
    alerts_in_frame INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_episodes (
    dedup_key   TEXT NOT NULL,
    raised_on   TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    closed_on   TEXT,
    PRIMARY KEY (dedup_key, raised_on)
);
"""

# Episodes of a state written before alert_episodes existed (idempotent).
_EPISODES_FROM_ALERTS = """
INSERT INTO alert_episodes (dedup_key, raised_on, customer_id, rule_id, severity, closed_on)
SELECT dedup_key, first_seen, customer_id, rule_id, severity,
       CASE WHEN status = 'closed' THEN closed_at END
FROM alerts
WHERE NOT EXISTS (SELECT 1 FROM alert_episodes AS e WHERE e.dedup_key = alerts.dedup_key)
  AND NOT (status = 'closed' AND closed_at = first_seen)  -- raised and dropped by reruns of a date
"""
_EPISODE_RAISED = (
    "INSERT INTO alert_episodes (dedup_key, raised_on, customer_id, rule_id, severity) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedup_key, raised_on) DO UPDATE SET closed_on = NULL"
)

_SCHEMA_VERSION = 1


def as_of_timestamp(as_of: dt.date) -> str:
    """The timestamp written for events of a run: midnight UTC of its as-of date."""
    return f"{as_of.isoformat()}T00:00:00Z"


# --------------------------------------------------------------------------- snoozes


@dataclass(frozen=True)
class Snooze:
    """Silence alerts of ``customer_id`` for ``rule_id`` (``*`` = every rule) through
    ``until_date`` (inclusive)."""

    customer_id: str
    rule_id: str
    until_date: dt.date
    reason: str = ""

    def silences(self, row: AlertRow, as_of: dt.date) -> bool:
        return (
            as_of <= self.until_date
            and self.customer_id == row.customer_id
            and self.rule_id in ("*", row.rule_id)
        )


SnoozeSource = str | Path | pd.DataFrame | Iterable[Snooze] | None


def load_snoozes(source: SnoozeSource) -> list[Snooze]:
    """Read snoozes from a CSV file, a DataFrame or an iterable of :class:`Snooze`.

    The CSV (UTF-8, header row) has columns ``customer_id``, ``rule_id`` (or ``*``),
    ``until_date`` (``YYYY-MM-DD``) and optionally ``reason``; blank lines are skipped.

    Raises
    ------
    ValueError
        For a missing column, an empty key or a bad date, naming the file and line.
    FileNotFoundError
        When a path is given that does not exist.
    """
    if source is None:
        return []
    if isinstance(source, (str, Path)):
        path = Path(source)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            _check_snooze_columns(reader.fieldnames or [], str(path))
            return [
                _snooze(record, f"{path}:{reader.line_num}")
                for record in reader
                if any((value or "").strip() for value in record.values() if isinstance(value, str))
            ]
    if isinstance(source, pd.DataFrame):
        _check_snooze_columns(list(source.columns), "snooze frame")
        return [
            _snooze(dict(record), f"snooze frame row {i}")
            for i, record in enumerate(source.to_dict(orient="records"))
        ]
    snoozes = list(source)
    for item in snoozes:
        if not isinstance(item, Snooze):
            raise ValueError(f"not a Snooze: {item!r}")
    return snoozes


def _check_snooze_columns(columns: Sequence[Any], where: str) -> None:
    missing = [c for c in ("customer_id", "rule_id", "until_date") if c not in columns]
    if missing:
        raise ValueError(f"{where}: snooze table lacks column(s) {', '.join(missing)}")


def _snooze(record: dict[Any, Any], where: str) -> Snooze:
    def text(name: str) -> str:
        value = record.get(name)
        return "" if is_missing(value) else str(value).strip()

    customer_id, rule_id, until = text("customer_id"), text("rule_id"), text("until_date")
    if not customer_id or not rule_id:
        raise ValueError(f"{where}: customer_id and rule_id are required (rule_id may be '*')")
    raw_until = record.get("until_date")
    try:
        until_date = to_date(until if isinstance(raw_until, str) else raw_until)
    except ValueError as exc:
        raise ValueError(f"{where}: until_date {until!r} is not a YYYY-MM-DD date") from exc
    return Snooze(customer_id, rule_id, until_date, text("reason"))


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlannedAlert:
    """An alert to put in this run's digests and why (``new``, ``escalated``, ``reminder``)."""

    row: AlertRow
    notify_reason: str
    first_seen: dt.date
    last_notified: dt.date | None


@dataclass
class AlertPlan:
    """What one run decided: the alerts to notify and how the state changed."""

    as_of: dt.date
    to_notify: list[PlannedAlert] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    snoozed: list[str] = field(default_factory=list)
    alerts_in_frame: int = 0
    stale_after: dt.date | None = None

    @property
    def is_stale(self) -> bool:
        """True when the state already holds a newer run; nothing is planned then."""
        return self.stale_after is not None

    def counts(self) -> dict[str, int]:
        return {
            "alerts_in_frame": self.alerts_in_frame,
            "alerts_new": len(self.new),
            "alerts_reopened": len(self.reopened),
            "alerts_updated": len(self.updated),
            "alerts_unchanged": len(self.unchanged),
            "alerts_closed": len(self.closed),
            "alerts_snoozed": len(self.snoozed),
            "alerts_to_notify": len(self.to_notify),
        }


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class OutboxState:
    """The SQLite alert state.

    Parameters
    ----------
    path
        The database file; its directory is created. ``read_only=True`` opens an existing
        file read-only, or an empty in-memory state when the file does not exist, and
        never writes (used by previews).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        try:
            self._open()
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from exc

    def _open(self) -> None:
        if self.read_only:
            if self.path.exists():
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
                self._db.execute("select count(*) from sqlite_master").fetchone()  # readable?
            else:
                self._db = sqlite3.connect(":memory:", isolation_level=None)
                self._db.executescript(_SCHEMA)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)  # idempotent: CREATE ... IF NOT EXISTS
            self._db.execute(_EPISODES_FROM_ALERTS)
            self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        self._db.row_factory = sqlite3.Row

    # -- plumbing -------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> OutboxState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise RuntimeError("the alert state was opened read-only")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from exc

    # -- reading --------------------------------------------------------------------

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert row, ordered by dedup_key."""
        return [dict(r) for r in self._db.execute("SELECT * FROM alerts ORDER BY dedup_key")]

    def alert(self, dedup_key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM alerts WHERE dedup_key = ?", (dedup_key,)).fetchone()
        return dict(row) if row else None

    def deliveries(self, as_of: dt.date | None = None) -> list[dict[str, Any]]:
        """Delivery rows (without the message bytes), optionally of one as-of date."""
        sql = (
            "SELECT delivery_id, recipient, cc, as_of, status, attempts, last_error, "
            "created_at, sent_at "
            "FROM deliveries"
        )
        args: tuple[str, ...] = ()
        if as_of is not None:
            sql += " WHERE as_of = ?"
            args = (as_of.isoformat(),)
        return [dict(r) for r in self._db.execute(sql + " ORDER BY as_of, delivery_id", args)]

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT * FROM deliveries WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        return dict(row) if row else None

    def delivery_alert_keys(self, delivery_id: str) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                "SELECT dedup_key FROM delivery_alerts WHERE delivery_id = ? ORDER BY dedup_key",
                (delivery_id,),
            )
        ]

    def unsent_deliveries(self, up_to: dt.date) -> list[dict[str, Any]]:
        """Pending or failed deliveries with ``as_of <= up_to``, message bytes included."""
        return [
            dict(r)
            for r in self._db.execute(
                "SELECT * FROM deliveries WHERE status IN ('pending', 'failed') AND as_of <= ? "
                "ORDER BY as_of, delivery_id",
                (up_to.isoformat(),),
            )
        ]

    def episodes(self) -> list[dict[str, Any]]:
        """Every alert episode, ordered by dedup_key and raised_on."""
        return [
            dict(r)
            for r in self._db.execute(
                "SELECT * FROM alert_episodes ORDER BY dedup_key, raised_on"
            )
        ]

    def episode_batches(self, up_to: dt.date, size: int = 50_000) -> Iterator[list[tuple]]:
        """Episodes raised on or before ``up_to`` as tuples (dedup_key, customer_id, rule_id,
        severity, raised_on, closed_on), in batches of at most ``size`` rows."""
        cursor = self._db.execute(
            "SELECT dedup_key, customer_id, rule_id, severity, raised_on, closed_on "
            "FROM alert_episodes WHERE raised_on <= ? ORDER BY dedup_key, raised_on",
            (up_to.isoformat(),),
        )
        while rows := cursor.fetchmany(size):
            yield [tuple(r) for r in rows]

    def latest_as_of(self) -> dt.date | None:
        value = self._db.execute("SELECT max(as_of) FROM runs").fetchone()[0]
        return _date(value)

    # -- planning -------------------------------------------------------------------

    def plan(
        self,
        alerts_df: pd.DataFrame,
        as_of: dt.date | str,
        renotify_after_days: int | None = 7,
        snoozes: SnoozeSource = None,
        *,
        dry_run: bool = False,
    ) -> AlertPlan:
        """Upsert this run's alerts and decide which to notify.

        An alert is notified when it is new (or reappears after closing, or was never
        successfully notified), when its severity rose above the one last notified, or
        when ``renotify_after_days`` days have passed since it was last notified
        (``None``: never remind). A snoozed alert is upserted but not notified while
        ``as_of <= until_date``. Open alerts absent from ``alerts_df`` are closed.

        Parameters
        ----------
        alerts_df
            The ``key_account_alerts`` rows of this run (see :mod:`kam_transforms.alerts.model`).
        as_of
            The run date; every date written derives from it.
        renotify_after_days
            Reminder interval in days (>= 1) for open alerts, or ``None``.
        snoozes
            Snooze CSV path, frame or list (see :func:`load_snoozes`).
        dry_run
            Decide without writing (also implied by a read-only state).
        """
        as_of = to_date(as_of)
        if renotify_after_days is not None and renotify_after_days < 1:
            raise ValueError(f"renotify_after_days must be >= 1 or None, got {renotify_after_days}")
        rows = list(iter_alert_rows(alerts_df, as_of))
        active_snoozes = [s for s in load_snoozes(snoozes) if as_of <= s.until_date]
        plan = AlertPlan(as_of=as_of, alerts_in_frame=len(rows))

        latest = self.latest_as_of()
        if latest is not None and as_of < latest:
            log.warning(
                "alert state already holds the run of %s; the run of %s changes nothing",
                latest,
                as_of,
            )
            plan.stale_after = latest
            return plan

        existing = {r["dedup_key"]: r for r in self.alerts()}
        day = as_of.isoformat()
        writes: list[tuple[str, tuple[Any, ...]]] = []
        upsert = (
            "INSERT INTO alerts (dedup_key, customer_id, rule_id, severity, first_seen, last_seen, "
            "last_notified, notified_severity, status, closed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL) "
            "ON CONFLICT (dedup_key) DO UPDATE SET customer_id = excluded.customer_id, "
            "rule_id = excluded.rule_id, severity = excluded.severity, "
            "first_seen = excluded.first_seen, "
            "last_seen = excluded.last_seen, last_notified = excluded.last_notified, "
            "notified_severity = excluded.notified_severity, status = 'open', closed_at = NULL"
        )
        seen: set[str] = set()
        for row in sorted(rows, key=lambda r: r.dedup_key):
            seen.add(row.dedup_key)
            old = existing.get(row.dedup_key)
            raised = (row.dedup_key, day, row.customer_id, row.rule_id, row.severity)
            if old is None:
                plan.new.append(row.dedup_key)
                first_seen, last_notified, notified_severity = as_of, None, None
                writes.append((_EPISODE_RAISED, raised))
            elif old["status"] == "closed" and old["closed_at"] != day:
                plan.reopened.append(row.dedup_key)
                first_seen, last_notified, notified_severity = as_of, None, None
                writes.append((_EPISODE_RAISED, raised))
            else:
                # Open, or closed by an earlier attempt of this same date: keep its history.
                first_seen = _date(old["first_seen"]) or as_of
                last_notified = _date(old["last_notified"])
                notified_severity = old["notified_severity"]
                if old["status"] == "closed":
                    plan.reopened.append(row.dedup_key)
                    writes.append(
                        (
                            "UPDATE alert_episodes SET closed_on = NULL "
                            "WHERE dedup_key = ? AND closed_on = ?",
                            (row.dedup_key, day),
                        )
                    )
                elif old["severity"] != row.severity:
                    plan.updated.append(row.dedup_key)
                else:
                    plan.unchanged.append(row.dedup_key)
            writes.append(
                (
                    upsert,
                    (
                        row.dedup_key,
                        row.customer_id,
                        row.rule_id,
                        row.severity,
                        first_seen.isoformat(),
                        day,
                        last_notified.isoformat() if last_notified else None,
                        notified_severity,
                    ),
                )
            )
            reason = _notify_reason(
                row, last_notified, notified_severity, as_of, renotify_after_days
            )
            if reason is None:
                continue
            if any(s.silences(row, as_of) for s in active_snoozes):
                plan.snoozed.append(row.dedup_key)
                continue
            plan.to_notify.append(PlannedAlert(row, reason, first_seen, last_notified))

        for key, old in sorted(existing.items()):
            if old["status"] == "open" and key not in seen:
                plan.closed.append(key)
                writes.append(
                    (
                        "UPDATE alerts SET status = 'closed', closed_at = ? WHERE dedup_key = ?",
                        (day, key),
                    )
                )
                # raised by an earlier attempt of this same date: it never was, after all
                writes.append(
                    (
                        "DELETE FROM alert_episodes WHERE dedup_key = ? AND raised_on = ? "
                        "AND closed_on IS NULL",
                        (key, day),
                    )
                )
                writes.append(
                    (
                        "UPDATE alert_episodes SET closed_on = ? "
                        "WHERE dedup_key = ? AND closed_on IS NULL",
                        (day, key),
                    )
                )

        if dry_run or self.read_only:
            return plan
        with self._transaction() as db:
            for sql, args in writes:
                db.execute(sql, args)
            db.execute(
                "INSERT INTO runs (as_of, alerts_in_frame) VALUES (?, ?) "
                "ON CONFLICT (as_of) DO UPDATE SET alerts_in_frame = excluded.alerts_in_frame",
                (day, len(rows)),
            )
        return plan

    # -- deliveries -----------------------------------------------------------------

    def record_intent(
        self,
        *,
        delivery_id: str,
        recipient: str,
        cc: Sequence[str],
        as_of: dt.date,
        message: bytes,
        alert_severities: dict[str, str],
    ) -> dict[str, Any]:
        """Record a digest as ``pending`` before it is sent; return its (possibly older) row.

        An existing row with the same ``delivery_id`` is kept as it is, message included,
        so a retry sends the very bytes (and Message-ID) recorded first.
        """
        with self._transaction() as db:
            db.execute(
                "INSERT INTO deliveries (delivery_id, recipient, cc, as_of, status, attempts, "
                "created_at, message) "
                "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (delivery_id) DO UPDATE "
                "SET status = 'pending', last_error = NULL WHERE deliveries.status = 'superseded'",
                (
                    delivery_id,
                    recipient,
                    ",".join(cc),
                    as_of.isoformat(),
                    as_of_timestamp(as_of),
                    message,
                ),
            )
            db.executemany(
                "INSERT INTO delivery_alerts (delivery_id, dedup_key, severity) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [
                    (delivery_id, key, severity)
                    for key, severity in sorted(alert_severities.items())
                ],
            )
        row = self.delivery(delivery_id)
        assert row is not None  # noqa: S101 - just inserted
        return row

    def mark_attempt(self, delivery_id: str) -> None:
        """Count a send attempt (before the transport is called)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE delivery_id = ?",
                (delivery_id,),
            )

    def mark_sent(self, delivery_id: str, note: str | None = None) -> None:
        """Mark a digest sent and its alerts notified (at the severity the digest reported)."""
        row = self.delivery(delivery_id)
        if row is None:
            raise KeyError(delivery_id)
        as_of = row["as_of"]
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'sent', sent_at = ?, last_error = ? "
                "WHERE delivery_id = ?",
                (as_of_timestamp(dt.date.fromisoformat(as_of)), note, delivery_id),
            )
            db.execute(
                "UPDATE alerts SET last_notified = ?, notified_severity = ("
                "  SELECT da.severity FROM delivery_alerts AS da"
                "  WHERE da.delivery_id = ? AND da.dedup_key = alerts.dedup_key) "
                "WHERE dedup_key IN (SELECT dedup_key FROM delivery_alerts WHERE delivery_id = ?) "
                "AND (last_notified IS NULL OR last_notified <= ?)",
                (as_of, delivery_id, delivery_id, as_of),
            )

    def mark_error(self, delivery_id: str, error: str, *, permanent: bool) -> None:
        """Record a failed attempt: ``failed`` for a permanent rejection, else ``pending``.
        Both are retried by the next run."""
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = ?, last_error = ? "
                "WHERE delivery_id = ? AND status != 'sent'",
                ("failed" if permanent else "pending", error[:2000], delivery_id),
            )

    def mark_superseded(self, delivery_id: str, by_as_of: dt.date) -> None:
        """Retire an unsent digest whose alerts a newer plan covers (or no longer needs)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'superseded', last_error = ? "
                "WHERE delivery_id = ? AND status IN ('pending', 'failed')",
                (f"superseded by the plan of {by_as_of.isoformat()}", delivery_id),
            )


#: Rules whose open alerts are never repeated as reminders: their dedup key changes every
#: month (the subject is the run's month), so each account hears of them at most once a month.
NO_REMINDER_RULES: frozenset[str] = frozenset({"whitespace_opportunity"})


def _notify_reason(
    row: AlertRow,
    last_notified: dt.date | None,
    notified_severity: str | None,
    as_of: dt.date,
    renotify_after_days: int | None,
) -> str | None:
    if last_notified is None or notified_severity is None:
        return "new"
    if SEVERITY_RANK[row.severity] > SEVERITY_RANK[notified_severity]:
        return "escalated"
    if (
        renotify_after_days is not None
        and row.rule_id not in NO_REMINDER_RULES
        and last_notified < as_of
        and (as_of - last_notified).days >= renotify_after_days
    ):
        return "reminder"
    return None
