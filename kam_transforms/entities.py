"""The canonical landing entities every connector maps into (see ARCHITECTURE.md).

The column lists are the contract with dbt's staging models; connectors may carry extra
columns through. ``key`` is the primary key a batch must not repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entity", "ENTITIES", "FILE_DROP_ONLY", "OPTIONAL", "SOURCES", "entity"]


@dataclass(frozen=True)
class Entity:
    """One canonical entity of one source system."""

    source: str
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        return f"{self.source}/{self.name}"

    @property
    def optional(self) -> bool:
        """The source may have no export of it (see :data:`OPTIONAL`)."""
        return self.qualified_name in OPTIONAL

    @property
    def file_drop_only(self) -> bool:
        """No CRM API has it: it comes from the file drop whatever the source's connector."""
        return self.qualified_name in FILE_DROP_ONLY


def _e(source: str, name: str, key: str, columns: str) -> Entity:
    return Entity(source, name, tuple(key.split()), tuple(columns.split()))


ENTITIES: tuple[Entity, ...] = (
    _e(
        "crm",
        "accounts",
        "account_id",
        "account_id account_name industry region country employee_count owner_id "
        "parent_account_id erp_customer_id created_at updated_at is_deleted",
    ),
    _e("crm", "owners", "owner_id", "owner_id full_name email manager_email locale is_active"),
    # Optional (only a file drop; see OPTIONAL): managers, locales and teams where the CRM
    # lacks them. A row names its owner by owner_id or email; the landing resolves it to the
    # landed owner's owner_id, the key.
    _e("crm", "owner_directory", "owner_id", "owner_id email manager_email locale team"),
    _e(
        "crm",
        "contacts",
        "contact_id",
        "contact_id account_id full_name role is_decision_maker is_active updated_at",
    ),
    _e(
        "crm",
        "activities",
        "activity_id",
        "activity_id account_id owner_id activity_type occurred_at",
    ),
    _e(
        "crm",
        "opportunities",
        "opportunity_id",
        "opportunity_id account_id stage amount currency probability expected_close_date "
        "closed_at is_won lost_reason competitor updated_at",
    ),
    _e(
        "crm",
        "tickets",
        "ticket_id",
        "ticket_id account_id category priority status opened_at resolved_at",
    ),
    _e(
        "crm",
        "surveys",
        "response_id",
        "response_id account_id contact_id survey_type score responded_at",
    ),
    _e(
        "crm",
        "account_plans",
        "plan_id",
        "plan_id account_id owner_id period_start period_end revenue_target margin_target "
        "currency objective status updated_at",
    ),
    _e(
        "erp",
        "customers",
        "customer_id",
        "customer_id customer_name tax_id currency payment_terms_days credit_limit "
        "created_at updated_at",
    ),
    _e("erp", "products", "product_id", "product_id product_name category unit_cost currency"),
    _e("erp", "orders", "order_id", "order_id customer_id order_date currency status updated_at"),
    _e(
        "erp",
        "order_lines",
        "order_line_id",
        "order_line_id order_id product_id quantity unit_price discount_pct unit_cost",
    ),
    _e(
        "erp",
        "invoices",
        "invoice_id",
        "invoice_id customer_id order_id invoice_date due_date amount currency status updated_at",
    ),
    _e("erp", "payments", "payment_id", "payment_id invoice_id paid_at amount currency"),
    _e("erp", "fx_rates", "currency rate_date", "currency rate_date rate_to_base"),
)

SOURCES: tuple[str, ...] = ("crm", "erp")

#: Entities a source may not have: no export means nothing to land, not a failure (account
#: plans: the marts then say "no plan").
OPTIONAL: frozenset[str] = frozenset({"crm/owner_directory", "crm/account_plans"})
#: Optional entities no CRM API has: read from the file drop whatever connector the source
#: uses (account plans come from HubSpot as a custom object, so they are not here).
FILE_DROP_ONLY: frozenset[str] = frozenset({"crm/owner_directory"})


def entity(source: str, name: str) -> Entity:
    """Look up a canonical entity; a clear ``ValueError`` names the unknown one."""
    for e in ENTITIES:
        if e.source == source and e.name == name:
            return e
    known = ", ".join(e.qualified_name for e in ENTITIES)
    raise ValueError(f"unknown entity {source}/{name}; known: {known}")
