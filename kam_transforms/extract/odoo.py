"""Odoo connector: the ERP entities from an Odoo PostgreSQL database, incrementally.

One read-only ``REPEATABLE READ`` transaction per entity reads, through server-side (named)
cursors ``fetchmany`` record batches at a time (``batch_rows``, ``KAM_EXTRACT_BATCH_ROWS``),
while the landing consumes them (:mod:`kam_transforms.extract.batches`; no step holds the
entity in memory):

- the rows changed in the window, ``since < write_date < until`` (Odoo keeps ``write_date``
  in naive UTC), mapped to the canonical columns by a fixed query per entity;
- the entity's full key set (one cheap ``select <key>``), streamed into DuckDB: keys landed
  before this as-of date that are gone from Odoo (Odoo's ``unlink`` hard-deletes rows) land
  as tombstones with ``is_deleted = true``, found by an anti-join with the landed state in
  DuckDB (:mod:`kam_transforms.extract.lake`); archived partners/products
  (``active = false``) land as soft deletes.

The transaction stays open while the landing reads the batches (row rules run on each as it
arrives), so a large first load holds one read-only snapshot for its duration.

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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kam_transforms.entities import Entity
from kam_transforms.extract.batches import batch_rows as batch_rows_setting
from kam_transforms.extract.batches import record_batch
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.lake import create_live, quote, state_files
from kam_transforms.extract.landing import Part, SchemaDriftError
from kam_transforms.extract.run import Fetched, Window
from kam_transforms.extract.scratch import scratch_duckdb

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
        self,
        conninfo: str,
        schema: str = "public",
        company_currency: str = "USD",
        batch_rows: int | None = None,
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
        #: The most rows read from a cursor and handed to the landing at once.
        self.batch_rows = batch_rows_setting(batch_rows)

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
        """The window's changed rows, then tombstones for hard-deleted keys, as one part of
        record batches of at most ``batch_rows`` rows, read while the landing consumes it.

        The columns are checked here (a missing one fails before anything is read); the
        rows are read when the landing iterates the part, in one read-only ``REPEATABLE
        READ`` transaction through server-side (named) cursors, ``fetchmany`` at a time.
        ``cursor_max`` and ``stats`` of the returned :class:`Fetched` are filled in once the
        part has been read (``run_extract`` reads them after landing).
        """
        import psycopg

        if ent.name not in QUERIES:
            raise ExtractError(f"{ent.source}/{ent.name}: no Odoo query for this entity")
        with psycopg.connect(self.conninfo) as conn, conn.cursor() as cur:
            self._check_columns(cur, ent, QUERIES[ent.name])
        selected = list(QUERIES[ent.name].select)
        # the query's columns, is_deleted ('false' unless selected), then the canonical
        # columns the query does not have (null)
        columns = [*selected, *(["is_deleted"] if "is_deleted" not in selected else [])]
        columns += [c for c in ent.columns if c not in columns]
        origin = f"odoo:{self.schema}:{ent.name}"
        fetched = Fetched(frame=None, origin=origin)
        fetched.parts = [
            Part(origin, tuple(columns), lambda: self._read(ent, window, columns, fetched))
        ]
        return fetched

    def _queries(self, ent: Entity) -> tuple[Any, Any]:
        """The changed rows of the window (cursor last, in cursor order) and the key set."""
        from psycopg import sql

        q = QUERIES[ent.name]
        # Composed from the fixed templates above only (allow-list); values are bound.
        select = sql.SQL(", ").join(
            sql.SQL("{} as {}").format(self._sql(expr), sql.Identifier(col))
            for col, expr in q.select.items()
        )
        # Ordered by the cursor, ties by the key: rows stamped alike come in one order
        # whatever plan PostgreSQL picks (a server-side cursor plans for the first rows), so
        # a rerun lands the same row numbers and batch id.
        changes = sql.SQL(
            "select {select}, {cursor} as __cursor from {source} "
            "where ({scope}) and {cursor} > %(since)s and {cursor} < %(until)s "
            "order by {cursor}, {key}"
        ).format(
            select=select,
            cursor=self._sql(q.cursor),
            source=self._sql(q.source),
            scope=self._sql(q.scope),
            key=sql.SQL(", ").join(self._sql(q.select[k]) for k in ent.key),
        )
        keys = sql.SQL("select {keys} from {source} where ({scope})").format(
            keys=sql.SQL(", ").join(self._sql(q.select[k]) for k in ent.key),
            source=self._sql(q.source),
            scope=self._sql(q.scope),
        )
        return changes, keys

    def _read(
        self, ent: Entity, window: Window, columns: list[str], fetched: Fetched
    ) -> Iterator[Any]:
        """The part's batches: the changed rows in cursor order, then the tombstones.

        Both queries run in one snapshot, so every changed row's key is in the key set:
        the keys landed before the as-of date, live there and absent from the key set are
        exactly the hard deletes. The key set streams into DuckDB and the comparison with
        the landed state runs there (:func:`_hard_deletes`), never in Python memory.
        """
        import psycopg

        changes, keys = self._queries(ent)
        params = {
            "since": window.since.replace(tzinfo=None) if window.since else _EPOCH,
            "until": window.until.replace(tzinfo=None),
            "as_of": window.as_of,
            "company_currency": self.company_currency,
        }
        size = self.batch_rows
        selected = list(QUERIES[ent.name].select)
        picks = [selected.index(c) if c in selected else -1 for c in columns]
        fill = ["false" if c == "is_deleted" else None for c in columns]
        changed = 0
        cursor_max: datetime | None = None
        with psycopg.connect(self.conninfo) as conn:
            conn.read_only = True
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.cursor(name=f"kam_changes_{ent.name}") as cur:
                cur.itersize = size
                cur.execute(changes, params)
                while rows := cur.fetchmany(size):
                    stamps = [r[-1] for r in rows if r[-1] is not None]
                    if stamps and (cursor_max is None or max(stamps) > cursor_max):
                        cursor_max = max(stamps)
                    out = [
                        tuple(r[i] if i >= 0 else f for i, f in zip(picks, fill, strict=True))
                        for r in rows
                    ]
                    changed += len(out)
                    yield record_batch(columns, out)
            with scratch_duckdb(window.lake_dir) as con:
                source_keys = _load_keys(conn, ent, keys, params, con, size)
                deleted = _hard_deletes(con, window, ent)
                for batch in con.sql("select * from gone").to_arrow_reader(size):
                    yield _tombstones(batch, columns, ent)
        fetched.cursor_max = cursor_max
        fetched.stats = {"changed": changed, "deleted": deleted, "source_keys": source_keys}


def _load_keys(
    conn: Any, ent: Entity, keys: Any, params: dict[str, Any], con: Any, size: int
) -> int:
    """Stream the source's key set (as text) into DuckDB table ``source_keys``; returns the
    number of distinct keys."""
    import pyarrow as pa

    names = list(ent.key)
    schema = pa.schema([(k, pa.string()) for k in names])
    key_cols = ", ".join(f"{quote(k)} varchar" for k in names)
    con.execute(f"create temp table source_keys ({key_cols})")
    with conn.cursor(name=f"kam_keys_{ent.name}") as cur:
        cur.itersize = size
        cur.execute(keys, params)
        while rows := cur.fetchmany(size):
            arrays = [
                pa.array([None if r[i] is None else str(r[i]) for r in rows], pa.string())
                for i in range(len(names))
            ]
            con.register("source_keys_chunk", pa.Table.from_arrays(arrays, schema=schema))
            con.execute("insert into source_keys select * from source_keys_chunk")
            con.unregister("source_keys_chunk")
    distinct = con.execute("select count(*) from (select distinct * from source_keys)")
    return int(distinct.fetchall()[0][0])


def _hard_deletes(con: Any, window: Window, ent: Entity) -> int:
    """Create temp table ``gone``: the keys live in the landed state before the as-of date
    (as staging reads it) that the source no longer has, ordered by key; returns how many."""
    files = state_files(window.lake_dir, ent, window.as_of, before=True)
    keys = ", ".join(quote(k) for k in ent.key)
    if not files:
        con.execute(f"create temp table gone as select {keys} from source_keys where false")  # noqa: S608
        return 0
    create_live(con, "previous", files, ent, columns=[])
    on = " and ".join(f"cast(l.{quote(k)} as varchar) = s.{quote(k)}" for k in ent.key)
    picked = ", ".join(f"cast(l.{quote(k)} as varchar) as {quote(k)}" for k in ent.key)
    order = ", ".join(f"l.{quote(k)}" for k in ent.key)
    # Identifiers are the entity registry's key columns (an allow-list), quoted.
    con.execute(
        f"create temp table gone as select {picked} from previous l "  # noqa: S608
        f"anti join source_keys s on {on} order by {order}"
    )
    return int(con.execute("select count(*) from gone").fetchall()[0][0])


def _tombstones(batch: Any, columns: list[str], ent: Entity) -> Any:
    """Tombstone rows for a batch of gone keys: the key, ``is_deleted = 'true'``, nulls."""
    import pyarrow as pa

    n = batch.num_rows
    arrays = [
        batch.column(batch.schema.get_field_index(c))
        if c in ent.key
        else pa.array(["true"] * n, pa.string())
        if c == "is_deleted"
        else pa.nulls(n, pa.string())
        for c in columns
    ]
    return pa.RecordBatch.from_arrays(arrays, names=columns)
