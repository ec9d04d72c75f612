"""Order history to the per-customer RFM summary the BG/NBD and Gamma-Gamma models need.

A *purchase period* is one calendar day (UTC) on which a customer ordered: several orders
(or order lines) on the same day count as one purchase, and their margins are added up.
Following Fader, Hardie & Lee (2005):

- ``frequency`` (x) is the number of *repeat* purchase periods: purchase days after the first;
- ``recency`` (t_x) is the time from the first to the last purchase day;
- ``T`` is the time from the first purchase day to the observation end (``as_of``);

all in a configurable time unit (``"days"`` or ``"weeks"``). The observation end is always a
parameter; nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "TIME_UNITS",
    "PurchasePeriods",
    "collapse_to_purchase_periods",
    "summarise_orders",
    "summarise_purchase_periods",
    "to_day_number",
    "unit_length_days",
]

#: Length of each supported time unit in days.
TIME_UNITS: dict[str, float] = {"days": 1.0, "weeks": 7.0}

_EPOCH = np.datetime64("1970-01-01", "D")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def unit_length_days(time_unit: str) -> float:
    """Return the length of ``time_unit`` in days; raise ``ValueError`` for an unknown unit."""
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise ValueError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}"
        ) from None


def to_day_number(value: Any) -> int:
    """Return a date-like value (date, datetime, ISO string, Timestamp) as days since 1970-01-01.

    Timezone-aware values are converted to UTC first; the time of day is dropped.
    """
    if value is None:
        raise ValueError("a date is required, got None")
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        raise ValueError(f"not a date: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int((np.datetime64(ts.date(), "D") - _EPOCH).astype(np.int64))


def _day_numbers(dates: pd.Series) -> IntArray:
    """Vectorised :func:`to_day_number` for a Series of dates, datetimes or ISO strings."""
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(dates.dtype):
        dates = pd.to_datetime(dates, utc=True).dt.tz_localize(None)
    values = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return (values - _EPOCH).astype(np.int64)


@dataclass(frozen=True)
class PurchasePeriods:
    """Order history collapsed to one row per customer and purchase day, sorted.

    Attributes
    ----------
    customer_ids : numpy.ndarray
        The distinct customer ids, sorted; ``customer_code`` indexes into it.
    customer_code : numpy.ndarray of int64
        Customer of each purchase period.
    day : numpy.ndarray of int64
        Purchase day, as days since 1970-01-01 (UTC).
    margin : numpy.ndarray of float64
        Summed margin of the customer's orders on that day.
    """

    customer_ids: npt.NDArray[Any]
    customer_code: IntArray
    day: IntArray
    margin: FloatArray

    def fingerprint(self) -> str:
        """Return a SHA-256 of the collapsed history: equal data gives an equal digest."""
        digest = hashlib.sha256()
        ids = pd.util.hash_array(np.asarray(self.customer_ids))
        digest.update(np.ascontiguousarray(ids).tobytes())
        digest.update(np.ascontiguousarray(self.customer_code).tobytes())
        digest.update(np.ascontiguousarray(self.day).tobytes())
        digest.update(np.ascontiguousarray(np.round(self.margin, 6)).tobytes())
        return digest.hexdigest()

    def between(self, after_day: int | None, until_day: int) -> PurchasePeriods:
        """Return the periods with ``after_day < day <= until_day`` (same customer coding)."""
        keep = self.day <= until_day
        if after_day is not None:
            keep &= self.day > after_day
        return PurchasePeriods(
            self.customer_ids, self.customer_code[keep], self.day[keep], self.margin[keep]
        )


def collapse_to_purchase_periods(
    orders: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    margin_col: str = "margin",
) -> PurchasePeriods:
    """Collapse orders (or order lines) to one purchase period per customer and UTC day.

    Parameters
    ----------
    orders : pandas.DataFrame
        One row per order or order line, with columns ``customer_col`` (any hashable id),
        ``date_col`` (date, datetime or ISO string; aware values are taken in UTC) and
        ``margin_col`` (margin in the base currency; may be zero or negative).
    customer_col, date_col, margin_col : str
        Column names.

    Returns
    -------
    PurchasePeriods
        Sorted by customer id, then day.

    Raises
    ------
    ValueError
        If a column is missing or holds nulls.
    """
    missing = [c for c in (customer_col, date_col, margin_col) if c not in orders.columns]
    if missing:
        raise ValueError(f"orders is missing column(s) {missing}; it has {list(orders.columns)}")
    for col in (customer_col, date_col, margin_col):
        n_null = int(orders[col].isna().sum())
        if n_null:
            raise ValueError(f"orders.{col} has {n_null} null value(s)")
    margin = pd.to_numeric(orders[margin_col]).to_numpy(dtype=np.float64)
    if not np.isfinite(margin).all():
        raise ValueError(f"orders.{margin_col} has non-finite values")
    if len(orders) == 0:
        return PurchasePeriods(
            np.array([], dtype=object),
            np.array([], dtype=np.int64),
            np.array([], dtype=np.int64),
            margin,
        )
    day = _day_numbers(orders[date_col])
    codes, ids = pd.factorize(orders[customer_col], sort=True)
    code = codes.astype(np.int64)
    order = np.lexsort((day, code))
    code, day, margin = code[order], day[order], margin[order]
    starts = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])])
    return PurchasePeriods(
        customer_ids=np.asarray(ids),
        customer_code=code[starts],
        day=day[starts],
        margin=np.add.reduceat(margin, starts),
    )


def summarise_purchase_periods(
    periods: PurchasePeriods,
    as_of_day: int,
    *,
    time_unit: str = "weeks",
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Summarise purchase periods up to and including ``as_of_day`` per customer.

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase on or before ``as_of_day``, sorted by id:
        ``customer_col``, ``frequency`` (repeat purchase periods), ``recency`` and ``T``
        (in ``time_unit``), ``n_purchase_periods``, ``historical_margin`` (all purchases),
        ``first_purchase_margin``, ``avg_margin_per_purchase`` (mean margin per *repeat*
        purchase period, the Gamma-Gamma input; 0.0 for customers without a repeat
        purchase), ``first_purchase_date`` and ``last_purchase_date``.
    """
    unit = unit_length_days(time_unit)
    p = periods.between(None, as_of_day)
    if len(p.day) == 0:
        return pd.DataFrame(
            {
                customer_col: pd.Series([], dtype=object),
                "frequency": pd.Series([], dtype=np.int64),
                "recency": pd.Series([], dtype=np.float64),
                "T": pd.Series([], dtype=np.float64),
                "n_purchase_periods": pd.Series([], dtype=np.int64),
                "historical_margin": pd.Series([], dtype=np.float64),
                "first_purchase_margin": pd.Series([], dtype=np.float64),
                "avg_margin_per_purchase": pd.Series([], dtype=np.float64),
                "first_purchase_date": pd.Series([], dtype="datetime64[s]"),
                "last_purchase_date": pd.Series([], dtype="datetime64[s]"),
            }
        )
    starts = np.flatnonzero(np.r_[True, p.customer_code[1:] != p.customer_code[:-1]])
    ends = np.r_[starts[1:], len(p.day)] - 1
    n_periods = (ends - starts + 1).astype(np.int64)
    first_day = p.day[starts]
    last_day = p.day[ends]
    total = np.add.reduceat(p.margin, starts)
    first_margin = p.margin[starts]
    frequency = n_periods - 1
    repeat_margin = total - first_margin
    avg = np.divide(repeat_margin, frequency, out=np.zeros_like(repeat_margin), where=frequency > 0)
    return pd.DataFrame(
        {
            customer_col: p.customer_ids[p.customer_code[starts]],
            "frequency": frequency,
            "recency": (last_day - first_day) / unit,
            "T": (as_of_day - first_day) / unit,
            "n_purchase_periods": n_periods,
            "historical_margin": total,
            "first_purchase_margin": first_margin,
            "avg_margin_per_purchase": avg,
            "first_purchase_date": (first_day + _EPOCH).astype("datetime64[s]"),
            "last_purchase_date": (last_day + _EPOCH).astype("datetime64[s]"),
        }
    )


def summarise_orders(
    orders: pd.DataFrame,
    as_of: dt.date | dt.datetime | str | pd.Timestamp,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    margin_col: str = "margin",
    time_unit: str = "weeks",
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and margins as of ``as_of``.

    Parameters
    ----------
    orders : pandas.DataFrame
        One row per order or order line with ``customer_col``, ``date_col`` and
        ``margin_col`` (see :func:`collapse_to_purchase_periods`). Orders after ``as_of``
        are ignored; orders on ``as_of`` count.
    as_of : date-like
        Observation end (inclusive), e.g. the DAG run's data interval end.
    customer_col, date_col, margin_col : str
        Column names.
    time_unit : {"weeks", "days"}
        Unit of ``recency`` and ``T``.

    Returns
    -------
    pandas.DataFrame
        See :func:`summarise_purchase_periods`.
    """
    periods = collapse_to_purchase_periods(
        orders, customer_col=customer_col, date_col=date_col, margin_col=margin_col
    )
    return summarise_purchase_periods(
        periods, to_day_number(as_of), time_unit=time_unit, customer_col=customer_col
    )
