"""Raw suite for crm/account_plans batches (built by :mod:`expectations.raw_suites`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from expectations import raw_suites
from kam_transforms.entities import entity

SOURCE = "crm"
ENTITY = "account_plans"
KEY = ("plan_id",)


def build(gx: Any, as_of: date, known_currencies: set[str] | None = None) -> Any:
    """Return the raw expectation suite for a crm/account_plans batch as of ``as_of``."""
    return raw_suites.build(gx, entity(SOURCE, ENTITY), as_of, known_currencies)
