"""``dbt build`` on PostgreSQL, in phases around the Python models.

dbt-postgres cannot run the project's Python models, so the build runs in phases:

0. the lake is loaded into ``raw_<source>`` (:mod:`.lake_load`) and dbt parses the project;
1. ``dbt build`` of every node not downstream of a Python model;
2. for each level of Python models (a model is one level above the Python models upstream of
   it: the CLV fit, then the scores, then the horizons and plan forecasts), this process runs
   them (:mod:`.host_models`) and ``dbt build`` builds their ``host_python`` stand-ins and
   everything downstream of them that no later level feeds;
3. data tests no phase ran (a test whose parents were built in two phases) run last.

Every node is built exactly once, in dependency order, with the same vars, so the result is
the one ``dbt build`` gives on DuckDB.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kam_transforms.pgwarehouse.host_models import HostModel, host_models, run_host_model
from kam_transforms.pgwarehouse.lake_load import load_lake
from kam_transforms.pgwarehouse.target import PostgresTarget, quote_ident

__all__ = ["PostgresBuildError", "build_postgres", "host_levels"]

log = logging.getLogger(__name__)

DbtRunner = Callable[[list[str], dict[str, str]], subprocess.CompletedProcess[str]]


class PostgresBuildError(RuntimeError):
    """A phase of the PostgreSQL build failed; the message names the phase and the nodes."""


def _default_runner(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603


def host_levels(models: list[HostModel], manifest: dict[str, Any]) -> list[list[HostModel]]:
    """The host models by level: level 1 has no host model upstream, level n one of level n-1."""
    by_id = {m.unique_id: m for m in models}
    parents: dict[str, list[str]] = {}
    for section in ("nodes", "snapshots"):
        for unique_id, node in manifest.get(section, {}).items():
            parents[unique_id] = list(node.get("depends_on", {}).get("nodes", []))
    memo: dict[str, int] = {}

    def level(unique_id: str, seen: frozenset[str] = frozenset()) -> int:
        """The highest level of a host model at or above ``unique_id`` (0: none)."""
        if unique_id in memo:
            return memo[unique_id]
        if unique_id in seen:
            raise RuntimeError(f"dependency cycle at {unique_id}")
        above = max((level(p, seen | {unique_id}) for p in parents.get(unique_id, [])), default=0)
        memo[unique_id] = above + 1 if unique_id in by_id else above
        return memo[unique_id]

    levels: dict[int, list[HostModel]] = {}
    for model in models:
        levels.setdefault(level(model.unique_id), []).append(model)
    return [sorted(levels[n], key=lambda m: m.name) for n in sorted(levels)]


def _results(target_dir: Path) -> list[dict[str, Any]]:
    try:
        text = (target_dir / "run_results.json").read_text(encoding="utf-8")
        return list(json.loads(text)["results"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return []


def _failed(results: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['unique_id']}: {r['status']}: {(r.get('message') or '').strip()}"
        for r in results
        if r["status"] in ("error", "fail", "runtime error")
    ]


def build_postgres(
    target: PostgresTarget,
    lake_dir: Path,
    dbt_vars: dict[str, Any],
    *,
    dbt_command: list[str],
    project_dir: Path,
    target_dir: Path,
    log_dir: Path,
    env: dict[str, str],
    run: DbtRunner = _default_runner,
) -> dict[str, Any]:
    """Build the project on ``target``; per-status node counts, raw rows loaded, phases.

    Raises PostgresBuildError naming the phase and the failing nodes.
    """
    raw_rows = load_lake(target, lake_dir)
    child_env = env | target.dbt_env() | {"KAM_LAKE_DIR": str(lake_dir)}
    common = [
        "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
        "--target-path", str(target_dir), "--log-path", str(log_dir),
        "--vars", json.dumps(dbt_vars),
    ]  # fmt: skip

    def dbt(phase: str, args: list[str]) -> list[dict[str, Any]]:
        proc = run([*dbt_command, *args, *common], child_env)
        for line in proc.stdout.splitlines():
            log.info("dbt [%s]: %s", phase, line)
        results = _results(target_dir) if args[0] != "parse" else []
        if proc.returncode != 0:
            failed = _failed(results) or proc.stdout.splitlines()[-20:] + [proc.stderr[-2000:]]
            raise PostgresBuildError(
                f"dbt {args[0]} on PostgreSQL {target.describe()} failed in {phase} "
                f"(exit {proc.returncode}):\n  " + "\n  ".join(failed)
            )
        return results

    dbt("parse", ["parse"])
    manifest = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    levels = host_levels(host_models(manifest, project_dir), manifest)
    with target.connect(autocommit=True) as con:
        for models in levels:  # a stale table must never stand in for this build's
            for model in models:
                relation = f"{quote_ident(model.schema)}.{quote_ident(model.identifier)}"
                con.execute(f"drop table if exists {relation} cascade")
    executed: dict[str, str] = {}
    phases: list[dict[str, Any]] = []

    def build_phase(name: str, select: list[str], exclude: list[str]) -> None:
        args = ["build", "--indirect-selection", "buildable"]
        if select:
            args += ["--select", *select]
        if exclude:
            args += ["--exclude", *exclude]
        results = dbt(name, args)
        for r in results:
            executed[r["unique_id"]] = r["status"]
        phases.append({"phase": name, "nodes": len(results)})

    later = [f"{m.name}+" for models in levels for m in models]
    build_phase("phase 0", [], later)
    with target.connect(autocommit=True) as con:  # each host table commits when written
        for number, models in enumerate(levels, start=1):
            for model in models:
                rows = run_host_model(con, model, manifest)
                log.info("host_python %s: %s rows (%s)", model.name, rows, model.python_file.name)
            later = [f"{m.name}+" for above in levels[number:] for m in above]
            build_phase(f"phase {number}", [f"{m.name}+" for m in models], later)
    tests = [
        node["name"] for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("test", "unit_test") and unique_id not in executed
    ]  # fmt: skip
    unit_tests = manifest.get("unit_tests", {})
    if tests:
        results = dbt("left-over tests", ["test", "--select", *tests])
        for r in results:
            executed[r["unique_id"]] = r["status"]
        phases.append({"phase": "left-over tests", "nodes": len(results)})
    statuses: dict[str, int] = {}
    for status in executed.values():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "warehouse": "postgres",
        "target": target.describe(),
        "nodes": statuses,
        "unit_tests": len(unit_tests),
        "raw_rows": raw_rows,
        "phases": phases,
    }
