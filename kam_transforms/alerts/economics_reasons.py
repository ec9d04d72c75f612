"""Localised reasons of the customer-economics alert rules, from their evidence.

``key_account_alerts.reason`` is English; for ``squeeze_score_high`` and
``whitespace_opportunity`` (``int_economics_alerts_detected``) the digest renders the reason
in the recipient's locale from the row's evidence JSON with these templates (en and zh-CN).
Other rules, and rows whose evidence lacks a field, keep the warehouse's reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["TEMPLATES", "localised_reason"]

#: rule_id -> locale -> template over the evidence fields (plus the derived ``*_pct``).
TEMPLATES: dict[str, dict[str, str]] = {
    "squeeze_score_high": {
        "en": (
            "Squeeze score {squeeze_score:.0f} (threshold {threshold_score:g}): discounts "
            "{discount_pct:.1f}% of list value, {late_pct:.0f}% of invoices paid late, cost to "
            "serve {base_currency} {cost_to_serve_t12m:,.0f} against a margin of "
            "{base_currency} {gross_margin_t12m:,.0f}."
        ),
        "zh-CN": (
            "压价指数 {squeeze_score:.0f}（阈值 {threshold_score:g}）："
            "折扣占标价的 {discount_pct:.1f}%，"
            "{late_pct:.0f}% 的发票逾期付款，服务成本 {base_currency} {cost_to_serve_t12m:,.0f}，"
            "毛利仅 {base_currency} {gross_margin_t12m:,.0f}（客大欺店）。"
        ),
    },
    "whitespace_opportunity": {
        "en": (
            "Does not buy {product_category}: {buying_account_count} of "
            "{similar_account_count} similar accounts (class {abc_class}, {industry}) do, with a "
            "median margin of {base_currency} {peer_median_category_margin:,.0f} in it; "
            "opportunity {base_currency} {opportunity_value:,.0f}."
        ),
        "zh-CN": (
            "尚未采购{product_category}：{similar_account_count} 家同类客户（{abc_class} 类，"
            "{industry}）中有 {buying_account_count} 家在采购，其该品类毛利中位数为 "
            "{base_currency} {peer_median_category_margin:,.0f}；潜在机会 "
            "{base_currency} {opportunity_value:,.0f}。"
        ),
    },
}


def _fields(rule_id: str, evidence: Mapping[str, Any]) -> dict[str, Any]:
    fields = dict(evidence)
    if rule_id == "squeeze_score_high":
        fields["discount_pct"] = 100.0 * float(fields.get("discount_depth_t12m") or 0.0)
        fields["late_pct"] = 100.0 * float(fields.get("invoices_late_share_t12m") or 0.0)
    if rule_id == "whitespace_opportunity" and not fields.get("industry"):
        fields["industry"] = "-"
    return fields


def localised_reason(rule_id: str, evidence: str | None, locale: str) -> str | None:
    """The reason of ``rule_id`` in ``locale`` from its evidence, or None to keep the row's."""
    templates = TEMPLATES.get(rule_id)
    if not templates or not evidence:
        return None
    template = templates.get(locale) or templates["en"]
    try:
        parsed = json.loads(evidence)
        return template.format(**_fields(rule_id, parsed))
    except (ValueError, KeyError, TypeError):
        return None
