"""The alert rows the publisher reads, and the small value types shared by its modules.

The input is the ``key_account_alerts`` mart (docs/CONTRACTS.md), one row per detected
condition as of the run date. This module validates such a frame and turns each row into
an immutable :class:`AlertRow`, so the rest of the package never touches pandas.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kam_transforms.textsafe import strip_bidi_controls

__all__ = [
    "ALERT_COLUMNS",
    "SEVERITIES",
    "SEVERITY_RANK",
    "AlertRow",
    "clean_text",
    "is_missing",
    "iter_alert_rows",
    "to_date",
]

#: Columns of the ``key_account_alerts`` contract, in contract order.
ALERT_COLUMNS: tuple[str, ...] = (
    "as_of_date",
    "alert_id",
    "dedup_key",
    "customer_id",
    "account_id",
    "customer_name",
    "rule_id",
    "alert_type",
    "severity",
    "reason",
    "evidence",
    "owner_id",
    "owner_name",
    "owner_email",
    "owner_locale",
    "owner_is_active",
    "manager_email",
)

SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def clean_text(value: Any, max_length: int = 200) -> str:
    """Return ``value`` as one line of text: control characters (CR, LF, NUL, ...) become
    spaces, runs of whitespace collapse, and the result is cut to ``max_length`` characters.

    Used on every value that can reach a mail header or a one-line field, so no value from
    the warehouse can start a new header line.
    """
    if is_missing(value):
        return ""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", strip_bidi_controls(str(value)))).strip()
    if len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "\u2026"
    return text


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas.NA."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_date(value: Any) -> dt.date:
    """Normalise an as-of value (date, datetime, pandas Timestamp or ISO string) to a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError as exc:
            raise ValueError(f"not an ISO date: {value!r}") from exc
    raise ValueError(f"cannot use {value!r} ({type(value).__name__}) as a date")


def _text(value: Any) -> str | None:
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


def _bool(value: Any) -> bool:
    if is_missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes", "y"}
    return bool(value)


@dataclass(frozen=True)
class AlertRow:
    """One row of ``key_account_alerts`` with missing values as ``None``."""

    as_of_date: dt.date
    alert_id: str
    dedup_key: str
    customer_id: str
    account_id: str | None
    customer_name: str
    rule_id: str
    alert_type: str
    severity: str
    reason: str
    evidence: str | None
    owner_id: str | None
    owner_name: str | None
    owner_email: str | None
    owner_locale: str | None
    owner_is_active: bool
    manager_email: str | None

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK[self.severity]


def iter_alert_rows(alerts_df: pd.DataFrame, as_of: dt.date) -> Iterator[AlertRow]:
    """Validate a ``key_account_alerts`` frame and yield its rows.

    Parameters
    ----------
    alerts_df
        Must have every column of :data:`ALERT_COLUMNS` (extra columns are ignored).
        ``dedup_key``, ``customer_id``, ``rule_id`` and ``severity`` must be filled,
        ``severity`` one of low/medium/high, ``dedup_key`` unique, and every
        ``as_of_date`` equal to ``as_of``.
    as_of
        The run date.

    Raises
    ------
    ValueError
        Naming the missing columns or the first offending rows.
    """
    missing = [c for c in ALERT_COLUMNS if c not in alerts_df.columns]
    if missing:
        raise ValueError(f"alerts frame lacks the key_account_alerts columns: {', '.join(missing)}")
    seen: set[str] = set()
    for position, record in enumerate(
        alerts_df[list(ALERT_COLUMNS)].itertuples(index=False, name=None)
    ):
        values = dict(zip(ALERT_COLUMNS, record, strict=True))
        where = f"alerts row {position}"
        for required in ("dedup_key", "customer_id", "rule_id", "severity"):
            if _text(values[required]) is None:
                raise ValueError(f"{where}: {required} is empty")
        dedup_key = str(values["dedup_key"]).strip()
        if dedup_key in seen:
            raise ValueError(f"{where}: duplicate dedup_key {dedup_key!r}")
        seen.add(dedup_key)
        severity = str(values["severity"]).strip().lower()
        if severity not in SEVERITY_RANK:
            raise ValueError(
                f"{where} ({dedup_key}): severity {values['severity']!r} not in {SEVERITIES}"
            )
        if not is_missing(values["as_of_date"]):
            row_date = to_date(values["as_of_date"])
            if row_date != as_of:
                raise ValueError(
                    f"{where} ({dedup_key}): as_of_date {row_date} differs from "
                    f"the run date {as_of}; "
                    "pass only the rows of this run"
                )
        customer_id = str(values["customer_id"]).strip()
        yield AlertRow(
            as_of_date=as_of,
            alert_id=_text(values["alert_id"]) or "",
            dedup_key=dedup_key,
            customer_id=customer_id,
            account_id=_text(values["account_id"]),
            customer_name=_text(values["customer_name"]) or customer_id,
            rule_id=str(values["rule_id"]).strip(),
            alert_type=(_text(values["alert_type"]) or "risk").lower(),
            severity=severity,
            reason=_text(values["reason"]) or "",
            evidence=_text(values["evidence"]),
            owner_id=_text(values["owner_id"]),
            owner_name=_text(values["owner_name"]),
            owner_email=_text(values["owner_email"]),
            owner_locale=_text(values["owner_locale"]),
            owner_is_active=_bool(values["owner_is_active"]),
            manager_email=_text(values["manager_email"]),
        )
