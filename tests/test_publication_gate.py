"""Write-audit-publish: only validated builds reach the serving warehouse, atomically,
readers are never blocked, and a blocked run tells the data team."""

from __future__ import annotations

import email
import email.policy
import json
import multiprocessing as mp
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kam_transforms.cli import main as kam
from kam_transforms.config import Settings

pytestmark = pytest.mark.slow
AS_OF = date(2026, 10, 31)
DATES = [date(2026, 10, 29), date(2026, 10, 30), AS_OF]
LATER = [date(2026, 11, 1), date(2026, 11, 2)]  # runs after the first


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Demo data landed for three dates, built and published once as of AS_OF."""
    from kam_transforms.demo_data import generate
    from kam_transforms.extract import land_exports
    from kam_transforms.pipeline import dbt_build, publish_marts, validate_build

    home = tmp_path_factory.mktemp("kam")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KAM_HOME", str(home))
        patch.setenv("KAM_DATA_TEAM_EMAIL", "data-team@kam.example.com")
        settings = Settings.from_env()
        for day in DATES:  # one world, exported as known on each date
            generate(settings.exports_dir, 200, 5, day, anchor=AS_OF)
            land_exports(settings.exports_dir, settings.lake_dir, day)
        dbt_build(settings, AS_OF)
        validate_build(settings, AS_OF, "run-1")
        publish_marts(settings, AS_OF, "run-1")
        shutil.copy(settings.build_db, home / "pristine-build.duckdb")
        yield settings


@pytest.fixture
def settings(built: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The built home, with the build warehouse restored to its validated state."""
    monkeypatch.setenv("KAM_HOME", str(built.home))
    monkeypatch.setenv("KAM_DATA_TEAM_EMAIL", built.data_team_email)
    shutil.copy(built.home / "pristine-build.duckdb", built.build_db)
    return built


def tamper(settings: Settings, sql: str) -> None:
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute(sql)


def outbox_messages(settings: Settings, prefix: str) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(settings.outbox_dir.glob(f"{prefix}*.eml"))
    ]


def test_blocking_failure_keeps_serving_byte_identical_and_emails_the_data_team(
    settings: Settings,
) -> None:
    from kam_transforms.pipeline import validate_build
    from kam_transforms.validate import ValidationFailed

    before = settings.serving_db.read_bytes()
    tamper(settings, "update main.customer_tiers set abc_class = 'X' where measure_rank <= 3")
    with pytest.raises(ValidationFailed, match=r"3 of 200 rows") as failed:
        validate_build(settings, AS_OF, "run-blocked")
    assert [o.expectation for o in failed.value.report.blocking_failures] == [
        "expect_column_values_to_be_in_set"
    ]
    assert settings.serving_db.read_bytes() == before

    (mail,) = outbox_messages(settings, "kam.validation.20261031")
    assert mail["To"] == "data-team@kam.example.com"
    assert mail["Subject"] == "KAM run blocked 2026-10-31: 1 blocking expectation failed"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "customer_tiers.expect_column_values_to_be_in_set on abc_class: 3 of 200 rows" in body
    assert "e.g. X, X, X" in body

    with duckdb.connect(str(settings.audit_db), read_only=True) as con:
        failed_rows = con.execute(
            "select suite, expectation, column_name, unexpected_count from validation_runs "
            "where run_id = 'run-blocked' and not success"
        ).fetchall()
    assert failed_rows == [("customer_tiers", "expect_column_values_to_be_in_set", "abc_class", 3)]


def test_blocked_run_in_the_dag_order_never_touches_serving(settings: Settings) -> None:
    from kam_transforms.pipeline import publish_marts, validate_build
    from kam_transforms.validate import ValidationFailed

    before = settings.serving_db.read_bytes()
    previous_path = settings.serving_db.with_name("serving.duckdb.previous")
    previous = previous_path.read_bytes() if previous_path.exists() else None
    tamper(settings, "delete from main.customer_tiers where measure_rank % 3 <> 0")
    try:
        validate_build(settings, AS_OF, "run-shrunk")
        publish_marts(settings, AS_OF, "run-shrunk")
    except ValidationFailed as exc:
        assert "expect_table_row_count_to_be_between" in str(exc)  # a third of the rows left
    else:
        pytest.fail("a build that lost two thirds of its customers was published")
    assert settings.serving_db.read_bytes() == before
    assert (previous_path.read_bytes() if previous_path.exists() else None) == previous


def test_warning_only_failure_publishes_and_is_listed(settings: Settings) -> None:
    from kam_transforms.pipeline import publish_marts, validate_build

    tamper(settings, "update main.customer_tiers set gross_margin_t12m = gross_margin_t12m * 1.5")
    summary = validate_build(settings, AS_OF, "run-drift")
    assert summary["success"] is True
    assert summary["failed"] == []
    assert [w.split(":")[0] for w in summary["warnings"]] == [
        "customer_tiers.expect_column_sum_to_be_between on gross_margin_t12m"
    ]
    publish_marts(settings, AS_OF, "run-drift")
    with duckdb.connect(str(settings.serving_db), read_only=True) as con:
        assert con.execute("select run_id from _kam_publish_log").fetchone() == ("run-drift",)
        severities = con.execute(
            "select severity, count(*) from validation_runs where run_id = 'run-drift' "
            "and not success group by 1"
        ).fetchall()
    assert severities == [("warning", 1)]


def test_rollback_restores_the_previous_version(settings: Settings) -> None:
    from kam_transforms.pipeline import publish_marts, validate_build

    def published_run() -> str:
        with duckdb.connect(str(settings.serving_db), read_only=True) as con:
            return con.execute("select run_id from _kam_publish_log").fetchone()[0]

    validate_build(settings, AS_OF, "run-a")
    publish_marts(settings, AS_OF, "run-a")
    validate_build(settings, AS_OF, "run-b")
    publish_marts(settings, AS_OF, "run-b")
    assert published_run() == "run-b"
    assert kam(["publish", "--rollback"]) == 0
    assert published_run() == "run-a"


def test_data_docs_site_lists_every_suite(settings: Settings) -> None:
    from kam_transforms.validate import data_docs_index

    index = data_docs_index(settings.gx_root)
    html = index.read_text(encoding="utf-8")
    for suite in ("customer_tiers", "dim_customers", "fct_order_lines", "key_account_alerts"):
        assert (index.parent / "expectations" / f"{suite}.html").exists()
        assert suite in html


def _reader(serving: str, stop: str, out: str) -> None:  # pragma: no cover - other process
    """A BI tool: open read-only, read two tables, close; record what it saw."""
    seen, errors = [], []
    deadline = time.monotonic() + 900  # only if the test dies: it stops them by `stop`
    while not Path(stop).exists() and time.monotonic() < deadline:
        try:
            with duckdb.connect(serving, read_only=True) as con:
                log = con.execute("select as_of, run_id from _kam_publish_log").fetchone()
                tiers = con.execute("select distinct as_of_date from customer_tiers").fetchall()
                alerts = con.execute(
                    "select count(*), count(distinct as_of_date) from key_account_alerts"
                ).fetchone()
            seen.append([str(log[0]), log[1], sorted(str(t[0]) for t in tiers), alerts[1]])
        except Exception as exc:  # noqa: BLE001 - every error is the finding
            errors.append(repr(exc))
        time.sleep(0.02)  # a BI tool's pace, leaving the cores to the pipeline it reads
    Path(out).write_text(json.dumps({"seen": seen, "errors": errors}), encoding="utf-8")


def test_readers_see_old_or_new_never_a_mix_and_never_block(settings: Settings) -> None:
    from kam_transforms.pipeline import dbt_build, publish_marts, validate_build

    stop = settings.home / "stop-readers"
    stop.unlink(missing_ok=True)
    ctx = mp.get_context("spawn")
    outs = [settings.home / f"reader-{i}.json" for i in range(3)]
    readers = [
        ctx.Process(target=_reader, args=(str(settings.serving_db), str(stop), str(out)))
        for out in outs
    ]
    for reader in readers:
        reader.start()
    try:
        time.sleep(2)
        for day in LATER:  # the whole pipeline, twice, while they read
            dbt_build(settings, day)
            validate_build(settings, day, f"run-{day}")
            publish_marts(settings, day, f"run-{day}")
    finally:
        stop.touch()
        for reader in readers:
            reader.join(60)

    seen_runs: set[str] = set()
    for out in outs:
        result = json.loads(out.read_text(encoding="utf-8"))
        assert result["errors"] == []
        assert len(result["seen"]) > 10
        for as_of, run_id, tier_dates, alert_dates in result["seen"]:
            assert tier_dates == [as_of], (run_id, tier_dates)  # one version per read
            assert alert_dates <= 1
            seen_runs.add(run_id)
    assert {f"run-{d}" for d in LATER} & seen_runs, seen_runs


def test_data_docs_render_in_headless_chromium(settings: Settings, tmp_path: Path) -> None:
    from browser import dump_dom, ink, screenshot

    from kam_transforms.validate import data_docs_index

    index = data_docs_index(settings.gx_root)
    dom = dump_dom(index.as_uri())
    for suite in ("customer_tiers", "dim_customers", "fct_order_lines", "key_account_alerts"):
        assert suite in dom
    runs = index.parent / "validations" / "customer_tiers"
    page = next((runs / "kam-2026-10-31").rglob("*.html"))
    result = dump_dom(page.as_uri())
    for text in ("Expectation Validation Result", "Evaluated Expectations", "abc_class",
                 "kam-2026-10-31"):
        assert text in result
    # styles and scripts come from the vendored npm packages (kam_transforms.datadocs), offline
    png = screenshot(page.as_uri(), tmp_path / "customer_tiers.png")
    colours, inked = ink(png)
    assert colours > 50 and inked > 0.01, (colours, inked)
