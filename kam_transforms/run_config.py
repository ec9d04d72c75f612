"""What a build ran with: its dbt vars, the package versions and the code revision.

``kam build --var abc_cutoff_a=0.75`` (and ``kam run --var ...``, the DAG param
``dbt_vars``) passes dbt vars to one build. Every build records, in the audit warehouse's
``main._kam_run_config`` (beside ``validation_runs``), its ``build_id``, as-of date, the
vars it was given, the versions of the packages that compute the warehouse, and the git
revision of the project (or ``None`` outside a checkout); join on ``build_id`` with
``_kam_validations`` for the runs that validated it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from kam_transforms import duck

__all__ = ["PACKAGES", "RESERVED_VARS", "git_revision", "parse_vars", "record_run_config"]

#: Vars the pipeline sets itself: the run date (``--as-of``) and ``KAM_BASE_CURRENCY``.
RESERVED_VARS = frozenset({"as_of_date", "base_currency"})
#: The packages whose versions change what the warehouse holds.
PACKAGES = (
    "kam-transforms",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "great-expectations",
    "pandas",
    "pyarrow",
    "numpy",
    "scipy",
    "apache-airflow",
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DDL = """
create table if not exists main._kam_run_config (
    build_id varchar primary key,
    as_of_date date not null,
    dbt_vars json not null,
    package_versions json not null,
    git_revision varchar,
    recorded_at timestamp not null
)
"""


def parse_vars(pairs: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``["key=value", ...]`` (values as JSON when they parse: numbers, booleans, lists;
    else text) or a mapping, checked: names are identifiers, the reserved ones refused."""
    if not pairs:
        return {}
    if isinstance(pairs, Mapping):
        items = [(str(k), v) for k, v in pairs.items()]
    else:
        items = []
        for pair in pairs:
            key, sep, raw = pair.partition("=")
            if not sep:
                raise ValueError(f"--var {pair!r}: expected key=value")
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
            items.append((key.strip(), value))
    out: dict[str, Any] = {}
    for key, value in items:
        if not _NAME.match(key):
            raise ValueError(f"dbt var {key!r} is not a name (letters, digits, _)")
        if key in RESERVED_VARS:
            raise ValueError(
                f"dbt var {key!r} is set by the pipeline (--as-of, KAM_BASE_CURRENCY), not --var"
            )
        out[key] = value
    return out


def git_revision(root: Path) -> str | None:
    """The commit of the checkout at ``root`` (``+dirty`` when it has changes), or None."""
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def record_run_config(
    audit_db: Path, build_id: str, as_of: date, dbt_vars: Mapping[str, Any], root: Path
) -> dict[str, Any]:
    """Record what build ``build_id`` ran with; returns the record."""
    record = {
        "build_id": build_id,
        "as_of_date": as_of.isoformat(),
        "dbt_vars": dict(dbt_vars),
        "package_versions": _versions(),
        "git_revision": git_revision(root),
    }
    audit_db.parent.mkdir(parents=True, exist_ok=True)
    with duck.connect(audit_db) as con:
        con.execute(_DDL)
        con.execute(
            "insert or replace into main._kam_run_config values (?, ?, ?, ?, ?, ?)",
            [
                build_id,
                as_of,
                json.dumps(record["dbt_vars"], sort_keys=True),
                json.dumps(record["package_versions"], sort_keys=True),
                record["git_revision"],
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
    return record
