"""The owner directory (file drop crm/owner_directory) and HubSpot owners with teams.

Landing: rows name a landed owner by owner_id or e-mail; bad rows (unknown owner, two owners,
invalid e-mail, malformed locale, no owner named) are quarantined with their reasons and
rows in = landed + quarantined. No export lands nothing; before any owner it fails. With the
HubSpot connector the directory still comes from the file drop, and the HubSpot owners land
their primary team and no manager or locale (the owners API v3 has neither), against the
demo HubSpot server on loopback; ticket categories that count as complaints. The end-to-end
path (directory -> warehouse -> digest) is in
tests/test_documented_options_run.py.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from kam_transforms.entities import entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.run import ordered_entities, run_extract

AS_OF = date(2026, 10, 31)
OWNERS = (
    "owner_id,full_name,email,manager_email,locale,is_active\n"
    "OWN-1,Ann Lee,ann.lee@example.com,,en,true\n"
    "OWN-2,王伟,wei.wang@example.com,,en,true\n"
    "OWN-3,Bob Gone,bob.gone@example.com,,en,false\n"
    "OWN-4,Cat Ng,cat.ng@example.com,,en,true\n"
    "OWN-5,Dan Ito,dan.ito@example.com,,en,true\n"
    "OWN-6,Eve Ma,eve.ma@example.com,,en,true\n"
)
# (owner_id, email, manager_email, locale, team) and the reason rule each row must get; one
# row per owner (a key repeated in a batch is quarantined as a duplicate, bad rows included)
DIRECTORY = [
    ("OWN-1", "", "Boss.One@Example.com", "en-GB", "Europe", None),
    ("", "WEI.WANG@example.com", "li.boss@example.com", "zh_cn", "Greater China", None),
    ("OWN-3", "", "", "", "Alumni", None),  # inactive owners are still owners
    ("OWN-9", "", "x@example.com", "en", "", "unknown_owner"),
    ("", "nobody@example.com", "x@example.com", "en", "", "unknown_owner"),
    ("OWN-4", "wei.wang@example.com", "", "", "", "owner_mismatch"),
    ("OWN-5", "", "not-an-address", "", "", "invalid_email"),
    ("OWN-6", "", "", "Chinese!", "", "invalid_locale"),
    ("", "", "x@example.com", "en", "", "owner_not_named"),
]


def _drop(root: Path, directory: list[tuple] | None) -> Path:
    crm = root / "exports" / "crm"
    crm.mkdir(parents=True)
    (crm / "owners.csv").write_text(OWNERS, encoding="utf-8")
    if directory is not None:
        lines = ["owner_id,email,manager_email,locale,team"]
        lines += [",".join(row[:5]) for row in directory]
        (crm / "owner_directory.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "exports"


def _land(exports: Path, lake: Path, name: str) -> dict:
    return run_extract(FileDropConnector(exports), entity("crm", name), lake, AS_OF)


def test_directory_rows_land_and_bad_rows_are_quarantined_with_reasons(tmp_path: Path) -> None:
    exports, lake = _drop(tmp_path, DIRECTORY), tmp_path / "lake"
    _land(exports, lake, "owners")
    summary = _land(exports, lake, "owner_directory")

    bad = [row for row in DIRECTORY if row[5]]
    assert summary["rows_in"] == len(DIRECTORY) == 9
    assert summary["rows_landed"] == 3 and summary["rows_quarantined"] == len(bad) == 6
    assert summary["rows_in"] == summary["rows_landed"] + summary["rows_quarantined"]
    assert summary["quarantine_reasons"] == {
        "unknown_owner": 2, "owner_mismatch": 1, "invalid_email": 1, "invalid_locale": 1,
        "owner_not_named": 1,
    }  # fmt: skip

    landed = pq.read_table(summary["path"]).to_pandas().set_index("owner_id")
    assert sorted(landed.index) == ["OWN-1", "OWN-2", "OWN-3"]  # OWN-2 resolved by e-mail
    assert landed.loc["OWN-1", "manager_email"] == "boss.one@example.com"  # lower-cased
    assert landed.loc["OWN-1", "locale"] == "en-GB"
    assert landed.loc["OWN-2", "locale"] == "zh-CN"  # canonical tag
    assert landed.loc["OWN-2", "email"] == "wei.wang@example.com"
    assert landed.loc["OWN-2", "team"] == "Greater China"

    quarantined = pq.read_table(summary["quarantine_path"]).to_pandas().sort_values("_row_number")
    expected_rows = [i + 1 for i, row in enumerate(DIRECTORY) if row[5]]
    assert list(quarantined["_row_number"]) == expected_rows
    reasons = list(quarantined["_reason"])
    assert reasons[0] == "owner_id 'OWN-9' is not a live crm/owners owner"
    assert reasons[1] == "email 'nobody@example.com' is not the e-mail of a live crm/owners owner"
    assert reasons[2] == (
        "owner_id 'OWN-4' and email 'wei.wang@example.com' name two owners "
        "(the e-mail is owner 'OWN-2''s)"
    )
    assert reasons[3] == "manager_email is not an e-mail address: 'not-an-address'"
    assert reasons[4] == "locale is not a language tag such as en or zh-CN: 'Chinese!'"
    assert reasons[5] == "neither owner_id nor email names the owner"
    assert all(quarantined["_source_file"].str.endswith("owner_directory.csv"))


def test_no_directory_export_lands_nothing_and_the_directory_needs_owners(tmp_path: Path) -> None:
    exports, lake = _drop(tmp_path, None), tmp_path / "lake"
    summary = _land(exports, lake, "owner_directory")
    assert summary["rows_in"] == 0 and summary["batch_id"] is None
    assert summary["skipped"].startswith("optional entity, no export")
    assert not (lake / "raw" / "crm" / "owner_directory").exists()

    other = tmp_path / "other"
    exports = _drop(other, DIRECTORY[:1])
    with pytest.raises(ExtractError, match="no crm/owners batch landed on or before 2026-10-31.*"
                       "land crm/owners first"):  # fmt: skip
        _land(exports, other / "lake", "owner_directory")
    # the landing order puts it after every CRM entity (and fx rates first)
    order = [e.qualified_name for e in ordered_entities()]
    assert order[0] == "erp/fx_rates" and order[-1] == "crm/owner_directory"


def test_the_directory_comes_from_the_file_drop_with_the_hubspot_connector(
    kam_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kam_transforms.config import Settings
    from kam_transforms.extract import extract

    monkeypatch.setenv("KAM_CRM_CONNECTOR", "hubspot")
    monkeypatch.setenv("KAM_HUBSPOT_BASE_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("KAM_HUBSPOT_TOKEN", "unused")
    settings = Settings.from_env()
    _drop(kam_home, DIRECTORY[:2])
    _land(settings.exports_dir, settings.lake_dir, "owners")
    summary = extract(settings, AS_OF, "crm", "owner_directory")
    assert summary["connector"] == "files"
    assert (summary["rows_landed"], summary["rows_quarantined"]) == (2, 0)


# --------------------------------------------------------------------------- HubSpot owners

#: HubSpot's owners API v3 model (hubspot-api-client ``PublicOwner.attribute_map`` and
#: ``PublicTeam``): the only fields the demo server may serve.
PUBLIC_OWNER = {"id", "email", "firstName", "lastName", "userId", "createdAt", "updatedAt",
                "archived", "teams"}  # fmt: skip
PUBLIC_TEAM = {"id", "name", "primary"}


@pytest.mark.services
def test_hubspot_owners_land_their_team_and_no_invented_manager_or_locale(tmp_path: Path) -> None:
    from kam_transforms.demo_data import generate
    from kam_transforms.demo_serve import DemoCrmServer
    from kam_transforms.extract.hubspot import HubSpotConnector

    exports, lake, token = tmp_path / "exports", tmp_path / "lake", "demo-token"
    generate(exports, customers=50, seed=11, as_of=AS_OF)
    directory = pd.read_csv(exports / "crm" / "owner_directory.csv", dtype=str)
    owners = pd.read_csv(exports / "crm" / "owners.csv", dtype=str)
    team_of = dict(zip(directory["email"].str.lower(), directory["team"], strict=True))

    with DemoCrmServer(exports, token) as server:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{server.base_url}/crm/v3/owners?limit=100",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            served = json.load(resp)["results"]
        assert served and all(set(o) <= PUBLIC_OWNER for o in served)
        assert all(set(t) == PUBLIC_TEAM for o in served for t in o["teams"])
        summary = run_extract(
            HubSpotConnector(server.base_url, token), entity("crm", "owners"), lake, AS_OF
        )

    got = pq.read_table(summary["path"]).to_pandas().set_index("owner_id")
    assert summary["rows_landed"] == len(owners) == len(got)
    assert got["manager_email"].isna().all() and got["locale"].isna().all()
    expected = {o: team_of[e.lower()] for o, e in zip(owners["owner_id"], owners["email"],
                                                      strict=True)}  # fmt: skip
    assert got["team"].to_dict() == expected
    assert set(got["team"]) == {"Americas", "Europe", "Asia Pacific", "Greater China"}
    # one id per team name, the same for every owner of the team
    assert got.groupby("team")["team_id"].nunique().eq(1).all() and got["team_id"].notna().all()


@pytest.mark.services
def test_hubspot_ticket_categories_that_count_as_complaints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hs_ticket_category`` COMPLAINT lands as ``complaint`` (what the complaint rule
    reads); ``KAM_HUBSPOT_COMPLAINT_CATEGORIES`` names others for portals without it."""
    from kam_transforms.demo_data import generate
    from kam_transforms.demo_serve import DemoCrmServer
    from kam_transforms.extract.hubspot import HubSpotConnector

    exports, token = tmp_path / "exports", "demo-token"
    generate(exports, customers=50, seed=11, as_of=AS_OF)
    export = pd.read_csv(exports / "crm" / "tickets.csv", dtype=str).set_index("ticket_id")
    assert {"complaint", "incident"} <= set(export["category"])
    monkeypatch.setenv("KAM_HUBSPOT_COMPLAINT_CATEGORIES", "incident, Complaint")
    with DemoCrmServer(exports, token) as server:
        default = run_extract(
            HubSpotConnector(server.base_url, token, complaint_categories=("COMPLAINT",)),
            entity("crm", "tickets"), tmp_path / "a", AS_OF,
        )  # fmt: skip
        mapped = run_extract(
            HubSpotConnector(server.base_url, token), entity("crm", "tickets"), tmp_path / "b",
            AS_OF,
        )  # fmt: skip
    plain = pq.read_table(default["path"]).to_pandas().set_index("ticket_id")
    assert plain["category"].to_dict() == export["category"].to_dict()
    assert plain["hs_ticket_category"].to_dict() == export["category"].str.upper().to_dict()
    both = pq.read_table(mapped["path"]).to_pandas().set_index("ticket_id")
    expected = export["category"].where(~export["category"].eq("incident"), "complaint")
    assert both["category"].to_dict() == expected.to_dict()
    incidents = export.index[export["category"] == "incident"]
    assert set(both.loc[incidents, "hs_ticket_category"]) == {"INCIDENT"}
