"""The documented options work end to end, and the owner directory reaches the digests.

One module-scoped run, the way ``kam run`` runs (``kam_transforms.pipeline.run_all``: every
extract, ``dbt build`` of the whole project with its data and unit tests, Great Expectations,
publish, alerts as ``.eml`` files) on the 100-customer demo with ``abc_measure: revenue``.
``abc_measure`` is the only enumerated dbt var (``gross_margin`` | ``revenue``,
dbt_project.yml and dbt_project/README.md); ``gross_margin``, the default, is what every
other build in the suite uses (the session ``build`` fixture), so together they build each
documented value. An undocumented value fails at compile time, naming the var.

The demo's owner directory (``crm/owner_directory.csv``, by e-mail) is edited before the run:
every owner gets a manager only the directory knows, every second English-speaking owner the
locale zh-CN, and two rows name no landed owner (quarantined). The digests must follow the
directory: each owner's digest is in the directory's locale and copies the directory's
manager exactly when it holds a high-severity alert.
"""

from __future__ import annotations

import email
import json
from dataclasses import dataclass
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

AS_OF = date(2026, 10, 31)
CUSTOMERS = 100
SEED = 11
VARS = {"abc_measure": "revenue"}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Run:
    home: Path
    result: dict[str, Any]
    directory: pd.DataFrame  # what the edited directory says, by owner e-mail
    directory_extract: dict[str, Any]
    settings: Any

    def serving(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.settings.serving_db), read_only=True) as con:
            return con.execute(sql).df()


def _edit_directory(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    en = frame.index[frame["locale"] == "en"]
    frame.loc[en[::2], "locale"] = "zh_CN"  # a spelling the landing makes canonical
    frame["manager_email"] = "dir." + frame["email"].str.split("@").str[0] + "@managers.example.com"
    bad = pd.DataFrame(
        [
            {"owner_id": "", "email": "ghost@example.com", "manager_email": "", "locale": "en",
             "team": ""},
            {"owner_id": "OWN-999", "email": "", "manager_email": "", "locale": "", "team": ""},
        ]
    )  # fmt: skip
    pd.concat([frame, bad]).to_csv(path, index=False)
    return frame.set_index("email")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    from kam_transforms import demo_data
    from kam_transforms.config import Settings
    from kam_transforms.pipeline import run_all

    home = tmp_path_factory.mktemp("options_run") / "kam"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("KAM_EXPORTS_DIR", "KAM_LAKE_DIR", "KAM_BUILD_DB", "KAM_SERVING_DB",
                    "KAM_OUTBOX_DIR", "KAM_REPORTS_DIR", "KAM_AUDIT_DB", "KAM_GX_ROOT",
                    "KAM_CRM_CONNECTOR", "KAM_ERP_CONNECTOR", "KAM_SNOOZE_FILE"):  # fmt: skip
            mp.delenv(var, raising=False)
        mp.setenv("KAM_HOME", str(home))
        mp.setenv("KAM_ALERTS_DELIVERY", "eml")
        settings = Settings.from_env()
        demo_data.generate(settings.exports_dir, CUSTOMERS, SEED, AS_OF)
        directory = _edit_directory(settings.exports_dir / "crm" / "owner_directory.csv")
        result = run_all(settings, AS_OF, dbt_vars=VARS)
    state = json.loads(
        (settings.lake_dir / "_state" / "crm" / "owner_directory.json").read_text("utf-8")
    )
    return Run(home, result, directory, state, settings)


# --------------------------------------------------------------------------- abc_measure


def test_revenue_measure_builds_validates_and_publishes(run: Run) -> None:
    build_id = run.result["build_id"]
    published = run.serving("select cast(as_of as varchar) as day, build_id from _kam_publish_log")
    assert list(published.itertuples(index=False, name=None)) == [(AS_OF.isoformat(), build_id)]
    with duckdb.connect(str(run.settings.audit_db), read_only=True) as con:
        status = con.execute(
            "select status from main._kam_validations where build_id = ? order by seq desc",
            [build_id],
        ).fetchone()
        recorded = con.execute(
            "select * from main._kam_run_config where build_id = ?", [build_id]
        ).df()
    assert status == ("passed",)
    assert "revenue" in json.dumps(recorded.astype(str).to_dict("records"))

    tiers = run.serving(
        "select t.customer_id, t.abc_measure, t.measure_value, t.measure_rank, t.abc_class, "
        "f.revenue_t12m, f.gross_margin_t12m from customer_tiers t "
        "join customer_facts f using (customer_id)"
    )
    assert len(tiers) > CUSTOMERS * 0.9 and set(tiers["abc_measure"]) == {"revenue"}
    # the classes are computed on trailing revenue, not margin
    assert (tiers["measure_value"] - tiers["revenue_t12m"].fillna(0)).abs().max() < 1e-6
    assert (tiers["measure_value"] != tiers["gross_margin_t12m"].fillna(0)).sum() > CUSTOMERS / 2
    ranked = tiers.sort_values("measure_rank")
    assert ranked["measure_value"].is_monotonic_decreasing
    # class A holds the largest revenues: no B or C customer out-earns the smallest A
    a = tiers.loc[tiers["abc_class"] == "A", "measure_value"]
    assert len(a) > 0 and (tiers.loc[tiers["abc_class"] != "A", "measure_value"] <= a.max()).all()
    alerts = run.serving("select rule_id, reason from key_account_alerts")
    tier_reasons = alerts.loc[alerts["rule_id"].isin(
        ["promoted_to_class_a", "dropped_out_of_class_a"]), "reason"]  # fmt: skip
    assert not tier_reasons.str.contains("gross margin").any()
    assert run.result["alerts"]["digests_written"] >= 3


def test_an_undocumented_abc_measure_fails_naming_the_var(tmp_path: Path, run: Run) -> None:
    from dbt_build import run_dbt

    proc = run_dbt(
        ["compile", "--select", "customer_tiers", "--vars", json.dumps({"abc_measure": "profit"})],
        run.settings.lake_dir, tmp_path / "compile.duckdb", tmp_path,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "var abc_measure must be gross_margin or revenue, got profit" in proc.stdout


# --------------------------------------------------------------------------- owner directory


def _digests(run: Run) -> dict[str, EmailMessage]:
    out: dict[str, EmailMessage] = {}
    for path in sorted(run.settings.outbox_dir.glob("kam.*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.SMTP)
        assert isinstance(msg, EmailMessage)
        (to,) = msg["To"].addresses
        if to.addr_spec != run.settings.data_team_email:
            out[to.addr_spec] = msg
    return out


def test_the_directory_landed_and_quarantined_its_unknown_owners(run: Run) -> None:
    details = run.directory_extract["runs"][AS_OF.isoformat()]  # the extract's record
    assert details["rows_in"] == len(run.directory) + 2
    assert details["rows_landed"] == len(run.directory)
    assert details["rows_quarantined"] == 2 and details["quarantine_reasons"] == {
        "unknown_owner": 2}  # fmt: skip
    owners = run.serving(
        "select distinct owner_email, owner_locale, manager_email, owner_team, "
        "owner_directory_match from dim_customers where owner_email is not null"
    ).set_index("owner_email")
    for address, row in owners.iterrows():
        expected = run.directory.loc[address]
        assert row["manager_email"] == expected["manager_email"], address
        assert row["owner_locale"] == ("zh-CN" if expected["locale"] != "en" else "en"), address
        assert row["owner_team"] == expected["team"] and row["owner_directory_match"], address


def test_directory_manager_is_copied_and_directory_locale_gives_zh_cn_digests(run: Run) -> None:
    digests = _digests(run)
    alerts = run.serving(
        "select owner_email, severity from key_account_alerts where owner_is_active"
    )
    high = set(alerts.loc[alerts["severity"] == "high", "owner_email"])
    owners_mailed = [a for a in digests if a in run.directory.index]
    assert len(owners_mailed) >= 3
    flipped = [a for a in owners_mailed if run.directory.loc[a, "locale"] == "zh_CN"]
    assert flipped, "no owner whose locale only the directory sets received a digest"
    copied = 0
    for address in owners_mailed:
        msg, wanted = digests[address], run.directory.loc[address]
        locale = "en" if wanted["locale"] == "en" else "zh-CN"
        assert msg["Content-Language"] == locale, address
        cc = [a.addr_spec for a in msg["Cc"].addresses] if msg["Cc"] else []
        if address in high:
            assert cc == [wanted["manager_email"]], address
            copied += 1
        else:
            assert cc == [], address
    assert copied >= 1
    for address in flipped:  # Chinese subject and body, from the directory's locale alone
        msg = digests[address]
        body = msg.get_body(("html",))
        assert body is not None
        text = body.get_content()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(msg["Subject"])), address
        assert "关键客户" in text or "客户" in text, address
