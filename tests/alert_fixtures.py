"""Alert rows and settings shared by the alert tests (rows follow docs/CONTRACTS.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from kam_transforms.alerts import ALERT_COLUMNS
from kam_transforms.config import Settings

AS_OF = dt.date(2026, 10, 31)


def alert_row(**overrides: Any) -> dict[str, Any]:
    """One ``key_account_alerts`` row: a high no-touchpoint alert for Acme, owned by Ann."""
    row: dict[str, Any] = {
        "as_of_date": AS_OF,
        "alert_id": "",
        "customer_id": "C001",
        "account_id": "A001",
        "customer_name": "Acme Corp",
        "rule_id": "no_touchpoint",
        "alert_type": "risk",
        "severity": "high",
        "reason": "No touchpoint for 95 days (threshold 60).",
        "evidence": '{"days_since_last_touchpoint": 95}',
        "owner_id": "O1",
        "owner_name": "Ann Lee",
        "owner_email": "ann@example.com",
        "owner_locale": "en",
        "owner_is_active": True,
        "manager_email": "boss@example.com",
    } | overrides
    row.setdefault("dedup_key", f"{row['customer_id']}|{row['rule_id']}")
    return row


def alert_frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(ALERT_COLUMNS))


def alert_settings(
    tmp_path: Path, mail_from: str = "KAM Alerts <kam-alerts@example.com>"
) -> Settings:
    """Settings whose every path is under ``tmp_path``."""
    return dataclasses.replace(
        Settings.from_env(),
        home=tmp_path,
        outbox_dir=tmp_path / "outbox",
        sales_ops_email="sales-ops@example.com",
        mail_from=mail_from,
    )
