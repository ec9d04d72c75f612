"""The link from an alert digest to the recipient's own page of the KAM cockpit.

With ``KAM_REPORTS_BASE_URL`` set (where ``$KAM_HOME/reports`` is served, e.g. an intranet
static site), each digest names ``<base>/cockpit/<date>/managers/<owner>.html``: the
owner's page for an owner's digest, the managers' index for sales ops. Unset, no link.
"""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import quote, urlsplit

from kam_transforms.alerts.routing import Digest

__all__ = ["REPORTS_BASE_URL_ENV", "COCKPIT_LINE", "cockpit_url"]

REPORTS_BASE_URL_ENV = "KAM_REPORTS_BASE_URL"
COCKPIT_LINE = {
    "en": "Your page in the KAM cockpit: {url}",
    "zh-CN": "您在关键客户管理驾驶舱中的页面：{url}",
}


def cockpit_url(digest: Digest, as_of: dt.date, base_url: str | None = None) -> str | None:
    """The cockpit page of ``digest``'s recipient under ``base_url`` (default
    ``KAM_REPORTS_BASE_URL``), or None when no base URL is configured.

    Raises
    ------
    ValueError
        When the base URL is not an absolute http(s) URL.
    """
    from kam_transforms.cockpit.portfolio import page_name

    value = (base_url if base_url is not None else os.environ.get(REPORTS_BASE_URL_ENV)) or ""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or any(ord(c) < 33 for c in value):
        raise ValueError(f"{REPORTS_BASE_URL_ENV} must be an absolute http(s) URL, got {value!r}")
    owners = {a.row.owner_id for a in digest.alerts if a.row.owner_id}
    page = (
        page_name(owners.pop())
        if not digest.to_sales_ops and len(owners) == 1
        else "index.html"
    )
    return f"{value.rstrip('/')}/cockpit/{as_of.isoformat()}/managers/{quote(page)}"
