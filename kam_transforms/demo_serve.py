"""Serve the demo data set as a HubSpot-style CRM API and load it into an Odoo-style schema.

Both connectors (:mod:`kam_transforms.extract.hubspot`, :mod:`kam_transforms.extract.odoo`)
can then run on the demo data set, in tests and by hand.

**CRM** (:class:`DemoCrmServer`): a real HTTP server (``ThreadingHTTPServer`` on
``127.0.0.1``, port 0 = any free port) with the HubSpot CRM v3 shapes the connector uses:

- ``GET /crm/v3/objects/<type>?limit&after&properties&archived`` (cursor paging),
- ``POST /crm/v3/objects/<type>/search`` (filters ``GT/GTE/LT/LTE/EQ`` on a property, one
  sort, ``after`` paging; archived records excluded; at most ``search_cap`` results per
  query, like HubSpot's 10,000),
- ``POST /crm/v4/associations/<from>/<to>/batch/read``,
- ``GET /crm/v3/owners?limit&after&archived``,
- the account plans as the custom object ``p_kam_account_plans`` (same list, search and
  association routes; absent, so 404, when the export has no ``account_plans.csv``),

bearer-token auth (401 otherwise), fault injection (:meth:`DemoCrmServer.inject`: a 429 with
``Retry-After``, a 500, a 401 ...), a request log, and mutations for incremental tests
(:meth:`DemoCrmServer.update`, :meth:`DemoCrmServer.archive`, :meth:`DemoCrmServer.create`).

**ERP** (:func:`load_odoo`): creates the Odoo-shaped tables in a PostgreSQL schema
(``res_partner``, ``product_template``/``product_product``, ``sale_order``,
``sale_order_line`` with ``purchase_price``, ``account_move``, ``account_payment``,
``res_currency``/``res_currency_rate`` ...) and loads the demo exports into them;
:func:`odoo_update` and :func:`odoo_delete` change rows for incremental tests.

Run by hand::

    python -m kam_transforms.demo_serve crm --exports var/exports --port 8089 --token demo
    python -m kam_transforms.demo_serve odoo --exports var/exports --dsn postgresql://... \\
        --schema odoo_demo
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

__all__ = [
    "CRM_OBJECT_TYPES",
    "PLAN_OBJECT_TYPE",
    "DemoCrmServer",
    "Fault",
    "crm_objects_from_exports",
    "load_odoo",
    "odoo_delete",
    "odoo_update",
    "read_exports",
]

log = logging.getLogger(__name__)

#: HubSpot object types the demo serves (owners have their own endpoint).
CRM_OBJECT_TYPES = (
    "companies",
    "contacts",
    "deals",
    "calls",
    "meetings",
    "emails",
    "tickets",
    "feedback_submissions",
)
#: The account-plan custom object (served when the export has account plans).
PLAN_OBJECT_TYPE = "p_kam_account_plans"
_STAGE_TO_HUBSPOT = {
    "qualification": "qualifiedtobuy",
    "needs_analysis": "presentationscheduled",
    "proposal": "decisionmakerboughtin",
    "negotiation": "contractsent",
    "closed_won": "closedwon",
    "closed_lost": "closedlost",
}
_TICKET_STATUS_TO_STAGE = {"open": "1", "in_progress": "2", "resolved": "3", "closed": "4"}


def read_exports(exports_dir: Path, source: str) -> dict[str, pd.DataFrame]:
    """The demo CSV exports of ``source`` as text frames (empty cell = None)."""
    out = {}
    for path in sorted((Path(exports_dir) / source).glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        out[path.stem] = frame.astype(object).where(frame != "", None)
    return out


# --------------------------------------------------------------------------- CRM objects


def _ms(ts: str | None) -> int | None:
    if not ts:
        return None
    return int(pd.Timestamp(ts).tz_convert(UTC).timestamp() * 1000)


def _iso(ts: str | None) -> str | None:
    if not ts:
        return None
    return pd.Timestamp(ts).tz_convert(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class CrmObject:
    """One HubSpot record: id, properties (all strings), timestamps, associations."""

    id: str
    properties: dict[str, str | None]
    created_at: str
    updated_at: str
    cursor: str = "hs_lastmodifieddate"
    archived: bool = False
    archived_at: str | None = None
    associations: dict[str, list[str]] = field(default_factory=dict)

    def touch(self, at: str) -> None:
        self.updated_at = _iso(at) or at
        self.properties[self.cursor] = self.updated_at

    def as_json(self, properties: Iterable[str] | None) -> dict[str, Any]:
        props = (
            dict(self.properties)
            if properties is None
            else {p: self.properties.get(p) for p in properties}
        )
        body: dict[str, Any] = {
            "id": self.id,
            "properties": props,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": self.archived,
        }
        if self.archived:
            body["archivedAt"] = self.archived_at
        return body


def _obj(
    oid: str,
    props: dict[str, Any],
    created: str | None,
    updated: str | None,
    cursor: str = "hs_lastmodifieddate",
    **assoc: str | None,
) -> CrmObject:
    created_iso = _iso(created) or _iso(updated) or "2020-01-01T00:00:00.000Z"
    updated_iso = _iso(updated) or created_iso
    clean = {k: (None if v is None else str(v)) for k, v in props.items()}
    clean["createdate"] = created_iso
    clean[cursor] = updated_iso
    clean["hs_object_id"] = oid
    return CrmObject(
        id=oid,
        properties=clean,
        created_at=created_iso,
        updated_at=updated_iso,
        cursor=cursor,
        associations={k: [v] for k, v in assoc.items() if v},
    )


def _owner_teams(crm: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Team name by owner id and by lower-cased e-mail, from the demo's owner directory."""
    directory = crm.get("owner_directory")
    out: dict[str, str] = {}
    if directory is None:
        return out
    for r in directory.to_dict("records"):
        if r.get("team"):
            for key in (r.get("owner_id"), str(r.get("email") or "").lower()):
                if key:
                    out[key] = r["team"]
    return out


def _teams(name: str | None) -> list[dict[str, Any]]:
    """An owner's ``teams`` as HubSpot's PublicTeam list (one primary team, stable id)."""
    if not name:
        return []
    team_id = str(int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16) % 9_000_000)
    return [{"id": team_id, "name": name, "primary": True}]


def crm_objects_from_exports(
    exports_dir: Path,
) -> tuple[dict[str, dict[str, CrmObject]], list[dict[str, Any]]]:
    """HubSpot records per object type, and owners, built from the demo CRM exports."""
    crm = read_exports(exports_dir, "crm")
    store: dict[str, dict[str, CrmObject]] = {t: {} for t in CRM_OBJECT_TYPES}

    for r in crm["accounts"].to_dict("records"):
        o = _obj(
            r["account_id"],
            {
                "name": r["account_name"],
                "industry": r["industry"],
                "kam_region": r["region"],
                "country": r["country"],
                "numberofemployees": r["employee_count"],
                "hubspot_owner_id": r["owner_id"],
                "hs_parent_company_id": r["parent_account_id"],
                "kam_erp_customer_id": r["erp_customer_id"],
                "hubspot_owner_assigneddate": _iso(r.get("owner_assigned_at")),
            },
            r["created_at"],
            r["updated_at"],
        )
        if r.get("is_deleted") == "true":
            o.archived, o.archived_at = True, o.updated_at
        store["companies"][o.id] = o

    for r in crm["contacts"].to_dict("records"):
        first, _, last = (r["full_name"] or "").partition(" ")
        o = _obj(
            r["contact_id"],
            {
                "firstname": first,
                "lastname": last or None,
                "jobtitle": r["role"],
                "associatedcompanyid": r["account_id"],
                "hs_buying_role": "DECISION_MAKER" if r["is_decision_maker"] == "true" else None,
                "kam_is_active": r["is_active"],
            },
            r["updated_at"],
            r["updated_at"],
            cursor="lastmodifieddate",
            companies=r["account_id"],
        )
        store["contacts"][o.id] = o

    kinds = {"call": "calls", "email": "emails", "meeting": "meetings", "visit": "meetings"}
    kinds["event"] = "meetings"
    for r in crm["activities"].to_dict("records"):
        kind = r["activity_type"]
        props: dict[str, Any] = {
            "hs_timestamp": _iso(r["occurred_at"]),
            "hubspot_owner_id": r["owner_id"],
        }
        if kinds[kind] == "meetings":
            props["hs_activity_type"] = kind.upper() if kind != "meeting" else None
        o = _obj(
            r["activity_id"], props, r["occurred_at"], r["occurred_at"], companies=r["account_id"]
        )
        store[kinds[kind]][o.id] = o

    for r in crm["opportunities"].to_dict("records"):
        stage = _STAGE_TO_HUBSPOT.get(r["stage"], r["stage"])
        closed = _iso(r["closed_at"])
        o = _obj(
            r["opportunity_id"],
            {
                "dealstage": stage,
                "amount": r["amount"],
                "deal_currency_code": r["currency"],
                "hs_deal_stage_probability": r["probability"],
                "closedate": _iso(r["expected_close_date"] + "T00:00:00Z")
                if r["expected_close_date"]
                else None,
                "hs_date_entered_closedwon": closed if stage == "closedwon" else None,
                "hs_date_entered_closedlost": closed if stage == "closedlost" else None,
                "hs_is_closed_won": r["is_won"],
                "closed_lost_reason": r["lost_reason"],
                "kam_competitor": r["competitor"],
            },
            r["updated_at"],
            r["updated_at"],
            companies=r["account_id"],
        )
        store["deals"][o.id] = o

    for r in crm["tickets"].to_dict("records"):
        o = _obj(
            r["ticket_id"],
            {
                "hs_ticket_category": (r["category"] or "").upper() or None,
                "hs_ticket_priority": (r["priority"] or "").upper() or None,
                "hs_pipeline_stage": _TICKET_STATUS_TO_STAGE.get(r["status"], r["status"]),
                "closed_date": _iso(r["resolved_at"]),
            },
            r["opened_at"],
            r["resolved_at"] or r["opened_at"],
            companies=r["account_id"],
        )
        store["tickets"][o.id] = o

    for r in crm["surveys"].to_dict("records"):
        o = _obj(
            r["response_id"],
            {
                "hs_survey_type": (r["survey_type"] or "").upper() or None,
                "hs_value": r["score"],
                "hs_submission_timestamp": _iso(r["responded_at"]),
            },
            r["responded_at"],
            r["responded_at"],
            companies=r["account_id"],
            contacts=r["contact_id"],
        )
        store["feedback_submissions"][o.id] = o

    if "account_plans" in crm:
        store[PLAN_OBJECT_TYPE] = {}
    for r in crm.get("account_plans", pd.DataFrame()).to_dict("records"):
        o = _obj(
            r["plan_id"],
            {
                "hubspot_owner_id": r["owner_id"],
                "kam_period_start": r["period_start"],
                "kam_period_end": r["period_end"],
                "kam_revenue_target": r["revenue_target"],
                "kam_margin_target": r["margin_target"],
                "kam_currency": r["currency"],
                "kam_objective": r["objective"],
                "kam_status": r["status"],
            },
            r["updated_at"],
            r["updated_at"],
            companies=r["account_id"],
        )
        store[PLAN_OBJECT_TYPE][o.id] = o

    owners = []
    teams = _owner_teams(crm)
    for r in crm["owners"].to_dict("records"):
        r["team"] = teams.get(r["owner_id"]) or teams.get(str(r["email"] or "").lower())
        first, _, last = (r["full_name"] or "").partition(" ")
        owners.append(
            {
                "id": r["owner_id"],
                "email": r["email"],
                "firstName": first,
                "lastName": last,
                "userId": None,
                "createdAt": "2020-01-01T00:00:00.000Z",
                "updatedAt": "2020-01-01T00:00:00.000Z",
                "archived": r["is_active"] != "true",
                # HubSpot's owners API v3 (PublicOwner) has no manager and no locale: those
                # come from the owner directory file drop. Teams it has, on portals with
                # teams (PublicTeam: id, name, primary); the demo's are the managers' teams.
                "teams": _teams(r.get("team")),
            }
        )
    return store, owners


# --------------------------------------------------------------------------- CRM server


@dataclass
class Fault:
    """An injected failure: the next ``times`` matching requests get ``status``."""

    status: int
    times: int = 1
    retry_after: float | None = None
    path_contains: str = ""


def _after(query: dict[str, list[str]]) -> str | None:
    values = query.get("after")
    return values[0] if values else None


_OPS = {
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
}
_DATE_PROPS = re.compile(r"(date|timestamp|_at$|^hs_date_entered)")


def _comparable(prop: str, value: Any) -> Any:
    if value is None:
        return None
    return _comparable_text(prop, str(value))


@functools.lru_cache(maxsize=1 << 18)
def _comparable_text(prop: str, text: str) -> Any:
    if _DATE_PROPS.search(prop):
        return int(text) if text.lstrip("-").isdigit() else _ms(text)
    return text


class DemoCrmServer:
    """HubSpot-shaped CRM API over the demo data (see the module docstring).

    Use as a context manager; ``base_url`` is ``http://127.0.0.1:<port>``.
    """

    def __init__(
        self,
        exports_dir: Path,
        token: str = "demo-token",  # noqa: S107 - the demo server's own token
        *,
        page_limit_max: int = 100,
        search_cap: int = 10_000,
        port: int = 0,
    ) -> None:
        self.store, self.owners = crm_objects_from_exports(exports_dir)
        self.token = token
        self.page_limit_max = page_limit_max
        self.search_cap = search_cap
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        #: Records returned per object type (search results, listings, owners).
        self.served: dict[str, int] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._search_cache: dict[str, tuple[int, list[CrmObject]]] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoCrmServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> DemoCrmServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # test controls
    def inject(
        self, status: int, times: int = 1, retry_after: float | None = None, path_contains: str = ""
    ) -> None:
        with self._lock:
            self.faults.append(Fault(status, times, retry_after, path_contains))

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.served.clear()

    def update(self, object_type: str, oid: str, properties: dict[str, Any], at: str) -> None:
        """Change properties of a record and move its last-modified timestamp to ``at``."""
        with self._lock:
            obj = self.store[object_type][oid]
            obj.properties.update({k: None if v is None else str(v) for k, v in properties.items()})
            obj.touch(at)
            self._version += 1

    def create(
        self, object_type: str, oid: str, properties: dict[str, Any], at: str, **assoc: str
    ) -> None:
        cursor = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        with self._lock:
            self.store[object_type][oid] = _obj(oid, properties, at, at, cursor, **assoc)
            self._version += 1

    def archive(self, object_type: str, oid: str, at: str) -> None:
        """Archive (soft-delete) a record, as HubSpot's DELETE does."""
        with self._lock:
            obj = self.store[object_type][oid]
            obj.archived, obj.archived_at = True, _iso(at)
            obj.touch(at)
            self._version += 1

    # request handling
    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.path_contains in path:
                    fault.times -= 1
                    return fault
        return None

    def _count(self, kind: str, n: int) -> None:
        with self._lock:
            self.served[kind] = self.served.get(kind, 0) + n

    def _page(
        self, items: list[Any], limit: int, after: str | None
    ) -> tuple[list[Any], str | None]:
        start = int(after or 0)
        limit = max(1, min(limit, self.page_limit_max))
        chunk = items[start : start + limit]
        nxt = str(start + limit) if start + limit < len(items) else None
        return chunk, nxt

    def _list(self, object_type: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if object_type not in self.store:
            return 404, {"status": "error", "message": f"Unknown object type {object_type}"}
        archived = (query.get("archived") or ["false"])[0] == "true"
        props = (query.get("properties") or [""])[0]
        wanted = [p for p in props.split(",") if p] or None
        with self._lock:
            items = [o for o in self.store[object_type].values() if o.archived == archived]
        items.sort(key=lambda o: o.id)
        chunk, nxt = self._page(items, int((query.get("limit") or ["10"])[0]), _after(query))
        self._count(f"list:{object_type}" + (":archived" if archived else ""), len(chunk))
        body: dict[str, Any] = {"results": [o.as_json(wanted) for o in chunk]}
        if nxt:
            body["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return 200, body

    def _search(self, object_type: str, req: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if object_type not in self.store:
            return 404, {"status": "error", "message": f"Unknown object type {object_type}"}
        groups = req.get("filterGroups") or []

        def matches(o: CrmObject) -> bool:
            if not groups:
                return True
            for g in groups:
                ok = True
                for f in g.get("filters", []):
                    prop, op = f["propertyName"], f["operator"]
                    have = _comparable(prop, o.properties.get(prop))
                    want = _comparable(prop, f.get("value"))
                    if have is None or not _OPS[op](have, want):
                        ok = False
                        break
                if ok:
                    return True
            return False

        sorts = req.get("sorts") or []
        # Paging through one query re-runs it per page; cache its result until a mutation.
        cache_key = json.dumps([object_type, groups, sorts], sort_keys=True)
        with self._lock:
            cached = self._search_cache.get(cache_key)
            if cached is not None and cached[0] == self._version:
                items = cached[1]
            else:
                items = [
                    o for o in self.store[object_type].values() if not o.archived and matches(o)
                ]
                if sorts:
                    s = sorts[0]
                    prop = s["propertyName"] if isinstance(s, dict) else str(s)
                    desc = isinstance(s, dict) and s.get("direction") == "DESCENDING"
                    items.sort(
                        key=lambda o: (_comparable(prop, o.properties.get(prop)) or 0, o.id),
                        reverse=desc,
                    )
                else:
                    items.sort(key=lambda o: o.id)
                self._search_cache[cache_key] = (self._version, items)
        after = int(req.get("after") or 0)
        if after >= self.search_cap:
            return 400, {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": f"paging beyond {self.search_cap} results is not supported",
            }
        chunk, nxt = self._page(items, int(req.get("limit") or 10), str(after))
        self._count(f"search:{object_type}", len(chunk))
        body: dict[str, Any] = {
            "total": len(items),
            "results": [o.as_json(req.get("properties") or None) for o in chunk],
        }
        if nxt:
            body["paging"] = {"next": {"after": nxt}}
        return 200, body

    def _associations(
        self, from_type: str, to_type: str, req: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        results = []
        with self._lock:
            objects = self.store.get(from_type, {})
            for item in req.get("inputs", []):
                obj = objects.get(str(item["id"]))
                if obj is None or not obj.associations.get(to_type):
                    continue
                results.append(
                    {
                        "from": {"id": obj.id},
                        "to": [
                            {
                                "toObjectId": t,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": None}
                                ],
                            }
                            for t in obj.associations[to_type]
                        ],
                    }
                )
        return 200, {"status": "COMPLETE", "results": results}

    def _owners(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        archived = (query.get("archived") or ["false"])[0] == "true"
        with self._lock:
            items = [o for o in self.owners if bool(o["archived"]) == archived]
        chunk, nxt = self._page(items, int((query.get("limit") or ["100"])[0]), _after(query))
        self._count("owners", len(chunk))
        body: dict[str, Any] = {"results": chunk}
        if nxt:
            body["paging"] = {"next": {"after": nxt}}
        return 200, body

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        payload = json.loads(body or b"{}") if method == "POST" else {}
        with self._lock:
            self.requests.append({"method": method, "path": path, "query": query, "body": payload})
        fault = self._take_fault(path)
        if fault is not None:
            extra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            msg = {429: "You have reached your secondly limit.", 401: "Authentication failed"}
            return (
                fault.status,
                extra,
                {"status": "error", "message": msg.get(fault.status, "internal error")},
            )
        if headers.get("authorization", "") != f"Bearer {self.token}":
            return (
                401,
                {},
                {
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
            )
        m = re.fullmatch(r"/crm/v3/objects/([a-z0-9_-]+)", path)
        if m and method == "GET":
            status, out = self._list(m.group(1), query)
            return status, {}, out
        m = re.fullmatch(r"/crm/v3/objects/([a-z0-9_-]+)/search", path)
        if m and method == "POST":
            status, out = self._search(m.group(1), payload)
            return status, {}, out
        m = re.fullmatch(r"/crm/v4/associations/([a-z0-9_-]+)/([a-z0-9_-]+)/batch/read", path)
        if m and method == "POST":
            status, out = self._associations(m.group(1), m.group(2), payload)
            return status, {}, out
        if path == "/crm/v3/owners" and method == "GET":
            status, out = self._owners(query)
            return status, {}, out
        return 404, {}, {"status": "error", "message": f"no route {method} {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle + delayed ACK
                # add 40 ms to every keep-alive request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, extra, out = server.handle(method, self.path, headers, body)
                except Exception as exc:  # a bug in the demo server is a 500, not a hang
                    log.exception("demo CRM server error")
                    status, extra, out = 500, {}, {"status": "error", "message": str(exc)}
                data = json.dumps(out).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug("demo CRM: " + format, *args)

        return Handler


# --------------------------------------------------------------------------- Odoo schema

_ODOO_DDL = """
create table {s}.res_currency (
    id serial primary key, name varchar(3) not null unique, active boolean default true,
    write_date timestamp not null default (now() at time zone 'utc'));
create table {s}.res_currency_rate (
    id serial primary key, name date not null, currency_id int not null references {s}.res_currency,
    company_id int default 1, rate numeric not null,
    create_date timestamp, write_date timestamp not null,
    unique (name, currency_id, company_id));
create table {s}.product_pricelist (
    id serial primary key, name varchar not null, currency_id int references {s}.res_currency);
create table {s}.account_payment_term (id serial primary key, name varchar not null);
create table {s}.account_payment_term_line (
    id serial primary key, payment_id int references {s}.account_payment_term, nb_days int);
create table {s}.res_partner (
    id serial primary key, name varchar, ref varchar, vat varchar, is_company boolean,
    customer_rank int default 0, supplier_rank int default 0, active boolean default true,
    property_payment_term_id int references {s}.account_payment_term,
    property_product_pricelist int references {s}.product_pricelist,
    credit_limit numeric, create_date timestamp, write_date timestamp not null);
create table {s}.product_category (id serial primary key, name varchar not null);
create table {s}.product_template (
    id serial primary key, name varchar not null, categ_id int references {s}.product_category,
    active boolean default true, create_date timestamp, write_date timestamp not null);
create table {s}.product_product (
    id serial primary key, product_tmpl_id int not null references {s}.product_template,
    default_code varchar, standard_price numeric, active boolean default true,
    create_date timestamp, write_date timestamp not null);
create table {s}.sale_order (
    id serial primary key, name varchar not null, partner_id int references {s}.res_partner,
    date_order timestamp not null, currency_id int references {s}.res_currency,
    state varchar not null, delivery_status varchar,
    create_date timestamp, write_date timestamp not null);
create table {s}.sale_order_line (
    id serial primary key, order_id int not null references {s}.sale_order on delete cascade,
    product_id int references {s}.product_product, product_uom_qty numeric,
    price_unit numeric, discount numeric default 0, purchase_price numeric,
    create_date timestamp, write_date timestamp not null);
create table {s}.account_move (
    id serial primary key, name varchar, move_type varchar not null,
    partner_id int references {s}.res_partner, invoice_origin varchar,
    invoice_date date, invoice_date_due date, currency_id int references {s}.res_currency,
    amount_total numeric, amount_residual numeric, payment_state varchar, state varchar,
    create_date timestamp, write_date timestamp not null);
create table {s}.account_payment (
    id serial primary key, name varchar, partner_id int references {s}.res_partner,
    payment_type varchar, amount numeric, currency_id int references {s}.res_currency,
    date timestamp, state varchar, create_date timestamp, write_date timestamp not null);
create table {s}.account_invoice_payment_rel (
    payment_id int references {s}.account_payment on delete cascade,
    invoice_id int references {s}.account_move on delete cascade,
    primary key (payment_id, invoice_id));
"""

#: Columns loaded per table (COPY order).
_COLS: dict[str, list[str]] = {
    "sale_order": (
        "id name partner_id date_order currency_id state delivery_status create_date write_date "
    ).split(),
    "sale_order_line": (
        "id order_id product_id product_uom_qty price_unit discount "
        "purchase_price create_date write_date "
    ).split(),
    "account_move": (
        "id name move_type partner_id invoice_origin invoice_date "
        "invoice_date_due currency_id amount_total amount_residual "
        "payment_state state create_date write_date "
    ).split(),
    "account_payment": (
        "id name partner_id payment_type amount currency_id date state create_date write_date "
    ).split(),
}

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema name {schema!r} must be lower-case letters, digits, '_'")
    return schema


def _naive(ts: Any) -> datetime | None:
    if ts is None or (isinstance(ts, float) and pd.isna(ts)):
        return None
    t = pd.Timestamp(ts)
    t = t.tz_convert(UTC) if t.tzinfo else t
    return t.tz_localize(None).to_pydatetime()


def _num(text: Any) -> int:
    return int(re.sub(r"\D", "", str(text)))


def _residual(amount: str, paid: float) -> str:
    return repr(max(round(float(amount) - float(paid), 2), 0.0))


def _copy(
    cur: Any, schema: str, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    from psycopg import sql

    stmt = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    with cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)


def load_odoo(conninfo: str, exports_dir: Path, schema: str = "odoo_demo") -> dict[str, int]:
    """(Re)create ``schema`` with the Odoo-shaped tables and load the demo ERP exports.

    Demo keys become Odoo's user-facing references (``res_partner.ref``, ``default_code``,
    ``sale_order.name``, ``account_move.name``, ``account_payment.name``); the numeric ids
    are the digits of the demo ids. Odoo stores rates as units of currency per one unit of
    the company currency, so ``rate = 1 / rate_to_base``; ``discount`` is a percentage.
    Returns rows loaded per table.
    """
    import psycopg
    from psycopg import sql

    s = _schema(schema)
    erp = read_exports(exports_dir, "erp")
    counts: dict[str, int] = {}
    with psycopg.connect(conninfo, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(s)))
        cur.execute(sql.SQL("create schema {}").format(sql.Identifier(s)))
        cur.execute(_ODOO_DDL.format(s=s))  # schema name checked against _SCHEMA_NAME

        fx = erp["fx_rates"]
        currencies = sorted(set(fx["currency"]) | set(erp["customers"]["currency"]))
        cur_id = {c: i for i, c in enumerate(currencies, start=1)}
        stamp = datetime(2020, 1, 1)
        _copy(
            cur,
            s,
            "res_currency",
            "id name write_date".split(),
            ((i, c, stamp) for c, i in cur_id.items()),
        )
        _copy(
            cur,
            s,
            "res_currency_rate",
            "name currency_id rate create_date write_date".split(),
            (
                (
                    r["rate_date"],
                    cur_id[r["currency"]],
                    repr(1 / float(r["rate_to_base"])),
                    _naive(r["rate_date"] + "T12:00:00Z"),
                    _naive(r["rate_date"] + "T12:00:00Z"),
                )
                for r in fx.to_dict("records")
            ),
        )
        counts["res_currency_rate"] = len(fx)
        _copy(
            cur,
            s,
            "product_pricelist",
            "id name currency_id".split(),
            ((i, f"Public {c}", i) for c, i in cur_id.items()),
        )

        customers = erp["customers"]
        terms = sorted({int(t) for t in customers["payment_terms_days"].dropna()})
        term_id = {t: i for i, t in enumerate(terms, start=1)}
        _copy(
            cur,
            s,
            "account_payment_term",
            "id name".split(),
            ((i, f"{t} Days") for t, i in term_id.items()),
        )
        _copy(
            cur,
            s,
            "account_payment_term_line",
            "payment_id nb_days".split(),
            ((i, t) for t, i in term_id.items()),
        )
        _copy(
            cur,
            s,
            "res_partner",
            [
                "id", "name", "ref", "vat", "is_company", "customer_rank",
                "property_payment_term_id", "property_product_pricelist", "credit_limit",
                "create_date", "write_date",
            ],
            (
                (
                    _num(r["customer_id"]), r["customer_name"], r["customer_id"], r["tax_id"],
                    True, 1,
                    term_id.get(int(r["payment_terms_days"])) if r["payment_terms_days"] else None,
                    cur_id.get(r["currency"]), r["credit_limit"],
                    _naive(r["created_at"]), _naive(r["updated_at"]),
                )
                for r in customers.to_dict("records")
            ),
        )  # fmt: skip
        counts["res_partner"] = len(customers)
        if len(customers):  # suppliers live in res_partner too (customer_rank = 0)
            n = len(customers)
            cur.execute(
                sql.SQL(
                    "insert into {}.res_partner (id, name, is_company, customer_rank, "
                    "supplier_rank, write_date) values (%s, %s, true, 0, 1, %s)"
                ).format(sql.Identifier(s)),
                (n + 1_000_000, "Demo Supplier Ltd", stamp),
            )

        products = erp["products"]
        categories = sorted(set(products["category"].dropna()))
        categ_id = {c: i for i, c in enumerate(categories, start=1)}
        _copy(cur, s, "product_category", "id name".split(), ((i, c) for c, i in categ_id.items()))
        _copy(
            cur,
            s,
            "product_template",
            "id name categ_id create_date write_date".split(),
            (
                (
                    _num(r["product_id"]),
                    r["product_name"],
                    categ_id.get(r["category"]),
                    stamp,
                    stamp,
                )
                for r in products.to_dict("records")
            ),
        )
        _copy(
            cur,
            s,
            "product_product",
            [
                "id",
                "product_tmpl_id",
                "default_code",
                "standard_price",
                "create_date",
                "write_date",
            ],
            (
                (
                    _num(r["product_id"]),
                    _num(r["product_id"]),
                    r["product_id"],
                    r["unit_cost"],
                    stamp,
                    stamp,
                )
                for r in products.to_dict("records")
            ),
        )
        counts["product_product"] = len(products)

        orders = erp["orders"]
        state = {
            "confirmed": ("sale", "pending"),
            "delivered": ("sale", "full"),
            "cancelled": ("cancel", None),
        }
        _copy(
            cur,
            s,
            "sale_order",
            _COLS["sale_order"],
            (
                (
                    _num(r["order_id"]), r["order_id"], _num(r["customer_id"]),
                    _naive(r["order_date"] + "T10:00:00Z"), cur_id[r["currency"]],
                    *state.get(r["status"], (r["status"], None)),
                    _naive(r["order_date"] + "T10:00:00Z"), _naive(r["updated_at"]),
                )
                for r in orders.to_dict("records")
            ),
        )  # fmt: skip
        counts["sale_order"] = len(orders)
        order_stamp = dict(zip(orders["order_id"], orders["updated_at"], strict=True))
        lines = erp["order_lines"]
        _copy(
            cur,
            s,
            "sale_order_line",
            _COLS["sale_order_line"],
            (
                (
                    _num(r["order_line_id"]), _num(r["order_id"]), _num(r["product_id"]),
                    r["quantity"], r["unit_price"],
                    repr(round(float(r["discount_pct"] or 0) * 100, 6)), r["unit_cost"],
                    _naive(order_stamp[r["order_id"]]), _naive(order_stamp[r["order_id"]]),
                )
                for r in lines.to_dict("records")
            ),
        )  # fmt: skip
        counts["sale_order_line"] = len(lines)

        invoices = erp["invoices"]
        paid = (
            erp["payments"]
            .groupby("invoice_id")["amount"]
            .apply(lambda a: sum(float(x) for x in a))
        )
        pay_state = {
            "paid": "paid",
            "partially_paid": "partial",
            "open": "not_paid",
            "overdue": "not_paid",
        }
        _copy(
            cur,
            s,
            "account_move",
            _COLS["account_move"],
            (
                (
                    _num(r["invoice_id"]), r["invoice_id"], "out_invoice", _num(r["customer_id"]),
                    r["order_id"], r["invoice_date"], r["due_date"], cur_id[r["currency"]],
                    r["amount"],
                    _residual(r["amount"], paid.get(r["invoice_id"], 0.0)),
                    pay_state.get(r["status"], r["status"]), "posted",
                    _naive(r["invoice_date"] + "T09:00:00Z"), _naive(r["updated_at"]),
                )
                for r in invoices.to_dict("records")
            ),
        )  # fmt: skip
        counts["account_move"] = len(invoices)
        payments = erp["payments"]
        _copy(
            cur,
            s,
            "account_payment",
            _COLS["account_payment"],
            (
                (
                    _num(r["payment_id"]), r["payment_id"], None, "inbound", r["amount"],
                    cur_id[r["currency"]], _naive(r["paid_at"]), "posted",
                    _naive(r["paid_at"]), _naive(r["paid_at"]),
                )
                for r in payments.to_dict("records")
            ),
        )  # fmt: skip
        _copy(
            cur,
            s,
            "account_invoice_payment_rel",
            "payment_id invoice_id".split(),
            ((_num(r["payment_id"]), _num(r["invoice_id"])) for r in payments.to_dict("records")),
        )
        counts["account_payment"] = len(payments)
        conn.commit()
    return counts


_ODOO_TABLES = {
    "res_partner",
    "res_currency_rate",
    "product_template",
    "product_product",
    "sale_order",
    "sale_order_line",
    "account_move",
    "account_payment",
}
_ODOO_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


def odoo_update(
    conninfo: str, schema: str, table: str, row_id: int, values: dict[str, Any], at: datetime
) -> None:
    """Update one row as Odoo would: the values and ``write_date = at`` (UTC)."""
    import psycopg
    from psycopg import sql

    if table not in _ODOO_TABLES or not all(_ODOO_COLUMN.match(c) for c in values):
        raise ValueError(f"table {table!r} or a column of {sorted(values)} is not allowed")
    assignments: list[sql.Composable] = [
        sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values
    ]
    assignments.append(sql.SQL("write_date = %s"))
    stmt = sql.SQL("update {}.{} set {} where id = %s").format(
        sql.Identifier(_schema(schema)), sql.Identifier(table), sql.SQL(", ").join(assignments)
    )
    with psycopg.connect(conninfo) as conn:
        conn.execute(stmt, [*values.values(), _naive(at), row_id])


def odoo_delete(conninfo: str, schema: str, table: str, row_id: int) -> None:
    """Hard-delete one row (Odoo's ``unlink``)."""
    import psycopg
    from psycopg import sql

    if table not in _ODOO_TABLES:
        raise ValueError(f"table {table!r} is not allowed")
    stmt = sql.SQL("delete from {}.{} where id = %s").format(
        sql.Identifier(_schema(schema)), sql.Identifier(table)
    )
    with psycopg.connect(conninfo) as conn:
        conn.execute(stmt, [row_id])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m kam_transforms.demo_serve")
    sub = parser.add_subparsers(dest="command", required=True)
    crm = sub.add_parser("crm", help="serve the demo CRM exports as a HubSpot-style API")
    crm.add_argument("--exports", type=Path, required=True)
    crm.add_argument("--port", type=int, default=8089)
    crm.add_argument("--token", default="demo-token")
    odoo = sub.add_parser("odoo", help="load the demo ERP exports into an Odoo-shaped schema")
    odoo.add_argument("--exports", type=Path, required=True)
    odoo.add_argument("--dsn", required=True)
    odoo.add_argument("--schema", default="odoo_demo")
    args = parser.parse_args(argv)
    if args.command == "crm":
        server = DemoCrmServer(args.exports, args.token, port=args.port).start()
        print(f"serving the demo CRM at {server.base_url} (Ctrl-C stops)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            server.stop()
    else:
        print(json.dumps(load_odoo(args.dsn, args.exports, args.schema), indent=2))


if __name__ == "__main__":
    main()
