"""Read one run's rows of the ``key_account_alerts`` mart from the serving warehouse."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from kam_transforms import duck
from kam_transforms.alerts.model import ALERT_COLUMNS, to_date

__all__ = ["read_alerts"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def read_alerts(
    serving_db: str | Path, as_of: dt.date | str, table: str = "key_account_alerts"
) -> pd.DataFrame:
    """The contract columns of ``table`` for ``as_of_date = as_of``, opened read-only.

    Parameters
    ----------
    serving_db
        The DuckDB serving warehouse (``Settings.serving_db``); opened read-only, so BI
        readers are never blocked.
    as_of
        The run date.
    table
        ``name`` or ``schema.name`` of the mart.
    """

    if not _IDENTIFIER.match(table):
        raise ValueError(f"not a table name: {table!r}")
    path = Path(serving_db)
    if not path.exists():
        raise FileNotFoundError(f"serving warehouse {path} does not exist")
    columns = ", ".join(ALERT_COLUMNS)
    with duck.connect(path, read_only=True) as con:
        return con.execute(
            f"select {columns} from {table} where as_of_date = ? order by dedup_key",  # noqa: S608 - validated identifier
            [to_date(as_of)],
        ).df()
