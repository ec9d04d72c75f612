"""Odoo connector: the ERP entities from an Odoo PostgreSQL database, incrementally.

One read-only ``REPEATABLE READ`` transaction per entity reads

- the rows changed in the window, ``since < write_date < until`` (Odoo keeps ``write_date``
  in naive UTC), mapped to the canonical columns by a fixed query per entity;
- the entity's full key set (one cheap ``select <key>``): keys landed before this as-of date
  that are gone from Odoo (Odoo's ``unlink`` hard-deletes rows) land as tombstones with
  ``is_deleted = true``; archived partners/products (``active = false``) land as soft deletes.

Identifiers come only from the fixed queries below (the schema name is checked and quoted);
values (window bounds, as-of date, company currency) are bound parameters. Before reading, the
columns each query needs are checked in ``information_schema``: a missing one fails the
entity naming source, entity, table and column.

Canonical keys are Odoo's user-facing references where it has one (``res_partner.ref``,
``product_product.default_code``, ``sale_order.name``, ``account_move.name``,
``account_payment.name``; the numeric id when empty) and the id for order lines.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from kam_transforms.entities import Entity
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.landing import SchemaDriftError, landed_rows
from kam_transforms.extract.run import Fetched, Window

__all__ = ["QUERIES", "OdooConnector", "OdooQuery"]

log = logging.getLogger(__name__)

DSN_ENV = "KAM_ODOO_DSN"
SCHEMA_ENV = "KAM_ODOO_SCHEMA"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_EPOCH = datetime(1900, 1, 1)


@dataclass(frozen=True)
class OdooQuery:
    """How one canonical entity is read: select list, source, scope, cursor, needed columns.

    ``select`` maps canonical columns to SQL expressions; ``source`` and ``scope`` use
    ``{s}`` for the (quoted) schema; ``tables`` lists the Odoo columns the query reads.
    """

    select: dict[str, str]
    source: str
    scope: str
    cursor: str
    tables: dict[str, tuple[str, ...]]


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_PARTNER_KEY = "coalesce(nullif(p.ref, ''), p.id::text)"

QUERIES: dict[str, OdooQuery] = {
    "customers": OdooQuery(
        select={
            "customer_id": _PARTNER_KEY,
            "customer_name": "p.name",
            "tax_id": "p.vat",
            "currency": "c.name",
            "payment_terms_days": "(select max(l.nb_days) from {s}.account_payment_term_line l"
            " where l.payment_id = p.property_payment_term_id)",
            "credit_limit": "p.credit_limit",
            "created_at": "p.create_date",
            "updated_at": "p.write_date",
            "is_deleted": "case when p.active then 'false' else 'true' end",
        },
        source="{s}.res_partner p left join {s}.product_pricelist pl"
        " on pl.id = p.property_product_pricelist left join {s}.res_currency c"
        " on c.id = pl.currency_id",
        scope="p.customer_rank > 0",
        cursor="p.write_date",
        tables={
            "res_partner": _t(
                "id ref name vat customer_rank active property_payment_term_id "
                "property_product_pricelist credit_limit create_date write_date"
            ),
            "account_payment_term_line": _t("payment_id nb_days"),
            "product_pricelist": _t("id currency_id"),
            "res_currency": _t("id name active"),
        },
    ),
    "products": OdooQuery(
        select={
            "product_id": "coalesce(nullif(pp.default_code, ''), pp.id::text)",
            "product_name": "pt.name",
            "category": "pc.name",
            "unit_cost": "pp.standard_price",
            "currency": "%(company_currency)s",
            "is_deleted": "case when pp.active and pt.active then 'false' else 'true' end",
        },
        source="{s}.product_product pp join {s}.product_template pt on pt.id = pp.product_tmpl_id"
        " left join {s}.product_category pc on pc.id = pt.categ_id",
        scope="true",
        cursor="greatest(pp.write_date, pt.write_date)",
        tables={
            "product_product": _t(
                "id product_tmpl_id default_code standard_price active write_date"
            ),
            "product_template": _t("id name categ_id active write_date"),
            "product_category": _t("id name"),
        },
    ),
    "orders": OdooQuery(
        select={
            "order_id": "coalesce(nullif(so.name, ''), so.id::text)",
            "customer_id": _PARTNER_KEY,
            "order_date": "so.date_order::date",
            "currency": "c.name",
            "status": "case when so.state = 'cancel' then 'cancelled'"
            " when so.delivery_status = 'full' then 'delivered' else 'confirmed' end",
            "updated_at": "so.write_date",
        },
        source="{s}.sale_order so join {s}.res_partner p on p.id = so.partner_id"
        " left join {s}.res_currency c on c.id = so.currency_id",
        scope="so.state in ('sale', 'done', 'cancel')",
        cursor="so.write_date",
        tables={
            "sale_order": _t("id name partner_id date_order currency_id state delivery_status"),
            "res_partner": _t("id ref"),
        },
    ),
    "order_lines": OdooQuery(
        select={
            "order_line_id": "sol.id::text",
            "order_id": "coalesce(nullif(so.name, ''), so.id::text)",
            "product_id": "coalesce(nullif(pp.default_code, ''), pp.id::text)",
            "quantity": "sol.product_uom_qty",
            "unit_price": "sol.price_unit",
            "discount_pct": "(coalesce(sol.discount, 0) / 100.0)::float8",
            "unit_cost": "sol.purchase_price",
        },
        source="{s}.sale_order_line sol join {s}.sale_order so on so.id = sol.order_id"
        " left join {s}.product_product pp on pp.id = sol.product_id",
        scope="so.state in ('sale', 'done', 'cancel')",
        cursor="sol.write_date",
        tables={
            "sale_order_line": _t(
                "id order_id product_id product_uom_qty price_unit discount purchase_price "
                "write_date"
            ),
        },
    ),
    "invoices": OdooQuery(
        select={
            "invoice_id": "coalesce(nullif(am.name, ''), am.id::text)",
            "customer_id": _PARTNER_KEY,
            "order_id": "am.invoice_origin",
            "invoice_date": "am.invoice_date",
            "due_date": "am.invoice_date_due",
            "amount": "am.amount_total",
            "currency": "c.name",
            "status": "case when am.payment_state in ('paid', 'in_payment') then 'paid'"
            " when am.invoice_date_due < %(as_of)s then 'overdue'"
            " when am.payment_state = 'partial' then 'partially_paid' else 'open' end",
            "updated_at": "am.write_date",
            "amount_residual": "am.amount_residual",
            "payment_state": "am.payment_state",
        },
        source="{s}.account_move am join {s}.res_partner p on p.id = am.partner_id"
        " left join {s}.res_currency c on c.id = am.currency_id",
        scope="am.move_type = 'out_invoice' and am.state = 'posted'",
        cursor="am.write_date",
        tables={
            "account_move": _t(
                "id name move_type state partner_id invoice_origin invoice_date "
                "invoice_date_due amount_total amount_residual payment_state currency_id "
                "write_date"
            ),
        },
    ),
    "payments": OdooQuery(
        select={
            "payment_id": "coalesce(nullif(ap.name, ''), ap.id::text)",
            "invoice_id": "(select min(coalesce(nullif(am.name, ''), am.id::text))"
            " from {s}.account_invoice_payment_rel r join {s}.account_move am"
            " on am.id = r.invoice_id where r.payment_id = ap.id)",
            "paid_at": "ap.date",
            "amount": "ap.amount",
            "currency": "c.name",
        },
        source="{s}.account_payment ap left join {s}.res_currency c on c.id = ap.currency_id",
        scope="ap.payment_type = 'inbound' and ap.state = 'posted'",
        cursor="ap.write_date",
        tables={
            "account_payment": _t("id name payment_type state amount currency_id date write_date"),
            "account_invoice_payment_rel": _t("payment_id invoice_id"),
        },
    ),
    "fx_rates": OdooQuery(
        select={
            "currency": "c.name",
            "rate_date": "r.name",
            # Odoo's rate is units of the currency per company-currency unit
            "rate_to_base": "round(1.0 / nullif(r.rate, 0), 10)::float8",
        },
        source="{s}.res_currency_rate r join {s}.res_currency c on c.id = r.currency_id",
        scope="true",
        cursor="r.write_date",
        tables={"res_currency_rate": _t("name currency_id rate write_date")},
    ),
}


class OdooConnector:
    """The ERP entities from an Odoo database (PostgreSQL), incrementally by ``write_date``."""

    name = "odoo"
    incremental = True

    def __init__(
        self, conninfo: str, schema: str = "public", company_currency: str = "USD"
    ) -> None:
        if not conninfo:
            raise ExtractError(
                f"no Odoo database: set the Airflow connection erp_odoo or {DSN_ENV}"
            )
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"Odoo schema name {schema!r} is not a plain identifier")
        self.conninfo = conninfo
        self.schema = schema
        self.company_currency = company_currency

    @classmethod
    def from_airflow_or_env(cls, conn_id: str = "erp_odoo") -> OdooConnector:
        """Connection from the Airflow connection ``conn_id`` (postgres type: host, port,
        login, password, schema = database; extra ``odoo_schema``, ``company_currency``),
        else ``KAM_ODOO_DSN`` and ``KAM_ODOO_SCHEMA``. Call it inside the task."""
        from psycopg.conninfo import make_conninfo

        dsn = os.environ.get(DSN_ENV, "")
        schema = os.environ.get(SCHEMA_ENV, "public")
        currency = os.environ.get("KAM_BASE_CURRENCY", "USD")
        try:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # not found, or no Airflow here: the env vars decide
            log.info(
                "Airflow connection %s not available (%s); using environment",
                conn_id,
                type(exc).__name__,
            )
        else:
            extra = conn.extra_dejson or {}
            dsn = make_conninfo(
                host=conn.host or None,
                port=str(conn.port) if conn.port else None,
                user=conn.login or None,
                password=conn.password or None,
                dbname=conn.schema or None,
            )
            schema = str(extra.get("odoo_schema") or schema)
            currency = str(extra.get("company_currency") or currency)
        return cls(dsn, schema, currency)

    def _check_columns(self, cur: Any, ent: Entity, query: OdooQuery) -> None:
        cur.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = %s and table_name = any(%s)",
            (self.schema, list(query.tables)),
        )
        present: dict[str, set[str]] = {}
        for table, column in cur.fetchall():
            present.setdefault(table, set()).add(column)
        for table, columns in query.tables.items():
            if table not in present:
                raise SchemaDriftError(
                    f"{ent.source}/{ent.name}: Odoo table {self.schema}.{table} not found"
                )
            missing = [c for c in columns if c not in present[table]]
            if missing:
                raise SchemaDriftError(
                    f"{ent.source}/{ent.name}: required column {', '.join(missing)} missing "
                    f"from Odoo table {self.schema}.{table}"
                )

    def _sql(self, template: str) -> Any:
        from psycopg import sql

        return sql.SQL(template).format(s=sql.Identifier(self.schema))

    def fetch(self, ent: Entity, window: Window) -> Fetched:
        import psycopg
        from psycopg import sql

        if ent.name not in QUERIES:
            raise ExtractError(f"{ent.source}/{ent.name}: no Odoo query for this entity")
        q = QUERIES[ent.name]
        # Composed from the fixed templates above only (allow-list); values are bound.
        select = sql.SQL(", ").join(
            sql.SQL("{} as {}").format(self._sql(expr), sql.Identifier(col))
            for col, expr in q.select.items()
        )
        changes = sql.SQL(
            "select {select}, {cursor} as __cursor from {source} "
            "where ({scope}) and {cursor} > %(since)s and {cursor} < %(until)s "
            "order by {cursor}"
        ).format(
            select=select,
            cursor=self._sql(q.cursor),
            source=self._sql(q.source),
            scope=self._sql(q.scope),
        )
        key_cols = list(ent.key)
        keys = sql.SQL("select {keys} from {source} where ({scope})").format(
            keys=sql.SQL(", ").join(self._sql(q.select[k]) for k in key_cols),
            source=self._sql(q.source),
            scope=self._sql(q.scope),
        )
        params = {
            "since": window.since.replace(tzinfo=None) if window.since else _EPOCH,
            "until": window.until.replace(tzinfo=None),
            "as_of": window.as_of,
            "company_currency": self.company_currency,
        }
        with psycopg.connect(self.conninfo) as conn:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.cursor() as cur:
                self._check_columns(cur, ent, q)
                cur.execute(changes, params)
                names = [d.name for d in cur.description or []]
                frame = pd.DataFrame(cur.fetchall(), columns=names)
                cur.execute(keys, params)
                source_keys = {tuple(str(v) for v in row) for row in cur.fetchall()}
        cursor_values = frame.pop("__cursor")
        cursor_max = None
        if len(cursor_values):
            cursor_max = pd.Timestamp(cursor_values.max()).to_pydatetime()
        if "is_deleted" not in frame:
            frame["is_deleted"] = "false"

        # Hard deletes: keys landed before this date, still live there, gone from Odoo.
        before = landed_rows(window.lake_dir, ent, window.as_of, columns=[], before=True)
        if "is_deleted" in before:
            before = before[before["is_deleted"].fillna("false") != "true"]
        landed_keys = {
            tuple(str(v) for v in row) for row in before[key_cols].itertuples(index=False)
        }
        in_batch = {tuple(str(v) for v in row) for row in frame[key_cols].itertuples(index=False)}
        gone = sorted(landed_keys - source_keys - in_batch)
        if gone:
            tombstones = pd.DataFrame(gone, columns=key_cols).assign(is_deleted="true")
            frame = pd.concat([frame, tombstones], ignore_index=True)
        for col in ent.columns:
            if col not in frame:
                frame[col] = None
        return Fetched(
            frame=frame,
            origin=f"odoo:{self.schema}:{ent.name}",
            cursor_max=cursor_max,
            stats={
                "changed": len(frame) - len(gone),
                "deleted": len(gone),
                "source_keys": len(source_keys),
            },
        )
