"""Alert rows and settings shared by the alert tests (rows follow docs/CONTRACTS.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from kam_transforms.alerts import ALERT_COLUMNS
from kam_transforms.config import Settings

AS_OF = dt.date(2026, 10, 31)


def typed(**values: Any) -> str:
    """Evidence JSON text as the rules write it: ``key=(value, unit[, currency or domain])``."""
    items = {}
    for key, (value, unit, *extra) in values.items():
        item = {"value": value, "unit": unit}
        if extra:
            item["currency" if unit == "money" else "domain"] = extra[0]
        items[key] = item
    return json.dumps(items, ensure_ascii=False)


#: Typed evidence of some rules, as key_account_alerts carries it.
SAMPLE_EVIDENCE = {
    "no_touchpoint": typed(
        days_since_last_touchpoint=(95, "days"), last_touchpoint_date=("2026-07-28", "date"),
        abc_class=("A", "id"), max_days=(60, "days"),
    ),
    "overdue_invoices": typed(
        overdue_amount_base=(12400.0, "money", "USD"), overdue_invoice_count=(2, "count"),
        max_days_overdue=(45, "days"), threshold_amount=(50000, "money", "USD"),
        threshold_days=(90, "days"),
    ),
    "competitor_loss": typed(
        opportunity_id=("OPP-1", "id"), competitor=("Globex", "text"),
        closed_date=("2026-09-30", "date"), days_since_lost=(31, "days"),
        amount=(50000.0, "money", "EUR"), amount_base=(54000.0, "money", "USD"),
        revenue_t12m=(400000.0, "money", "USD"),
    ),
    "revenue_decline": typed(
        revenue_t12m=(469135.0, "money", "USD"), revenue_prior_12m=(1234567.0, "money", "USD"),
        revenue_change_share=(-0.62, "share"), abc_class=("A", "id"),
        previous_abc_class=("A", "id"), threshold_share=(0.3, "share"),
    ),
    "whitespace_opportunity": typed(
        product_category=("Software", "text"), similar_account_count=(14, "count"),
        buying_account_count=(13, "count"), buying_share=(0.9286, "share"),
        peer_median_category_margin=(21224.1, "money", "USD"),
        opportunity_value=(19708.6, "money", "USD"), threshold_value=(15000, "money", "USD"),
        abc_class=("A", "id"), industry=(None, "text"),
    ),
}  # fmt: skip


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
        "owner_id": "O1",
        "owner_name": "Ann Lee",
        "owner_email": "ann@example.com",
        "owner_locale": "en",
        "owner_is_active": True,
        "manager_email": "boss@example.com",
    } | overrides
    row.setdefault("evidence", SAMPLE_EVIDENCE[row["rule_id"]])
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
