"""HubSpot CRM v3 connector: companies, contacts, deals, calls/meetings/emails, tickets,
feedback submissions and owners into the canonical CRM entities, incrementally.

How it reads (and why):

- **Changed records** come from the search endpoint,
  ``POST /crm/v3/objects/<type>/search`` with ``<last-modified> GT <watermark ms>`` and
  ``LT <end of the as-of day>``, sorted ascending, ``after`` paging. Listing
  (``GET /crm/v3/objects/<type>``) cannot filter, so every run would download the whole
  portal; search returns only what changed. Search stops at 10,000 results per query, so
  the reader restarts the query from the last timestamp seen (``GTE``, ids already read
  skipped) when it gets there.
- **Associations** (a deal's company, a survey's contact) are not returned by search; they
  come from ``POST /crm/v4/associations/<from>/<to>/batch/read`` for the ids just read.
- **Soft deletes**: archived records are listed with ``GET ...?archived=true`` (search
  never returns them) and those archived inside the window land with ``is_deleted = true``.
- **Owners** (``GET /crm/v3/owners``, active and ``archived=true``) are few: every run lands
  them all; archived owners are ``is_active = false``. The API has no manager or locale
  (they land empty; the owner directory file drop supplies them) and, where the portal has
  teams, ``teams`` (the primary one lands as ``team`` and ``team_id``).
- **Batches**: the records are read page by page while the landing consumes them and handed
  over as Arrow record batches of at most ``batch_rows`` (``KAM_EXTRACT_BATCH_ROWS``) rows
  (:mod:`kam_transforms.extract.batches`); associations are read per batch. What grows with
  the portal is only the set of ids one search has returned (to skip repeats after a
  restart at the result cap), never the records.
- **Failures**: 429 waits ``Retry-After`` (else exponential backoff), 5xx and connection
  errors back off exponentially, both up to ``max_retries``; 401/403 stop at once with
  :class:`HubSpotAuthError`. The token is sent only in the ``Authorization`` header and
  never logged or put in a message.

The property names of each canonical column are in :data:`PROPERTIES`; HubSpot has no
standard property for a few (``kam_region``, ``kam_erp_customer_id``, ``kam_is_active``,
``kam_competitor``): create them as custom properties in the portal, or change the table.

**Account plans** are a HubSpot *custom object* (HubSpot has no standard object for them),
read like any object through ``/crm/v3/objects/{objectType}`` (search, and the archived
listing): ``objectType`` is the custom object's ``objectTypeId`` (``2-<n>``) or its fully
qualified name, as ``GET /crm/v3/schemas`` lists it; default ``p_kam_account_plans``, set
another with the connection extra ``account_plans_object`` or ``KAM_HUBSPOT_PLAN_OBJECT``.
Its properties are in ``PROPERTIES["account_plans"]`` (``kam_period_start`` ...), the
company comes from the plan's association to ``companies``. A portal without the object (HTTP
404 on its search) has no plans: the batch lands empty.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from kam_transforms.entities import Entity
from kam_transforms.extract.batches import batch_rows as batch_rows_setting
from kam_transforms.extract.batches import batched, record_batch
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.landing import Part
from kam_transforms.extract.run import Fetched, Window
from kam_transforms.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:  # imported when a record is first read, not when a task imports the extract path
    pd = lazy("pandas")

__all__ = [
    "OBJECTS",
    "PROPERTIES",
    "HubSpotAuthError",
    "HubSpotClient",
    "HubSpotConnector",
    "HubSpotError",
    "HubSpotNotFound",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
TOKEN_ENV = "KAM_HUBSPOT_TOKEN"  # noqa: S105 - the variable's name, not a token
BASE_URL_ENV = "KAM_HUBSPOT_BASE_URL"
PLAN_OBJECT_ENV = "KAM_HUBSPOT_PLAN_OBJECT"
#: The account-plan custom object's type (its fully qualified name or objectTypeId).
DEFAULT_PLAN_OBJECT = "p_kam_account_plans"
#: HubSpot ``hs_ticket_category`` values (internal names, comma-separated) that land as the
#: canonical category ``complaint`` (default ``COMPLAINT``), for portals that file complaints
#: under another category (``PRODUCT_ISSUE`` ...).
COMPLAINT_CATEGORIES_ENV = "KAM_HUBSPOT_COMPLAINT_CATEGORIES"


class HubSpotError(ExtractError):
    """The HubSpot API failed (after retries) or answered something unusable."""


class HubSpotAuthError(HubSpotError):
    """HubSpot refused the token (401) or its scopes (403): retrying cannot help."""


class HubSpotNotFound(HubSpotError):
    """HubSpot answered 404: the object type (a custom object) does not exist in the portal."""


@dataclass(frozen=True)
class ObjectSpec:
    """One HubSpot object type read for a canonical entity."""

    object_type: str
    cursor: str = "hs_lastmodifieddate"
    associations: tuple[str, ...] = ("companies",)


#: HubSpot object types per canonical entity (owners have their own endpoint).
OBJECTS: dict[str, tuple[ObjectSpec, ...]] = {
    "accounts": (ObjectSpec("companies", associations=()),),
    "contacts": (ObjectSpec("contacts", cursor="lastmodifieddate"),),
    "activities": (ObjectSpec("calls"), ObjectSpec("meetings"), ObjectSpec("emails")),
    "opportunities": (ObjectSpec("deals"),),
    "tickets": (ObjectSpec("tickets"),),
    "surveys": (ObjectSpec("feedback_submissions", associations=("companies", "contacts")),),
    # a custom object; HubSpotConnector puts the portal's object type in place of this one
    "account_plans": (ObjectSpec(DEFAULT_PLAN_OBJECT),),
}

#: Canonical column <- HubSpot property, per canonical entity (ids and associations aside).
PROPERTIES: dict[str, dict[str, str]] = {
    "accounts": {
        "account_name": "name",
        "industry": "industry",
        "region": "kam_region",
        "country": "country",
        "employee_count": "numberofemployees",
        "owner_id": "hubspot_owner_id",
        "parent_account_id": "hs_parent_company_id",
        "erp_customer_id": "kam_erp_customer_id",
        "created_at": "createdate",
        "updated_at": "hs_lastmodifieddate",
        "owner_assigned_at": "hubspot_owner_assigneddate",
    },
    "contacts": {
        "account_id": "associatedcompanyid",
        "firstname": "firstname",
        "lastname": "lastname",
        "role": "jobtitle",
        "hs_buying_role": "hs_buying_role",
        "is_active": "kam_is_active",
        "updated_at": "lastmodifieddate",
    },
    "activities": {
        "owner_id": "hubspot_owner_id",
        "occurred_at": "hs_timestamp",
        "hs_activity_type": "hs_activity_type",
    },
    "opportunities": {
        "stage": "dealstage",
        "amount": "amount",
        "currency": "deal_currency_code",
        "probability": "hs_deal_stage_probability",
        "expected_close_date": "closedate",
        "closed_won_at": "hs_date_entered_closedwon",
        "closed_lost_at": "hs_date_entered_closedlost",
        "is_won": "hs_is_closed_won",
        "lost_reason": "closed_lost_reason",
        "competitor": "kam_competitor",
        "updated_at": "hs_lastmodifieddate",
    },
    "tickets": {
        "category": "hs_ticket_category",
        "priority": "hs_ticket_priority",
        "status": "hs_pipeline_stage",
        "opened_at": "createdate",
        "resolved_at": "closed_date",
    },
    "surveys": {
        "survey_type": "hs_survey_type",
        "score": "hs_value",
        "responded_at": "hs_submission_timestamp",
    },
    "account_plans": {
        "owner_id": "hubspot_owner_id",
        "period_start": "kam_period_start",
        "period_end": "kam_period_end",
        "revenue_target": "kam_revenue_target",
        "margin_target": "kam_margin_target",
        "currency": "kam_currency",
        "objective": "kam_objective",
        "status": "kam_status",
        "updated_at": "hs_lastmodifieddate",
    },
}

_KEYS = {
    "accounts": "account_id",
    "contacts": "contact_id",
    "activities": "activity_id",
    "opportunities": "opportunity_id",
    "tickets": "ticket_id",
    "surveys": "response_id",
    "account_plans": "plan_id",
}
#: HubSpot's default deal pipeline stages -> canonical stages (others pass through).
DEAL_STAGES = {
    "appointmentscheduled": "qualification",
    "qualifiedtobuy": "qualification",
    "presentationscheduled": "needs_analysis",
    "decisionmakerboughtin": "proposal",
    "contractsent": "negotiation",
    "closedwon": "closed_won",
    "closedlost": "closed_lost",
}
#: HubSpot's default support pipeline stages -> canonical ticket status.
TICKET_STAGES = {"1": "open", "2": "in_progress", "3": "resolved", "4": "closed"}
_ACTIVITY_TYPES = {"calls": "call", "emails": "email", "meetings": "meeting"}
_OWNER_COLUMNS = ("owner_id", "full_name", "email", "manager_email", "locale", "is_active")


def _lower(v: Any) -> str | None:
    return str(v).lower() if v not in (None, "") else None


def _canonical_row(
    entity_name: str,
    spec: ObjectSpec,
    obj: dict[str, Any],
    assoc: dict[str, str],
    complaint: frozenset[str] = frozenset({"COMPLAINT"}),
) -> dict[str, Any]:
    """One HubSpot record as a canonical row (plus ``is_deleted``)."""
    p = obj.get("properties") or {}
    row: dict[str, Any] = {c: p.get(prop) for c, prop in PROPERTIES[entity_name].items()}
    row[_KEYS[entity_name]] = str(obj["id"])
    row["is_deleted"] = "true" if obj.get("archived") else "false"
    if entity_name == "accounts":
        row["created_at"] = row["created_at"] or obj.get("createdAt")
        row["updated_at"] = row["updated_at"] or obj.get("updatedAt")
    elif entity_name == "contacts":
        first, last = row.pop("firstname"), row.pop("lastname")
        row["full_name"] = " ".join(x for x in (first, last) if x) or None
        role = row.pop("hs_buying_role") or ""
        row["is_decision_maker"] = "true" if "DECISION_MAKER" in role.split(";") else "false"
        row["account_id"] = row["account_id"] or assoc.get("companies")
        row["updated_at"] = row["updated_at"] or obj.get("updatedAt")
    elif entity_name == "activities":
        kind = _lower(row.pop("hs_activity_type"))
        base = _ACTIVITY_TYPES[spec.object_type]
        row["activity_type"] = kind if base == "meeting" and kind in ("visit", "event") else base
        row["account_id"] = assoc.get("companies")
    elif entity_name == "opportunities":
        won, lost = row.pop("closed_won_at"), row.pop("closed_lost_at")
        row["stage"] = DEAL_STAGES.get(row["stage"], row["stage"])
        row["closed_at"] = won or lost
        row["account_id"] = assoc.get("companies")
        row["updated_at"] = row["updated_at"] or obj.get("updatedAt")
    elif entity_name == "tickets":
        raw = row["category"]
        row["hs_ticket_category"] = raw  # carried through: what the portal said
        is_complaint = raw not in (None, "") and str(raw).strip().upper() in complaint
        row["category"] = "complaint" if is_complaint else _lower(raw)
        row["priority"] = _lower(row["priority"])
        row["status"] = TICKET_STAGES.get(row["status"], row["status"])
        row["opened_at"] = row["opened_at"] or obj.get("createdAt")
        row["account_id"] = assoc.get("companies")
    elif entity_name == "surveys":
        row["survey_type"] = _lower(row["survey_type"])
        row["account_id"] = assoc.get("companies")
        row["contact_id"] = assoc.get("contacts")
    elif entity_name == "account_plans":
        row["status"] = _lower(row["status"])
        row["period_start"] = _date_text(row["period_start"])
        row["period_end"] = _date_text(row["period_end"])
        row["account_id"] = assoc.get("companies")
        row["updated_at"] = row["updated_at"] or obj.get("updatedAt")
    return row


def _date_text(value: Any) -> str | None:
    """A HubSpot date property (``2026-01-01``, or midnight UTC in ms) as ``YYYY-MM-DD``."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC).strftime("%Y-%m-%d")
    return text[:10]


def _ms(ts: datetime) -> int:
    return int(ts.astimezone(UTC).timestamp() * 1000)


def _parse_ts(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    ts = pd.Timestamp(text)
    return (ts.tz_localize(UTC) if ts.tzinfo is None else ts.tz_convert(UTC)).to_pydatetime()


@dataclass
class HubSpotClient:
    """A small HubSpot API client: bearer auth, retries, cursor paging."""

    base_url: str
    token: str = field(repr=False)
    timeout: float = 30.0
    max_retries: int = 6
    backoff: float = 1.0
    max_wait: float = 60.0
    page_size: int = 100
    search_cap: int = 10_000
    sleep: Callable[[float], None] = time.sleep
    stats: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import requests

        self.base_url = self.base_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        )

    def _bump(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call with retries; returns the JSON body."""
        import requests

        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            self._bump("requests")
            try:
                resp = self._session.request(
                    method, url, params=params, json=body, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.max_retries:
                    raise HubSpotError(
                        f"HubSpot {method} {path}: {type(exc).__name__} "
                        f"after {attempt + 1} attempts"
                    ) from None
                wait = min(self.backoff * 2**attempt, self.max_wait)
                log.warning(
                    "HubSpot %s %s: %s; retrying in %.1fs", method, path, type(exc).__name__, wait
                )
                self._bump("retries")
                self.sleep(wait)
                continue
            status = resp.status_code
            if status in (401, 403):
                detail = _message(resp)
                raise HubSpotAuthError(
                    f"HubSpot refused {method} {path}: HTTP {status} ({detail}); check the token "
                    f"and its scopes in the Airflow connection crm_hubspot (or {TOKEN_ENV})"
                )
            if status == 429 or status >= 500:
                if attempt == self.max_retries:
                    raise HubSpotError(
                        f"HubSpot {method} {path}: HTTP {status} after {attempt + 1} "
                        f"attempts ({_message(resp)})"
                    )
                retry_after = resp.headers.get("Retry-After")
                wait = self.backoff * 2**attempt
                if status == 429 and retry_after:
                    try:
                        wait = float(retry_after)
                    except ValueError:
                        pass
                wait = min(wait, self.max_wait)
                log.warning("HubSpot %s %s: HTTP %d; retrying in %.1fs", method, path, status, wait)
                self._bump("retries")
                self._bump(f"http_{status}")
                self.sleep(wait)
                continue
            if status == 404:
                raise HubSpotNotFound(f"HubSpot {method} {path}: HTTP 404 ({_message(resp)})")
            if status >= 400:
                raise HubSpotError(f"HubSpot {method} {path}: HTTP {status} ({_message(resp)})")
            data: dict[str, Any] = resp.json()
            return data
        raise HubSpotError(f"HubSpot {method} {path}: no answer")  # pragma: no cover

    def search(
        self, spec: ObjectSpec, properties: list[str], since: datetime | None, until: datetime
    ) -> Iterator[dict[str, Any]]:
        """Records of ``spec.object_type`` modified in ``(since, until)``, oldest first."""
        lower_op, lower = "GT", _ms(since) if since else None
        seen: set[str] = set()
        while True:
            filters = [{"propertyName": spec.cursor, "operator": "LT", "value": str(_ms(until))}]
            if lower is not None:
                filters.append(
                    {"propertyName": spec.cursor, "operator": lower_op, "value": str(lower)}
                )
            after: str | None = None
            last_ts: int | None = None
            restart = False
            read = 0
            while True:
                body: dict[str, Any] = {
                    "filterGroups": [{"filters": filters}],
                    "sorts": [{"propertyName": spec.cursor, "direction": "ASCENDING"}],
                    "properties": properties,
                    "limit": self.page_size,
                }
                if after:
                    body["after"] = after
                page = self.request("POST", f"/crm/v3/objects/{spec.object_type}/search", body=body)
                self._bump("pages")
                results = page.get("results", [])
                read += len(results)
                for obj in results:
                    ts = _parse_ts(
                        (obj.get("properties") or {}).get(spec.cursor) or obj.get("updatedAt")
                    )
                    last_ts = _ms(ts) if ts else last_ts
                    if str(obj["id"]) in seen:
                        continue
                    seen.add(str(obj["id"]))
                    yield obj
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not after and read >= int(page.get("total") or 0):
                    return
                if not after or int(after) >= self.search_cap:
                    restart = True
                    break
            if restart:
                if last_ts is None or (lower_op == "GTE" and last_ts == lower):
                    raise HubSpotError(
                        f"HubSpot search on {spec.object_type}: more than {self.search_cap} "
                        "records share one modification time; cannot page further"
                    )
                lower_op, lower = "GTE", last_ts

    def list_objects(
        self, object_type: str, properties: list[str], archived: bool
    ) -> Iterator[dict[str, Any]]:
        """Every record of a type (``archived`` ones or live ones), by ``after`` cursor."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "limit": self.page_size,
                "archived": "true" if archived else "false",
                "properties": ",".join(properties),
            }
            if after:
                params["after"] = after
            page = self.request("GET", f"/crm/v3/objects/{object_type}", params=params)
            self._bump("pages")
            yield from page.get("results", [])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def owners(self, archived: bool) -> Iterator[dict[str, Any]]:
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "limit": self.page_size,
                "archived": "true" if archived else "false",
            }
            if after:
                params["after"] = after
            page = self.request("GET", "/crm/v3/owners", params=params)
            self._bump("pages")
            yield from page.get("results", [])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def associations(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, str]:
        """The first associated ``to_type`` id per record id (v4 batch read, 1,000 at a time)."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 1000):
            chunk = ids[i : i + 1000]
            page = self.request(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                body={"inputs": [{"id": x} for x in chunk]},
            )
            for r in page.get("results", []):
                targets = r.get("to") or []
                if targets:
                    out[str(r["from"]["id"])] = str(targets[0]["toObjectId"])
        return out


def _archived_in(obj: dict[str, Any], window: Window) -> bool:
    """An archived record archived (else last updated) inside the window."""
    at = _parse_ts(obj.get("archivedAt")) or _parse_ts(obj.get("updatedAt"))
    return bool(at and (window.since is None or at > window.since) and at < window.until)


@dataclass
class _Read:
    """What a streamed fetch has seen so far: the largest modification time."""

    cursor_max: datetime | None = None


def _message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.reason or ""
    return (
        str(body.get("category") or "")
        + (": " if body.get("category") else "")
        + str(body.get("message") or "")[:200]
    )


class HubSpotConnector:
    """The CRM entities from a HubSpot portal (or the demo server), incrementally."""

    name = "hubspot"
    incremental = True

    def __init__(
        self,
        base_url: str,
        token: str,
        plan_object: str | None = None,
        complaint_categories: tuple[str, ...] | None = None,
        batch_rows: int | None = None,
        **client_options: Any,
    ) -> None:
        self.plan_object = plan_object or os.environ.get(PLAN_OBJECT_ENV) or DEFAULT_PLAN_OBJECT
        if complaint_categories is None:
            raw = os.environ.get(COMPLAINT_CATEGORIES_ENV, "")
            complaint_categories = tuple(c for c in raw.split(",") if c.strip()) or ("COMPLAINT",)
        self.complaint = frozenset(c.strip().upper() for c in complaint_categories)
        if not token:
            raise HubSpotAuthError(
                f"no HubSpot token: set the Airflow connection crm_hubspot (password or extra "
                f"'token') or {TOKEN_ENV}"
            )
        self.client = HubSpotClient(base_url, token, **client_options)
        #: The most records handed to the landing at once (and read per associations group).
        self.batch_rows = batch_rows_setting(batch_rows)

    @classmethod
    def from_airflow_or_env(
        cls, conn_id: str = "crm_hubspot", **client_options: Any
    ) -> HubSpotConnector:
        """Token and base URL from the Airflow connection ``conn_id`` (password or extra
        ``token``; host, or extra ``base_url``), else ``KAM_HUBSPOT_TOKEN`` /
        ``KAM_HUBSPOT_BASE_URL``. Call it inside the task, never at DAG parse time."""
        token = os.environ.get(TOKEN_ENV, "")
        base_url = os.environ.get(BASE_URL_ENV, DEFAULT_BASE_URL)
        plan_object = os.environ.get(PLAN_OBJECT_ENV) or None
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
            token = conn.password or extra.get("token") or token
            plan_object = str(extra.get("account_plans_object") or "") or plan_object
            if extra.get("base_url"):
                base_url = str(extra["base_url"])
            elif conn.host:
                host = (
                    conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
                )
                base_url = f"{host}:{conn.port}" if conn.port else host
        return cls(base_url, token, plan_object=plan_object, **client_options)

    def specs(self, entity_name: str) -> tuple[ObjectSpec, ...]:
        """The HubSpot object types read for a canonical entity (the plan object configured)."""
        if entity_name == "account_plans":
            return (ObjectSpec(self.plan_object),)
        return OBJECTS[entity_name]

    def _owners(self) -> Iterator[dict[str, Any]]:
        """Owners as HubSpot's owners API v3 has them (``PublicOwner``: id, email, firstName,
        lastName, userId, createdAt, updatedAt, archived, teams). It has no manager and no
        locale: ``manager_email`` and ``locale`` land empty (the owner directory,
        ``crm/owner_directory``, supplies them); ``team``/``team_id`` are the owner's primary
        team (``teams[].primary``, else the first), empty where the portal has no teams."""
        for archived in (False, True):
            for o in self.client.owners(archived):
                name = " ".join(x for x in (o.get("firstName"), o.get("lastName")) if x) or None
                teams = [t for t in o.get("teams") or [] if isinstance(t, dict)]
                team = next((t for t in teams if t.get("primary")), teams[0] if teams else {})
                yield {
                    "owner_id": str(o["id"]),
                    "full_name": name,
                    "email": o.get("email"),
                    "manager_email": None,
                    "locale": None,
                    "is_active": "false" if o.get("archived") or archived else "true",
                    "team": team.get("name"),
                    "team_id": str(team["id"]) if team.get("id") is not None else None,
                }

    def fetch(self, ent: Entity, window: Window) -> Fetched:
        """The window's records as one part of record batches of at most ``batch_rows`` rows,
        read page by page while the landing consumes them.

        The first page is read here (the columns are those of the first record); the rest
        when the landing iterates the part. ``cursor_max`` and ``stats`` of the returned
        :class:`Fetched` are filled in once the part has been read (``run_extract`` reads
        them after landing).
        """
        before = dict(self.client.stats)
        counts: dict[str, int] = {}
        read = _Read()
        if ent.name == "owners":
            rows: Iterator[dict[str, Any]] = self._owners()
            columns = [*_OWNER_COLUMNS, "team", "team_id"]
            origin = f"{self.client.base_url}/crm/v3/owners"
            first = next(rows, None)
        else:
            if ent.name not in OBJECTS:
                raise ExtractError(
                    f"{ent.source}/{ent.name}: HubSpot has no object for this entity"
                )
            specs = self.specs(ent.name)
            rows = self._records(ent.name, specs, window, counts, read)
            types = ",".join(s.object_type for s in specs)
            origin = f"{self.client.base_url}/crm/v3/objects/{types}"
            first = next(rows, None)
            # every record of an entity has the same canonical columns: the first's
            columns = list(dict.fromkeys([*ent.columns, "is_deleted", *(first or [])]))
        fetched = Fetched(frame=None, origin=origin)
        size = self.batch_rows

        def chunks() -> Iterator[Any]:
            stream = chain([first] if first is not None else [], rows)
            n = 0
            for group in batched(stream, size):
                n += len(group)
                yield record_batch(columns, [tuple(r.get(c) for c in columns) for r in group])
            if ent.name == "owners":
                counts["owners"] = n
            fetched.cursor_max = read.cursor_max
            fetched.stats = self._stats(before, counts)

        fetched.parts = [Part(origin, tuple(columns), chunks)]
        return fetched

    def _records(
        self,
        entity_name: str,
        specs: tuple[ObjectSpec, ...],
        window: Window,
        counts: dict[str, int],
        read: _Read,
    ) -> Iterator[dict[str, Any]]:
        """Canonical rows of every spec: the changed live records, then the archived ones,
        in groups of at most ``batch_rows`` (one associations read per group)."""
        properties = sorted(set(PROPERTIES[entity_name].values()) | {"hs_object_id"})
        for spec in specs:
            props = sorted(set(properties) | {spec.cursor})
            live = self.client.search(spec, props, window.since, window.until)
            try:
                head = next(live, None)
            except HubSpotNotFound:
                if entity_name != "account_plans":
                    raise
                # A portal without the plan object has no plans (the entity is optional).
                log.warning("HubSpot has no object %s: no account plans", spec.object_type)
                counts[f"{spec.object_type}_absent"] = 1
                continue
            live_objects = chain([head] if head is not None else [], live)
            archived = (
                obj
                for obj in self.client.list_objects(spec.object_type, props, archived=True)
                if _archived_in(obj, window)
            )
            for kind, objects in (("", live_objects), ("_archived", archived)):
                key = f"{spec.object_type}{kind}"
                counts[key] = 0
                for group in batched(objects, self.batch_rows):
                    counts[key] += len(group)
                    yield from self._rows(entity_name, spec, group, window, read)

    def _rows(
        self,
        entity_name: str,
        spec: ObjectSpec,
        objects: list[dict[str, Any]],
        window: Window,
        read: _Read,
    ) -> Iterator[dict[str, Any]]:
        """One group of records as canonical rows, with their associations; tracks the
        largest modification time before the window's end."""
        ids = [str(o["id"]) for o in objects]
        assoc = {
            to: self.client.associations(spec.object_type, to, ids) for to in spec.associations
        }
        for obj in objects:
            oid = str(obj["id"])
            yield _canonical_row(
                entity_name,
                spec,
                obj,
                {to: m[oid] for to, m in assoc.items() if oid in m},
                self.complaint,
            )
            stamps = [
                _parse_ts((obj.get("properties") or {}).get(spec.cursor)),
                _parse_ts(obj.get("updatedAt")),
            ]
            if obj.get("archived"):
                stamps.append(_parse_ts(obj.get("archivedAt")))
            for ts in stamps:
                if ts is not None and ts < window.until and (
                    read.cursor_max is None or ts > read.cursor_max
                ):
                    read.cursor_max = ts

    def _stats(self, before: dict[str, int], records: dict[str, int]) -> dict[str, Any]:
        delta = {k: v - before.get(k, 0) for k, v in self.client.stats.items()}
        return {**delta, "records": records}
