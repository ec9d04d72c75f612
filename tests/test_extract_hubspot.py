"""HubSpot connector against the demo CRM server on loopback: paging, 429/500 retries,
exactly-once, incremental by last-modified, archived records as soft deletes, 401 stops."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kam_transforms.demo_data import generate
from kam_transforms.demo_serve import PLAN_OBJECT_TYPE, DemoCrmServer
from kam_transforms.entities import ENTITIES, entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.hubspot import HubSpotAuthError, HubSpotConnector
from kam_transforms.extract.run import LOOKBACK_ENV, run_extract
from kam_transforms.extract.state import WatermarkStore

pytestmark = pytest.mark.services

AS_OF = date(2026, 10, 31)
NEXT = date(2026, 11, 1)
TOKEN = "pat-na1-secret-token-0123456789"  # noqa: S105 - the test server's token
# The owner directory is a file drop whatever the CRM connector (no CRM API has one).
CRM = [e for e in ENTITIES if e.source == "crm" and not e.file_drop_only]  # plans: a custom object
#: Owner columns HubSpot's owners API does not have: they land empty.
NOT_IN_HUBSPOT = {"owners": ("manager_email", "locale")}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crm_exports")
    generate(out, customers=50, seed=11, as_of=AS_OF)
    return out


def landed(lake: Path, name: str, day: date) -> pd.DataFrame:
    files = list((lake / "raw" / "crm" / name / f"as_of={day}").glob("*.parquet"))
    assert len(files) == 1
    return pq.read_table(files[0]).to_pandas()


def test_full_then_incremental_extract_with_faults(
    exports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOOKBACK_ENV, "0")  # exactly the changes; the overlap has its own test
    lake = tmp_path / "lake"
    run_extract(FileDropConnector(exports), entity("erp", "fx_rates"), lake, AS_OF, validate=False)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    with DemoCrmServer(exports, TOKEN, page_limit_max=50) as server:
        server.inject(429, retry_after=2, path_contains="/deals/search")
        server.inject(500, path_contains="/crm/v3/objects/companies")
        connector = HubSpotConnector(
            server.base_url, TOKEN, page_size=50, backoff=0.01, sleep=sleep
        )

        # ---- first run: everything, every record exactly once, equal to the export
        for ent in CRM:
            summary = run_extract(connector, ent, lake, AS_OF)
            expected = pd.read_csv(
                exports / "crm" / f"{ent.name}.csv", dtype=str, keep_default_na=False
            )
            got = landed(lake, ent.name, AS_OF)
            assert summary["rows_quarantined"] == 0, summary["quarantine_reasons"]
            assert len(got) == len(expected) == summary["rows_landed"], ent.name
            assert got[ent.key[0]].is_unique
            absent = NOT_IN_HUBSPOT.get(ent.name, ())
            assert got[list(absent)].isna().all().all(), ent.name  # never invented
            cols = [c for c in expected.columns if c in got.columns and c not in absent]
            assert cols == [c for c in expected.columns if c not in absent], ent.name
            got_cmp = got[cols].fillna("").sort_values(ent.key[0]).reset_index(drop=True)
            exp_cmp = expected[cols].sort_values(ent.key[0]).reset_index(drop=True)
            pd.testing.assert_frame_equal(got_cmp, exp_cmp, check_dtype=False, obj=ent.name)
        assert waits.count(2.0) == 1  # the 429's Retry-After was honoured
        assert connector.client.stats["http_429"] == 1
        assert connector.client.stats["http_500"] == 1
        pages = server.served
        assert pages["search:deals"] == len(landed(lake, "opportunities", AS_OF))
        assert sum(1 for r in server.requests if r["path"].endswith("/deals/search")) >= 4

        # ---- changes after the first run
        server.reset_log()
        server.update("deals", "OPP-00000001", {"amount": "999.5"}, at="2026-11-01T10:00:00Z")
        server.update("contacts", "CON-00000002", {"jobtitle": "COO"}, at="2026-11-01T11:00:00Z")
        server.create(
            "companies",
            "ACC-9000001",
            {"name": "新客户有限公司", "kam_region": "Greater China", "country": "CN"},
            at="2026-11-01T12:00:00Z",
        )
        server.archive("tickets", "TIC-00000001", at="2026-11-01T13:00:00Z")
        server.update("deals", "OPP-00000002", {"amount": "1"}, at="2026-11-02T09:00:00Z")  # later
        plan = sorted(server.store[PLAN_OBJECT_TYPE])[0]  # the custom object changes too
        server.update(
            PLAN_OBJECT_TYPE, plan, {"kam_revenue_target": "123000"}, at="2026-11-01T14:00:00Z"
        )

        results = {ent.name: run_extract(connector, ent, lake, NEXT) for ent in CRM}
        assert {n: r["rows_landed"] for n, r in results.items()} == {
            "accounts": 1,
            "owners": 10,  # owners are few: every run lands all of them
            "contacts": 1,
            "activities": 0,
            "opportunities": 1,
            "tickets": 1,
            "surveys": 0,
            "account_plans": 1,
        }
        changed_plan = landed(lake, "account_plans", NEXT).iloc[0]
        assert (changed_plan["plan_id"], changed_plan["revenue_target"]) == (plan, "123000")
        deal = landed(lake, "opportunities", NEXT).iloc[0]
        assert (deal["opportunity_id"], deal["amount"]) == ("OPP-00000001", "999.5")
        assert landed(lake, "contacts", NEXT).iloc[0]["role"] == "COO"
        assert landed(lake, "accounts", NEXT).iloc[0]["account_name"] == "新客户有限公司"
        ticket = landed(lake, "tickets", NEXT).iloc[0]
        assert (ticket["ticket_id"], ticket["is_deleted"]) == ("TIC-00000001", "true")
        # the search endpoint returned only the changed records (OPP-2 changed after as-of)
        searched = {k: v for k, v in server.served.items() if k.startswith("search:") and v}
        assert searched == {
            "search:contacts": 1,
            "search:deals": 1,
            "search:companies": 1,
            f"search:{PLAN_OBJECT_TYPE}": 1,
        }
        state = WatermarkStore(lake).load(entity("crm", "opportunities"))
        assert state["watermark"] == "2026-11-01T10:00:00+00:00"

        # ---- a rerun of the same date lands the same batch again
        again = run_extract(connector, entity("crm", "opportunities"), lake, NEXT)
        assert again["batch_id"] == results["opportunities"]["batch_id"]
        assert landed(lake, "opportunities", NEXT)["opportunity_id"].tolist() == ["OPP-00000001"]


def test_a_portal_without_the_plan_object_lands_no_plans(exports: Path, tmp_path: Path) -> None:
    """The account-plan custom object is optional: HubSpot's 404 for an unknown object type
    lands an empty batch; the object type is configurable (KAM_HUBSPOT_PLAN_OBJECT)."""
    plans = entity("crm", "account_plans")
    for lake in (tmp_path / "lake", tmp_path / "lake2"):
        run_extract(FileDropConnector(exports), entity("erp", "fx_rates"), lake, AS_OF)
    with DemoCrmServer(exports, TOKEN) as server:
        other = HubSpotConnector(server.base_url, TOKEN, plan_object="2-424242", backoff=0.01)
        result = run_extract(other, plans, tmp_path / "lake", AS_OF)
        assert (result["rows_in"], result["rows_landed"]) == (0, 0)
        assert [r["path"] for r in server.requests if "2-424242" in r["path"]] == [
            "/crm/v3/objects/2-424242/search"
        ]
        # the configured name reads the served object
        named = HubSpotConnector(server.base_url, TOKEN, plan_object=PLAN_OBJECT_TYPE)
        served = run_extract(named, plans, tmp_path / "lake2", AS_OF)
        exported = pd.read_csv(exports / "crm" / "account_plans.csv", dtype=str)
        assert served["rows_landed"] == len(exported) > 0


def test_401_stops_at_once_without_leaking_the_token(exports: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with DemoCrmServer(exports, TOKEN) as server:
        wrong = HubSpotConnector(server.base_url, "pat-na1-wrong-token", backoff=0.01)
        with pytest.raises(HubSpotAuthError, match="HTTP 401.*crm_hubspot") as info:
            run_extract(wrong, entity("crm", "accounts"), lake, AS_OF)
        assert "wrong-token" not in str(info.value)
        assert wrong.client.stats["requests"] == 1  # no retries on 401

        good = HubSpotConnector(server.base_url, TOKEN, backoff=0.01)
        server.inject(401)
        with pytest.raises(HubSpotAuthError):
            run_extract(good, entity("crm", "owners"), lake, AS_OF)
        server.inject(403)  # a token without the scope: no retries either
        with pytest.raises(HubSpotAuthError, match="HTTP 403"):
            run_extract(good, entity("crm", "tickets"), lake, AS_OF)
        assert good.client.stats["requests"] == 2
    assert not (lake / "raw").exists()
    assert WatermarkStore(lake).watermark(entity("crm", "accounts")) is None


def test_token_from_airflow_connection_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": 8089, "schema": "http"}
    monkeypatch.setenv("AIRFLOW_CONN_CRM_HUBSPOT", json.dumps(conn | {"password": "from-conn"}))
    c = HubSpotConnector.from_airflow_or_env()
    assert (c.client.base_url, c.client.token) == ("http://127.0.0.1:8089", "from-conn")
    assert "from-conn" not in repr(c.client)
    monkeypatch.setenv("AIRFLOW_CONN_CRM_HUBSPOT", json.dumps(conn | {"extra": {"token": "x2"}}))
    assert HubSpotConnector.from_airflow_or_env().client.token == "x2"  # noqa: S105
    monkeypatch.delenv("AIRFLOW_CONN_CRM_HUBSPOT")
    monkeypatch.setenv("KAM_HUBSPOT_TOKEN", "from-env")
    monkeypatch.setenv("KAM_HUBSPOT_BASE_URL", "http://127.0.0.1:1")
    c = HubSpotConnector.from_airflow_or_env()
    assert (c.client.base_url, c.client.token) == ("http://127.0.0.1:1", "from-env")
    monkeypatch.delenv("KAM_HUBSPOT_TOKEN")
    with pytest.raises(HubSpotAuthError, match="no HubSpot token"):
        HubSpotConnector.from_airflow_or_env()


def test_search_past_the_result_cap_restarts_from_the_last_timestamp(exports: Path) -> None:
    from datetime import UTC, datetime

    from kam_transforms.extract.run import Window

    expected = pd.read_csv(exports / "crm" / "activities.csv", dtype=str)
    with DemoCrmServer(exports, TOKEN, search_cap=40) as server:
        connector = HubSpotConnector(server.base_url, TOKEN, page_size=20, search_cap=40)
        window = Window(AS_OF, None, datetime(2026, 11, 1, tzinfo=UTC), Path("unused"))
        fetched = connector.fetch(entity("crm", "activities"), window)
        got = pd.concat(
            [pa.Table.from_batches([b]).to_pandas() if isinstance(b, pa.RecordBatch) else b
             for part in fetched.parts for b in part.chunks()]  # fmt: skip
        )
        restarts = [
            r for r in server.requests if r["path"].endswith("/search") and "after" not in r["body"]
        ]
    assert sorted(got["activity_id"]) == sorted(expected["activity_id"])  # each exactly once
    assert len(restarts) > len(expected) // 40  # the cap was hit and the query restarted


def test_a_change_indexed_late_inside_the_look_back_lands(exports: Path, tmp_path: Path) -> None:
    """HubSpot's search index can show a change stamped 09:40 after one stamped 10:00 was
    read: the next run reads from the watermark less the look-back (60 min) and lands it."""
    lake = tmp_path / "lake"
    run_extract(FileDropConnector(exports), entity("erp", "fx_rates"), lake, AS_OF, validate=False)
    deals = entity("crm", "opportunities")
    later = date(2026, 11, 2)
    with DemoCrmServer(exports, TOKEN) as server:
        connector = HubSpotConnector(server.base_url, TOKEN, backoff=0.01, sleep=lambda _s: None)
        run_extract(connector, deals, lake, AS_OF)
        server.update("deals", "OPP-00000001", {"amount": "999.5"}, at="2026-11-01T10:00:00Z")
        first = run_extract(connector, deals, lake, NEXT)
        assert first["watermark"] == "2026-11-01T10:00:00+00:00"
        server.update("deals", "OPP-00000002", {"amount": "1"}, at="2026-11-01T09:40:00Z")
        second = run_extract(connector, deals, lake, later)
    assert second["since"] == "2026-11-01T09:00:00+00:00"
    assert second["watermark"] == first["watermark"]
    got = landed(lake, "opportunities", later).set_index("opportunity_id")["amount"]
    assert got.to_dict() == {"OPP-00000001": "999.5", "OPP-00000002": "1"}


def test_small_batches_land_what_one_batch_lands(exports: Path, tmp_path: Path) -> None:
    """With 50-record batches (20-record pages) an extract lands exactly the rows, the
    quarantined rows (reasons, row numbers) and the batch id of a one-batch extract; the
    connector never hands the landing more than 50 rows at once."""
    from dataclasses import replace
    from datetime import UTC, datetime

    class Spy(HubSpotConnector):
        """Records the size and kind of every batch the connector hands to the landing."""

        sizes: list[tuple[int, bool]]

        def fetch(self, ent, window):
            fetched = super().fetch(ent, window)
            (part,) = fetched.parts

            def chunks():
                for b in part.chunks():
                    self.sizes.append((b.num_rows, isinstance(b, pa.RecordBatch)))
                    yield b

            fetched.parts = [replace(part, chunks=chunks)]
            return fetched

    base = tmp_path / "base"
    run_extract(FileDropConnector(exports), entity("erp", "fx_rates"), base, AS_OF, validate=False)
    loaded = datetime(2026, 11, 1, 6, tzinfo=UTC)
    names = ("opportunities", "activities", "owners")
    results: dict[str, dict[str, dict]] = {}
    with DemoCrmServer(exports, TOKEN) as server:
        # bad rows in the first pages and the last, and an archived deal (a soft delete)
        deals = sorted(server.store["deals"])
        for oid in (deals[1], deals[-2]):
            server.update("deals", oid, {"amount": "-5"}, at="2026-10-30T10:00:00Z")
        server.update("deals", deals[40], {"hs_deal_stage_probability": "7"},
                      at="2026-10-30T10:30:00Z")  # fmt: skip
        server.archive("deals", deals[60], at="2026-10-30T11:00:00Z")
        small = Spy(server.base_url, TOKEN, page_size=20, batch_rows=50, backoff=0.01)
        one = Spy(server.base_url, TOKEN, page_size=20, batch_rows=1_000_000, backoff=0.01)
        for label, connector in (("small", small), ("one", one)):
            connector.sizes = []
            shutil.copytree(base, tmp_path / label)
            results[label] = {
                n: run_extract(connector, entity("crm", n), tmp_path / label, AS_OF,
                               loaded_at=loaded)  # fmt: skip
                for n in ("owners", "opportunities", "activities")
            }
    deals_run = results["small"]["opportunities"]
    assert deals_run["rows_in"] > 100 and deals_run["rows_quarantined"] == 3
    assert deals_run["quarantine_reasons"] == {"negative_amount": 2, "probability_out_of_range": 1}
    assert results["small"]["activities"]["rows_in"] > 100
    for name in names:
        ours, theirs = results["small"][name], results["one"][name]
        for key in ("batch_id", "rows_in", "rows_landed", "rows_quarantined",
                    "quarantine_reasons", "watermark"):  # fmt: skip
            assert ours[key] == theirs[key], (name, key)
        assert ours["stats"]["records"] == theirs["stats"]["records"], name
        for zone in ("raw", "quarantine"):
            folder = f"{zone}/crm/{name}/as_of={AS_OF}"
            got, want = (list((tmp_path / label / folder).glob("*.parquet"))
                         for label in ("small", "one"))  # fmt: skip
            assert len(got) == len(want), (name, zone)
            if got:
                pd.testing.assert_frame_equal(
                    pq.read_table(got[0]).to_pandas(), pq.read_table(want[0]).to_pandas(),
                    obj=f"{name} {zone}")  # fmt: skip
    archived = landed(tmp_path / "small", "opportunities", AS_OF).set_index("opportunity_id")
    assert archived.loc[deals[60], "is_deleted"] == "true"
    quarantined = pq.read_table(
        next((tmp_path / "small" / f"quarantine/crm/opportunities/as_of={AS_OF}").glob("*.parquet"))
    ).to_pandas()
    assert sorted(quarantined["opportunity_id"]) == sorted([deals[1], deals[40], deals[-2]])
    # the batches: all Arrow, never more than the setting; one per spec and kind otherwise
    assert all(is_arrow for _, is_arrow in small.sizes + one.sizes)
    assert max(n for n, _ in small.sizes) == 50
    total = sum(r["rows_in"] for r in results["small"].values())
    assert sum(n for n, _ in small.sizes) == sum(n for n, _ in one.sizes) == total
    assert len(small.sizes) >= total // 50 + 1
    assert len(one.sizes) == len(names)  # the whole entity in one batch
