"""Row rules of the raw landing: one declarative table per canonical entity.

Every connector (file drop, HubSpot, Odoo) hands :func:`kam_transforms.extract.landing.land_batch`
a frame in canonical column names; these rules decide, row by row, whether it can land or goes
to quarantine with a reason:

- ``required``: the value must be present (keys always are);
- ``timestamps`` / ``dates``: the value must parse (ISO-8601, or the format the source
  declares); it is rendered canonically (``2026-01-31T09:15:00Z`` / ``2026-01-31``);
- ``numbers``: the value must parse as a finite number (``inf``, ``Infinity`` and ``nan``
  do not) no larger in magnitude than :data:`MAX_MAGNITUDE` (``1e308`` is not a plausible
  amount, and staging's exact sums need decimal(38, 6)); ``non_negative`` ones must be
  >= 0, ``positive`` ones > 0 (an fx rate of 0 cannot convert), and ``ranges`` bound some
  (probabilities, discounts, scores);
- ``booleans``: ``true``/``false`` (``1``/``0``, ``yes``/``no`` are normalised);
- ``currencies``: three letters (upper-cased), known from the fx rates that were landed
  (not quarantined) or the base currency;
- ``addresses``: a plain e-mail address (lower-cased); ``locales``: a well-formed language
  tag (rendered canonically, ``zh_cn`` -> ``zh-CN``);
- ``resolve_owner`` (the owner directory): a row names its owner by ``owner_id`` or
  ``email``; it must match a live landed ``crm/owners`` owner (``unknown_owner``), both must
  name the same one (``owner_mismatch``), and ``owner_id`` is filled in from the e-mail;
- ``value_sets``: the value (trimmed, lower-cased) must be one of a set (a plan's status);
- ``ordered``: pairs of date or timestamp columns where the second must not be before the
  first (a plan's period end before its start);
- key and foreign-key values are trimmed as staging trims them, and the key must not repeat
  inside the batch after that (``ORD-5`` and ``ORD-5 `` are one key).

Tombstones (``is_deleted`` = ``true``) only need their key: a hard delete carries nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kam_transforms.entities import ENTITIES, Entity

__all__ = ["MAX_MAGNITUDE", "EntityRules", "RULES", "rules_for"]

#: The largest magnitude a landed number may have (money, quantities, rates alike).
MAX_MAGNITUDE = 1e15


@dataclass(frozen=True)
class EntityRules:
    """What a landable row of one canonical entity looks like (columns by kind)."""

    required: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    booleans: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()
    #: Columns whose (lower-cased) value must be one of a set: column -> allowed values.
    value_sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (earlier, later) column pairs: ``later`` must not be before ``earlier``.
    ordered: tuple[tuple[str, str], ...] = ()
    #: Event columns that must not be after the run's as-of date (checked by the raw suite).
    not_after_as_of: tuple[str, ...] = ()
    #: Foreign keys checked against landed data by the raw suite: column -> entity name.
    references: dict[str, str] = field(default_factory=dict)
    addresses: tuple[str, ...] = ()
    locales: tuple[str, ...] = ()
    #: Rows name a landed owner by owner_id or email (resolved to owner_id before the key check).
    resolve_owner: bool = False

    @property
    def typed_columns(self) -> tuple[str, ...]:
        return self.timestamps + self.dates + self.numbers + self.booleans


def _s(text: str) -> tuple[str, ...]:
    return tuple(text.split())


RULES: dict[str, EntityRules] = {
    "crm/accounts": EntityRules(
        required=_s("account_name"),
        timestamps=_s("created_at updated_at owner_assigned_at"),
        numbers=_s("employee_count"),
        non_negative=_s("employee_count"),
        booleans=_s("is_deleted"),
        not_after_as_of=_s("created_at updated_at"),
        references={"owner_id": "owners"},
    ),
    "crm/owners": EntityRules(
        required=_s("email"),
        booleans=_s("is_active"),
    ),
    "crm/owner_directory": EntityRules(
        addresses=_s("email manager_email"),
        locales=_s("locale"),
        resolve_owner=True,
        references={"owner_id": "owners"},
    ),
    "crm/contacts": EntityRules(
        required=_s("account_id"),
        timestamps=_s("updated_at"),
        booleans=_s("is_decision_maker is_active"),
        not_after_as_of=_s("updated_at"),
        references={"account_id": "accounts"},
    ),
    "crm/activities": EntityRules(
        required=_s("account_id activity_type occurred_at"),
        timestamps=_s("occurred_at"),
        not_after_as_of=_s("occurred_at"),
        references={"account_id": "accounts", "owner_id": "owners"},
    ),
    "crm/opportunities": EntityRules(
        required=_s("account_id stage"),
        timestamps=_s("closed_at updated_at"),
        dates=_s("expected_close_date"),
        numbers=_s("amount probability"),
        non_negative=_s("amount"),
        ranges={"probability": (0.0, 1.0)},
        booleans=_s("is_won"),
        currencies=_s("currency"),
        not_after_as_of=_s("closed_at updated_at"),
        references={"account_id": "accounts"},
    ),
    "crm/tickets": EntityRules(
        required=_s("account_id category status opened_at"),
        timestamps=_s("opened_at resolved_at"),
        not_after_as_of=_s("opened_at resolved_at"),
        references={"account_id": "accounts"},
    ),
    "crm/surveys": EntityRules(
        required=_s("account_id survey_type score responded_at"),
        timestamps=_s("responded_at"),
        numbers=_s("score"),
        ranges={"score": (0.0, 10.0)},
        not_after_as_of=_s("responded_at"),
        references={"account_id": "accounts", "contact_id": "contacts"},
    ),
    "crm/account_plans": EntityRules(
        required=_s("account_id period_start period_end currency status"),
        timestamps=_s("updated_at"),
        dates=_s("period_start period_end"),
        numbers=_s("revenue_target margin_target"),
        non_negative=_s("revenue_target margin_target"),
        currencies=_s("currency"),
        value_sets={"status": ("draft", "active", "closed")},
        ordered=(("period_start", "period_end"),),
        not_after_as_of=_s("updated_at"),
        references={"account_id": "accounts", "owner_id": "owners"},
    ),
    "erp/customers": EntityRules(
        required=_s("customer_name currency"),
        timestamps=_s("created_at updated_at"),
        numbers=_s("payment_terms_days credit_limit"),
        non_negative=_s("payment_terms_days credit_limit"),
        currencies=_s("currency"),
        not_after_as_of=_s("created_at updated_at"),
    ),
    "erp/products": EntityRules(
        required=_s("product_name"),
        numbers=_s("unit_cost"),
        non_negative=_s("unit_cost"),
        currencies=_s("currency"),
    ),
    "erp/orders": EntityRules(
        required=_s("customer_id order_date currency"),
        timestamps=_s("updated_at"),
        dates=_s("order_date"),
        currencies=_s("currency"),
        not_after_as_of=_s("order_date updated_at"),
        references={"customer_id": "customers"},
    ),
    "erp/order_lines": EntityRules(
        required=_s("order_id product_id quantity unit_price"),
        numbers=_s("quantity unit_price discount_pct unit_cost"),
        non_negative=_s("quantity unit_price unit_cost"),
        ranges={"discount_pct": (0.0, 1.0)},
        references={"order_id": "orders", "product_id": "products"},
    ),
    "erp/invoices": EntityRules(
        required=_s("customer_id invoice_date amount currency"),
        timestamps=_s("updated_at"),
        dates=_s("invoice_date due_date"),
        numbers=_s("amount"),
        non_negative=_s("amount"),
        currencies=_s("currency"),
        not_after_as_of=_s("invoice_date updated_at"),
        references={"customer_id": "customers", "order_id": "orders"},
    ),
    "erp/payments": EntityRules(
        required=_s("invoice_id paid_at amount currency"),
        timestamps=_s("paid_at"),
        numbers=_s("amount"),
        non_negative=_s("amount"),
        currencies=_s("currency"),
        not_after_as_of=_s("paid_at"),
        references={"invoice_id": "invoices"},
    ),
    "erp/fx_rates": EntityRules(
        required=_s("rate_to_base"),
        dates=_s("rate_date"),
        numbers=_s("rate_to_base"),
        positive=_s("rate_to_base"),
        currencies=_s("currency"),
        not_after_as_of=_s("rate_date"),
    ),
}

# Every canonical entity has a rule table; a new entity without one is a programming error.
assert {e.qualified_name for e in ENTITIES} == set(RULES)  # noqa: S101


def rules_for(ent: Entity) -> EntityRules:
    """The rule table of ``ent``."""
    return RULES[ent.qualified_name]
