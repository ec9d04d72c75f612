"""Fuzzed chunks for the row rules' differential test (tests/test_rowrules_arrow.py).

Seeded, so the same chunks come out on every run: messy texts of every kind (padded keys,
empty strings, ``'NaN'``, ``'inf'``, ``'1e400'``, ``'0x10'``, ``'1,000'``, odd booleans,
bad and reversed dates, bad currencies and e-mails, tombstones), as Arrow string tables
(CSV drops), typed Arrow tables (Parquet drops) and pandas frames (connectors).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

from kam_transforms.entities import entity
from kam_transforms.extract.canonical import kind_of
from kam_transforms.extract.rowrules import OwnerIndex
from kam_transforms.extract.rules import rules_for

ENTITIES = [
    "erp/order_lines",
    "erp/orders",
    "crm/accounts",
    "crm/contacts",
    "erp/fx_rates",
    "erp/invoices",
    "crm/owner_directory",
    "crm/account_plans",
    "crm/opportunities",
    "crm/owners",
]
OWNERS = OwnerIndex(
    ids=frozenset({"O-1", "O-2", "O-3"}),
    by_email={"o1@x.com": "O-1", "o2@x.com": "O-2", "o3@x.com": "O-3"},
)
CURRENCIES = {"EUR", "USD", "GBP", "CHF"}

_MESSY = [None, "", " ", "  ", "\t", "NaN", "nan", "None", "null", "N/A", "\x1c", "\xa0", "\u2003x"]
_NUMBERS = [
    "1", "2.5", " 2.5 ", "-3", "0", "-0", "0.0", "1e400", "-1e400", "inf", "-inf", "Infinity",
    "0x10", "1,000", "1e15", "1e16", "-1e16", "1000000000000001", "12345678901234567890",
    "abc", "1_000", "+5", ".5", "5.", "0.5", "1.5", "0.25", "10", "11", "1e-5", " 7\n",
    "\xa012\xa0", "3.14159", "99.99", "1E3", "٣", "1.0.0", "--1", "1e", "e1",
]  # fmt: skip
_GOOD_NUMBERS = ["1", "2.5", "10", "0.5", "3", "19.99", "0.1", "100", "7", "0.25"]
_TIMES = [
    "2026-01-31", "2026-01-31T09:15:00Z", "2026-01-31 09:15:00", "2026-13-01", "31/01/2026",
    "2026-02-30", "20260131", "2026-01-31T09:15:00+02:00", "2026-01-31T09:15:00.123456Z",
    "1600-01-01", "not a date", " 2026-03-01 ", "2025-12-31T23:59:59Z", "2026-06-15",
    "2027-01-01", "2020-02-29", "2026-1-5", "01/02/2026", "2026-01-31T25:00:00Z",
    "0999-01-01", "9999-12-31T23:59:59Z", "1900-01-01T00:00:00.5Z", "1969-12-31T23:59:59.999Z",
    "2026-01-31T09:15:00.999999999Z", "1677-09-21", "2262-04-12", "0001-01-01",
    "2026-01-31T09:15:00-05:00", "2026-03-29T02:30:00+01:00", "10000-01-01",
]  # fmt: skip
_GOOD_TIMES = ["2026-01-31", "2025-12-31T23:59:59Z", "2026-06-15", "2024-02-29T10:00:00Z"]
_BOOLEANS = [
    "true", " TRUE ", "True", "Yes", "y", "Y", "T", "t", "1", "0", "false", "False", "No", "N",
    "n", "f", "F", "maybe", "2", "yes ", "\xa0no", "ÿes", "tRuE", "off", "on",
]  # fmt: skip
_CURRENCY = [
    "EUR", "USD", " usd ", "Usd", "gbp", "XXX", "EU", "EURO", "E1R", "€", "ß", "chf\n", "JPY",
    "eur\t", "ı", "İSD",
]  # fmt: skip
_KEYS = ["K-1", " K-1 ", "K-2\t", "K-3", "\xa0K-4", "K-5\u2003", "k-6", "K-7", "ORD-5 ", "ORD-5"]
_EMAILS = [
    "a@b.com", " A@B.COM ", "bad", "a@@b.com", "x y@z.com", "o1@x.com", "O2@X.COM", " o3@x.com",
    "Name <n@x.com>", "n@x.com, m@x.com", "ü@x.com", "o9@x.com",
]  # fmt: skip
_LOCALES = ["en", "zh_cn", "EN-us", "xx-", "123", "de-DE", "fr", " pt_br ", "en-"]
_DELETED = ["true", " TRUE", "1", "yes", "\xa0true", "no", "false", "0", "", None, "Y", "ß"]
_STATUS = ["draft", " Active ", "CLOSED", "open", "Draft\t", "İ"]
_OWNER_IDS = ["O-1", "O-2", "O-3", "O-9", " O-1", "O-2 "]
_TEXT = ["hello", " padded ", "Ünïcødé", "a;b", "'quoted'", '"dq"', "multi\nline", "x" * 30]


def _pick(rng: random.Random, pool: list[Any], messy: float = 0.25) -> Any:
    return rng.choice(_MESSY) if rng.random() < messy else rng.choice(pool)


def _value(rng: random.Random, col: str, kind: str, ent_name: str, clean: bool) -> Any:
    rules = rules_for(entity(*ent_name.split("/")))
    if clean:
        if kind == "number":
            return rng.choice(_GOOD_NUMBERS)
        if kind in ("date", "timestamp"):
            return rng.choice(_GOOD_TIMES)
    if col == "is_deleted":
        return rng.choice(_DELETED)
    if kind == "number":
        return _pick(rng, _NUMBERS)
    if kind in ("date", "timestamp"):
        return _pick(rng, _TIMES)
    if kind == "boolean":
        return _pick(rng, _BOOLEANS)
    if col in rules.currencies:
        return _pick(rng, _CURRENCY)
    if col in rules.addresses:
        return _pick(rng, _EMAILS)
    if col in rules.locales:
        return _pick(rng, _LOCALES)
    if col in rules.value_sets:
        return _pick(rng, _STATUS)
    if col == "owner_id":
        return _pick(rng, _OWNER_IDS)
    if col.endswith("_id"):
        return _pick(rng, _KEYS, 0.15)
    return _pick(rng, _TEXT)


def text_columns(ent_name: str, rows: int, seed: int, clean: bool = False) -> dict[str, list]:
    """Text values per column (entity columns plus ``is_deleted`` and an extra)."""
    rng = random.Random(seed)  # noqa: S311 (fixed fuzz)
    ent = entity(*ent_name.split("/"))
    rules = rules_for(ent)
    cols = list(dict.fromkeys([*ent.columns, "is_deleted", "note"]))
    return {
        c: [_value(rng, c, kind_of(c, rules), ent_name, clean) for _ in range(rows)] for c in cols
    }


def typed_values(kind: str, rows: int, seed: int, style: str) -> list[Any]:
    """Typed values for Parquet-like and connector chunks (``style``: arrow or pandas)."""
    rng = random.Random(seed)  # noqa: S311 (fixed fuzz)
    out: list[Any] = []
    for _ in range(rows):
        r = rng.random()
        if r < 0.15:
            out.append(None)
        elif kind == "number":
            out.append(rng.choice([1.5, 2.0, -3.0, 1e16, 0.1, 1e15, 12.0, 0.0, 7.25, 1e300]))
        elif kind == "int":
            out.append(rng.choice([1, 0, -5, 10**15, 42, 3]))
        elif kind == "boolean":
            out.append(rng.random() < 0.5)
        elif kind == "timestamp":
            out.append(datetime(2026, rng.randint(1, 12), rng.randint(1, 28), 9, 15, 7, tzinfo=UTC))
        elif kind == "date":
            out.append(date(2025, rng.randint(1, 12), rng.randint(1, 28)))
        else:
            out.append(rng.choice(_TEXT))
    if style == "pandas" and kind == "number":
        out = [float("nan") if v is None else v for v in out]
    return out


def cases() -> list[tuple[str, str, list[Any], set[str] | None, dict[str, str]]]:
    """(case name, entity, chunks, known currencies, formats) for the differential test."""
    import pandas as pd
    import pyarrow as pa

    out = []
    for i, name in enumerate(ENTITIES):
        ent = entity(*name.split("/"))
        rules = rules_for(ent)
        messy = text_columns(name, 300, seed=100 + i)
        clean = text_columns(name, 200, seed=200 + i, clean=True)
        frame = pd.DataFrame(text_columns(name, 120, seed=300 + i), dtype=object)
        typed_arrow: dict[str, Any] = {}
        typed_pandas: dict[str, Any] = {}
        for j, c in enumerate(dict.fromkeys([*ent.columns, "is_deleted", "note"])):
            kind = kind_of(c, rules)
            seed = 400 + 10 * i + j
            if kind == "number":
                kinds = "int" if j % 2 else "number"
                typed_arrow[c] = pa.array(typed_values(kinds, 80, seed, "arrow"))
                typed_pandas[c] = pd.Series(typed_values(kinds, 80, seed, "pandas"))
            elif kind == "boolean":
                typed_arrow[c] = pa.array(typed_values("boolean", 80, seed, "arrow"))
                vals = typed_values("boolean", 80, seed, "pandas")
                typed_pandas[c] = pd.Series(vals, dtype=object)
            elif kind == "timestamp":
                vals = typed_values("timestamp", 80, seed, "arrow")
                typed_arrow[c] = pa.array(vals, pa.timestamp("us", tz="UTC"))
                typed_pandas[c] = pd.to_datetime(pd.Series(vals, dtype=object), utc=True)
            elif kind == "date":
                vals = typed_values("date", 80, seed, "arrow")
                typed_arrow[c] = pa.array(vals, pa.date32())
                typed_pandas[c] = pd.Series(vals, dtype=object)
            else:
                vals = text_columns(name, 80, seed=seed)[c]
                typed_arrow[c] = pa.array(vals, pa.large_string() if j % 3 == 0 else pa.string())
                typed_pandas[c] = pd.Series(vals, dtype="str" if j % 2 else object)
        chunks = [
            pa.table({c: pa.array(v, pa.string()) for c, v in messy.items()}),
            pa.table({c: pa.array(v, pa.string()) for c, v in clean.items()}),
            frame,
            pa.table(typed_arrow),
            pd.DataFrame(typed_pandas),
        ]
        known = None if i % 3 == 0 else CURRENCIES
        formats = {"date_format": "%d/%m/%Y"} if name == "erp/invoices" else {}
        out.append((name, name, chunks, known, formats))
        # No value of a typed column parses: schema drift.
        bad = text_columns(name, 50, seed=500 + i)
        for c in rules.typed_columns:
            if c in bad and c != "is_deleted":
                bad[c] = ["abc", "zzz"] * 25
        out.append((f"{name}/drift", name, [pa.table(bad)], known, {}))
        # Empty strings and nulls only.
        empty = {c: [None, "", " "] * 10 for c in bad}
        out.append((f"{name}/empty", name, [pa.table(empty)], known, {}))
    return out
