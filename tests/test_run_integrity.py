"""Run integrity with real processes: concurrent publishes, ``kam run`` against ``kam
publish``, build ids that validate and publish check, alerts that refuse another date's
warehouse, a SIGKILLed and a SIGTERMed ``kam build`` taking dbt with them, the alert state's
errors naming the file, and ``kam run``'s JSON alone on stdout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kam_transforms.config import Settings

pytestmark = pytest.mark.slow
AS_OF = date(2026, 10, 31)
NEXT = date(2026, 11, 1)
KAM = Path(sys.executable).parent / "kam"
SAVED = ("build.duckdb", "audit.duckdb", "serving.duckdb", "serving.duckdb.previous")


def kam_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAM_")}
    return env | {"KAM_HOME": str(home), "KAM_DATA_TEAM_EMAIL": "data-team@kam.example.com"}


def kam(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAM), *args], env=kam_env(home), capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def start_kam(home: Path, *args: str, lock_timeout: float = 0,
              **kwargs: object) -> subprocess.Popen[str]:
    env = {**kam_env(home), "KAM_LOCK_TIMEOUT": str(lock_timeout)}
    return subprocess.Popen(  # type: ignore[call-overload]
        [str(KAM), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, **kwargs,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """200 demo customers landed, built, validated, published and alerted as of AS_OF."""
    from kam_transforms.alert_step import send_alerts
    from kam_transforms.demo_data import generate
    from kam_transforms.extract import land_exports
    from kam_transforms.pipeline import dbt_build, publish_marts, validate_build

    home = tmp_path_factory.mktemp("kam")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("KAM_")]:
            patch.delenv(key)
        for key, value in kam_env(home).items():
            patch.setenv(key, value)
        settings = Settings.from_env()
        generate(settings.exports_dir, 200, 5, AS_OF)
        land_exports(settings.exports_dir, settings.lake_dir, AS_OF)
        dbt_build(settings, AS_OF)
        validate_build(settings, AS_OF, "run-1")
        publish_marts(settings, AS_OF, "run-1")
        send_alerts(settings, AS_OF)
        pristine = home / "pristine"
        pristine.mkdir()
        for name in SAVED[:3]:
            shutil.copy(settings.build_db.parent / name, pristine / name)
        shutil.copytree(settings.home / "alerts", pristine / "alerts")
        shutil.copytree(settings.outbox_dir, pristine / "outbox")
        yield settings


@pytest.fixture
def settings(built: Settings) -> Settings:
    """The built home as the fixture left it (warehouses, alert state and outbox)."""
    pristine = built.home / "pristine"
    for name in SAVED:
        (built.build_db.parent / name).unlink(missing_ok=True)
    for name in SAVED[:3]:
        shutil.copy(pristine / name, built.build_db.parent / name)
    for folder, saved in ((built.home / "alerts", "alerts"), (built.outbox_dir, "outbox")):
        shutil.rmtree(folder)
        shutil.copytree(pristine / saved, folder)
    return built


def build_record(settings: Settings) -> tuple[str, date, str]:
    from kam_transforms.builds import current_build

    build = current_build(settings.build_db)
    assert build is not None
    return build.build_id, build.as_of, build.status


def mart_counts(db: Path) -> dict[str, int]:
    """Row count of every published table of a serving file (besides the logs)."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' "
            "and table_name not in ('_kam_publish_log', 'validation_runs')").fetchall()]
        return {t: con.execute(f'select count(*) from main."{t}"').fetchone()[0] for t in tables}


def assert_whole_version(settings: Settings, db: Path) -> tuple[date, str]:
    """``db`` is one whole published build: its log names a build, and every table the log
    lists holds exactly the rows the log says were published."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select as_of, build_id, tables from _kam_publish_log").fetchall()
    assert len(rows) == 1, rows
    as_of, build_id, tables = rows[0]
    assert build_id, rows
    logged = json.loads(tables)
    assert len(logged) > 10 and logged["customer_tiers"] == 200
    assert mart_counts(db) == logged
    return as_of, build_id


# ------------------------------------------------------------------ point 1: locks


def test_publish_is_refused_while_another_process_holds_the_warehouse(
    settings: Settings,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from kam_transforms.locks import hold\n"
         "with hold(Path(sys.argv[1]), 'warehouse', 'publish', as_of='2026-10-31'):\n"
         "    print('held', flush=True); time.sleep(120)\n",
         str(settings.home)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = settings.serving_db.read_bytes()
        proc = kam(settings.home, "publish", "--as-of", AS_OF.isoformat())
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert "kam publish: LockHeld: publish: another run holds the lock" in proc.stderr
        assert f"(pid {holder.pid} on " in proc.stderr
        assert "step publish as of 2026-10-31, since " in proc.stderr
        assert settings.serving_db.read_bytes() == before
    finally:
        holder.kill()
        holder.wait(10)


def test_two_publishes_at_once_leave_serving_and_previous_whole(settings: Settings) -> None:
    build_id, _, _ = build_record(settings)
    previous = settings.serving_db.with_name("serving.duckdb.previous")
    outcomes: list[int] = []
    for _round in range(4):
        procs = [start_kam(settings.home, "publish", "--as-of", AS_OF.isoformat())
                 for _ in range(2)]
        results = [(p.wait(300), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        for code, out, err in results:
            if code == 0:
                assert json.loads(out)["build_id"] == build_id
            else:  # the loser is told why, and nothing else happened
                assert code == 1, err
                assert "another run holds the lock" in err and out == ""
            outcomes.append(code)
        assert 0 in [r[0] for r in results]
        for db in (settings.serving_db, previous):
            assert assert_whole_version(settings, db) == (AS_OF, build_id)
    leftovers = [p.name for p in settings.serving_db.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    print(f"publish outcomes over 4 rounds of 2: {outcomes}")


def test_kam_run_against_kam_publish(settings: Settings) -> None:
    """``kam run`` of the next date while ``kam publish`` of today is retried beside it:
    each publish either succeeds (before the run's build) or is refused with the reason;
    the run ends with serving holding its own build, whole, and its JSON alone on stdout.
    The run waits for a lock a publish holds (``KAM_LOCK_TIMEOUT``, as a scheduler would
    set it); the publishes do not wait, so they are the ones refused."""
    first_id, _, _ = build_record(settings)
    run = start_kam(settings.home, "run", "--as-of", NEXT.isoformat(), lock_timeout=300)
    publishes: list[tuple[int, str]] = []
    try:
        while run.poll() is None:
            proc = kam(settings.home, "publish", "--as-of", AS_OF.isoformat())
            publishes.append((proc.returncode, proc.stderr.strip()))
            time.sleep(0.5)
        out, err = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    summary = json.loads(out)  # nothing but the JSON on stdout
    refused = [msg for code, msg in publishes if code != 0]
    assert refused, publishes  # the run held the warehouse for its whole build
    for code, msg in publishes:
        if code:
            assert code == 1
            assert ("another run holds the lock" in msg
                    or "holds build " in msg and "as of 2026-11-01" in msg
                    or "never finished" in msg), msg
    as_of, build_id = assert_whole_version(settings, settings.serving_db)
    assert (as_of, build_id) == (NEXT, summary["build_id"])
    assert build_id != first_id
    assert assert_whole_version(settings, settings.serving_db.with_name(
        "serving.duckdb.previous"))[0] in (AS_OF, NEXT)
    # point 17: the digests the run wrote are counted
    written = sorted(settings.outbox_dir.glob("kam.20261101.*.eml"))
    assert summary["alerts"]["digests_sent"] == len(written) > 0
    assert summary["digests_in_outbox"] == len(written)


# ------------------------------------------------------------------ point 3: build ids


def test_build_id_binds_validate_publish_and_serving(settings: Settings) -> None:
    build_id, as_of, status = build_record(settings)
    assert (as_of, status) == (AS_OF, "complete")
    with duckdb.connect(str(settings.audit_db), read_only=True) as con:
        ids = con.execute(
            "select distinct build_id from validation_runs where run_id = 'run-1'").fetchall()
    assert ids == [(build_id,)]
    assert assert_whole_version(settings, settings.serving_db) == (AS_OF, build_id)


def test_publish_of_another_date_is_refused(settings: Settings) -> None:
    before = settings.serving_db.read_bytes()
    proc = kam(settings.home, "publish", "--as-of", "2031-01-01")
    assert proc.returncode == 1
    assert "publish as of 2031-01-01 refused" in proc.stderr
    assert "as of 2026-10-31 (complete), not a build as of 2031-01-01" in proc.stderr
    assert settings.serving_db.read_bytes() == before


def test_publish_after_a_failed_validation_is_refused(settings: Settings) -> None:
    before = settings.serving_db.read_bytes()
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("delete from main.fct_order_lines")
    validate = kam(settings.home, "validate", "--as-of", AS_OF.isoformat())
    assert validate.returncode == 1
    assert "fct_order_lines" in validate.stderr
    proc = kam(settings.home, "publish", "--as-of", AS_OF.isoformat())
    assert proc.returncode == 1
    assert "publish as of 2026-10-31 refused: the last validation of build" in proc.stderr
    assert "blocking expectation(s) failed" in proc.stderr
    assert settings.serving_db.read_bytes() == before
    with duckdb.connect(str(settings.serving_db), read_only=True) as con:
        assert con.execute("select count(*) from fct_order_lines").fetchone()[0] > 0


def test_publish_of_a_never_validated_build_is_refused(settings: Settings) -> None:
    from kam_transforms.builds import BuildRefused, finish_build, start_build
    from kam_transforms.pipeline import publish_marts

    build = start_build(settings.build_db, AS_OF)  # as a build that no validate saw
    finish_build(settings.build_db, build.build_id, "complete")
    with pytest.raises(BuildRefused, match=rf"build {build.build_id} .* was never validated"):
        publish_marts(settings, AS_OF, "run-x")


def test_alerts_send_refuses_a_serving_warehouse_of_another_date(settings: Settings) -> None:
    from kam_transforms.alerts import OutboxState

    state = settings.home / "alerts" / "state.sqlite"
    before = state.read_bytes()
    mails = sorted(p.name for p in settings.outbox_dir.iterdir())
    proc = kam(settings.home, "alerts", "send", "--as-of", NEXT.isoformat())
    assert proc.returncode == 1
    assert ("alerts send as of 2026-11-01 refused: "
            f"{settings.serving_db} holds the build as of 2026-10-31") in proc.stderr
    assert state.read_bytes() == before  # no alert closed
    assert sorted(p.name for p in settings.outbox_dir.iterdir()) == mails
    with OutboxState(state) as alerts:
        assert alerts is not None


# ------------------------------------------------------------------ point 3: killed steps


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of ``pid``, from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append((int(stat.parent.name), cmdline))
    return out


def _gone(pid: int, within: float) -> bool:
    """Every thread of ``pid`` has exited (a zombie leader holds no files; its other
    threads may still be closing theirs, and DuckDB's lock goes with the last one)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        live = []
        for task in Path(f"/proc/{pid}/task").glob("*/stat"):
            try:
                live.append(task.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X"))
            except (OSError, IndexError):
                continue
        if not any(live):
            return True
        time.sleep(0.1)
    return False


def _build_with_dbt_running(settings: Settings) -> tuple[subprocess.Popen[str], int]:
    """A ``kam build`` whose dbt child has started building (its log has a first model)."""
    build = start_kam(settings.home, "build", "--as-of", AS_OF.isoformat())
    log = settings.home / "dbt" / "logs" / "dbt.log"
    start = log.stat().st_size if log.exists() else 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and build.poll() is None:
        dbt = [pid for pid, cmd in _children(build.pid) if "dbt" in cmd and " build " in cmd]
        if dbt and log.exists():
            with log.open("rb") as fh:
                fh.seek(start)
                if b" of " in fh.read() and b"START" in log.read_bytes()[start:]:
                    return build, dbt[0]
        time.sleep(0.2)
    build.kill()
    pytest.fail(f"kam build never started dbt: {build.communicate()}")


def test_sigkilled_kam_build_takes_dbt_with_it_and_a_rerun_builds(settings: Settings) -> None:
    """SIGKILL by pid: dbt dies too (no orphan holding the build warehouse), the lock is
    free, the killed build is refused by publish, and the rerun builds at once."""
    from kam_transforms.locks import holder
    from kam_transforms.pipeline import WAREHOUSE_LOCK

    first_id, _, _ = build_record(settings)
    build, dbt = _build_with_dbt_running(settings)
    os.kill(build.pid, signal.SIGKILL)
    build.wait(30)
    assert _gone(dbt, 30), f"dbt (pid {dbt}) outlived the killed kam build"
    assert holder(settings.home, WAREHOUSE_LOCK) is None
    killed_id, as_of, status = build_record(settings)
    assert (as_of, status) == (AS_OF, "running") and killed_id != first_id
    refused = kam(settings.home, "publish", "--as-of", AS_OF.isoformat())
    assert refused.returncode == 1 and "never finished" in refused.stderr, refused.stderr
    rerun = kam(settings.home, "build", "--as-of", AS_OF.isoformat())
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    rebuilt_id, as_of, status = build_record(settings)
    assert (as_of, status) == (AS_OF, "complete") and rebuilt_id not in (first_id, killed_id)


def test_sigtermed_kam_build_stops_dbt_and_marks_the_build_failed(settings: Settings) -> None:
    """SIGTERM (what Airflow sends on a timeout or a cleared task): dbt is stopped, the
    build is recorded ``failed`` and kam exits 143 with nothing on stdout."""
    build, dbt = _build_with_dbt_running(settings)
    build.send_signal(signal.SIGTERM)
    out, _err = build.communicate(timeout=60)
    assert build.returncode == 143 and out == ""
    assert _gone(dbt, 30), f"dbt (pid {dbt}) outlived the stopped kam build"
    _, as_of, status = build_record(settings)
    assert (as_of, status) == (AS_OF, "failed")


def test_a_date_without_data_fails_the_build_naming_it(settings: Settings) -> None:
    """``kam build`` (and the DAG's dbt_build) of a date before any landed order fails
    clearly instead of publishing empty marts; the build warehouse is left as it was."""
    first_id, _, _ = build_record(settings)
    proc = kam(settings.home, "build", "--as-of", "1997-09-30")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "NoDataError: no erp/orders batch landed on or before 1997-09-30" in proc.stderr
    assert build_record(settings)[0] == first_id  # no build was even started


def test_dbt_vars_reach_the_build_and_are_recorded_with_it(settings: Settings) -> None:
    """``kam build --var abc_cutoff_a=0.5`` moves the ABC boundary in this build only, and
    the audit warehouse records the vars, package versions and git revision by build id."""
    from kam_transforms.config import DBT_PROJECT_DIR
    from kam_transforms.run_config import git_revision

    def class_a(db: Path) -> int:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(
                "select count(*) from customer_tiers where abc_class = 'A'").fetchone()[0]

    default_a = class_a(settings.build_db)
    refused = kam(settings.home, "build", "--as-of", AS_OF.isoformat(),
                  "--var", "as_of_date=2020-01-01")  # fmt: skip
    assert refused.returncode == 1
    assert "dbt var 'as_of_date' is set by the pipeline" in refused.stderr
    proc = kam(settings.home, "build", "--as-of", AS_OF.isoformat(), "--var", "abc_cutoff_a=0.5")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["dbt_vars"] == {"abc_cutoff_a": 0.5}
    assert 0 < class_a(settings.build_db) < default_a
    with duckdb.connect(str(settings.audit_db), read_only=True) as con:
        dbt_vars, versions, revision = con.execute(
            "select dbt_vars, package_versions, git_revision from _kam_run_config "
            "where build_id = ?", [summary["build_id"]]).fetchone()
    assert json.loads(dbt_vars) == {"abc_cutoff_a": 0.5}
    assert json.loads(versions)["dbt-core"].startswith("1.11.")
    assert revision == git_revision(DBT_PROJECT_DIR.parent) and revision
    # the rebuild of the same (latest) date replaced that date's history versions: one
    # open version per customer, holding this build's class (dbt's valid_history passed)
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        stale = con.execute(
            "select count(*) from main_snapshots.snap_customer_tiers s "
            "join customer_tiers t using (customer_id) "
            "where s.dbt_valid_to is null and s.abc_class is distinct from t.abc_class"
        ).fetchone()[0]
        open_versions = con.execute(
            "select count(*), count(distinct customer_id) from main_snapshots.snap_customer_tiers "
            "where dbt_valid_to is null").fetchone()
    assert stale == 0 and open_versions[0] == open_versions[1] == 200


# ------------------------------------------------------------------ point 17: the alert state


def test_a_corrupt_alert_state_fails_naming_the_file(settings: Settings) -> None:
    state = settings.home / "alerts" / "state.sqlite"
    state.write_bytes(b"not a database, half a file from a disk that failed" * 100)
    mails = sorted(p.name for p in settings.outbox_dir.iterdir())
    proc = kam(settings.home, "alerts", "send", "--as-of", AS_OF.isoformat())
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"AlertStateError: alert state {state}: file is not a database" in proc.stderr
    assert "restore it from a backup or move it aside" in proc.stderr
    assert sorted(p.name for p in settings.outbox_dir.iterdir()) == mails


def test_a_full_disk_under_the_alert_state_fails_naming_the_file(settings: Settings) -> None:
    """A real full file system (a tmpfs just larger than the alert state, filled, mounted
    over the state's folder): the send fails naming the state file and says nothing was
    marked sent."""
    folder = settings.home / "alerts"
    saved = settings.home / "alerts.saved"
    shutil.copytree(folder, saved)
    used = sum(f.stat().st_size for f in saved.rglob("*") if f.is_file())
    size = used + 256 * 1024  # room for the state's copy, then the filler takes the rest
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(saved)
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs to fill: {done.stderr}")
        pytest.skip(f"needs root to mount a tmpfs: {done.stderr.strip()}")
    try:
        for item in saved.iterdir():
            shutil.copy(item, folder / item.name)
        fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:  # ENOSPC: the file system is full
            pass
        finally:
            os.close(fd)
        state = folder / "state.sqlite"
        proc = kam(settings.home, "alerts", "send", "--as-of", AS_OF.isoformat())
        assert proc.returncode == 1, proc.stderr
        assert f"AlertStateError: alert state {state}: " in proc.stderr, proc.stderr
        assert "full" in proc.stderr and "nothing was marked sent" in proc.stderr
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(saved)


# ------------------------------------------------------------------ point 17
