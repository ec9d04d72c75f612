"""``kam``: the command line for data engineers (demo data, each pipeline step, alerts).

Its result is JSON on stdout and nothing else: logs, and anything a library or child
process prints while the command runs, go to stderr. SIGTERM stops the command like
Ctrl-C (the running step stops its children, marks its build failed, releases its lock)
and exits 143.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

from kam_transforms.config import Settings

__all__ = ["main"]


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _print(result: Any) -> None:
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (Python or file descriptor 1, so child processes
    and C libraries too) to stderr for the block; stdout is kept for the JSON result."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all
        yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit(143)`` for the block (main thread, default handler
    only), so the running step cleans up; the previous handler is restored after."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _demo_data(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.demo_data import generate

    out = args.out or settings.exports_for(args.as_of)
    return generate(
        Path(out), args.customers, args.seed, args.as_of, anchor=args.anchor, fmt=args.format
    )


def _extract(args: argparse.Namespace, settings: Settings) -> Any:
    import os

    from kam_transforms.extract import CONNECTOR_ENV, ordered_entities
    from kam_transforms.extract.snapshot import ALLOW_SHRINK_ENV
    from kam_transforms.pipeline import extract_entity

    if args.connector:
        if not args.source:
            raise SystemExit("kam extract: --connector needs --source")
        os.environ[CONNECTOR_ENV[args.source]] = args.connector
    if args.allow_shrink:
        os.environ[ALLOW_SHRINK_ENV] = "1"
    return [
        extract_entity(settings, args.as_of, ent.source, ent.name)
        for ent in ordered_entities(args.source)
        if args.entity is None or ent.name == args.entity
    ]


def _demo_serve(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.demo_serve import main as demo_serve

    return demo_serve(args.rest)


def _build(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.pipeline import dbt_build
    from kam_transforms.run_config import parse_vars

    return dbt_build(settings, args.as_of, args.select, parse_vars(args.var))


def _validate(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.pipeline import validate_build

    return validate_build(settings, args.as_of, run_id=f"cli__{args.as_of.isoformat()}")


def _publish(args: argparse.Namespace, settings: Settings) -> Any:
    if args.rollback:
        from kam_transforms.pipeline import rollback_serving

        return rollback_serving(settings)
    if args.as_of is None:
        raise SystemExit("kam publish: --as-of is required unless --rollback is given")
    from kam_transforms.pipeline import publish_marts

    return publish_marts(settings, args.as_of, run_id=f"cli__{args.as_of.isoformat()}")


def _alerts(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.alert_step import preview_alerts, send_alerts

    if args.action == "preview":
        return preview_alerts(settings, args.as_of, Path(args.out) if args.out else None)
    return send_alerts(settings, args.as_of)


def _run(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.pipeline import run_all
    from kam_transforms.run_config import parse_vars

    return run_all(settings, args.as_of, parse_vars(args.var))


def _report(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.cockpit import write_cockpit

    return write_cockpit(settings, args.as_of, args.locale, Path(args.out) if args.out else None)


def _summary(args: argparse.Namespace, settings: Settings) -> Any:
    from kam_transforms.pipeline import summarize

    return summarize(settings, args.as_of)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kam", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[..., Any], help_: str, as_of: bool = True) -> Any:
        p = sub.add_parser(name, help=help_, description=help_)
        if as_of:
            p.add_argument("--as-of", type=_date, required=True, help="the run date, YYYY-MM-DD")
        p.set_defaults(func=func)
        return p

    p = add("demo-data", _demo_data, "write a deterministic demo CRM+ERP export")
    p.add_argument("--out", help="folder for the export (default: $KAM_EXPORTS_DIR)")
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--anchor", type=_date, help="the world's last date (default: --as-of)")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv",
                   help="file format of the export (default: csv)")

    p = add("extract", _extract, "land the sources' entities into the lake")
    p.add_argument("--source", choices=["crm", "erp"])
    p.add_argument("--entity", help="one canonical entity, e.g. accounts")
    p.add_argument("--connector", choices=["files", "hubspot", "odoo"],
                   help="override KAM_CRM_CONNECTOR / KAM_ERP_CONNECTOR for this run")
    p.add_argument("--allow-shrink", action="store_true",
                   help="let a full-snapshot file drop delete more than its max_shrink share")

    p = add("demo-serve", _demo_serve, "serve the demo data as a HubSpot API or Odoo schema",
            as_of=False)
    p.add_argument("rest", nargs=argparse.REMAINDER, help="crm|odoo and their options")

    var_help = "a dbt var for this build, key=value (value as JSON if it parses); repeatable"
    p = add("build", _build, "run dbt build into the build warehouse")
    p.add_argument("--select", help="dbt node selection")
    p.add_argument("--var", action="append", default=[], help=var_help)

    add("validate", _validate, "run the Great Expectations mart suites on the build")

    p = add(
        "publish", _publish, "publish the validated build to the serving warehouse", as_of=False
    )
    p.add_argument("--as-of", type=_date)
    p.add_argument("--rollback", action="store_true", help="restore the previous version")

    p = add("alerts", _alerts, "preview or send key-account alert digests")
    p.add_argument("action", choices=["preview", "send"])
    p.add_argument("--out", help="preview: folder to write the rendered .eml files into")

    p = add("run", _run, "run every step in order without Airflow")
    p.add_argument("--var", action="append", default=[], help=var_help)
    p = add("report", _report, "write the static offline cockpit of the published run")
    p.add_argument("--locale", choices=["en", "zh-CN"],
                   help="the cockpit's language (default: $KAM_REPORT_LOCALE, else en)")
    p.add_argument("--out", help="folder to write into (default: "
                   "$KAM_HOME/reports/cockpit/<date>)")
    add("summary", _summary, "rows per mart, customers per class, where things are")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with _stdout_to_stderr(), _sigterm_raises():
            result = args.func(args, Settings.from_env())
        if result is not None:
            _print(result)
    except Exception as exc:  # noqa: BLE001 - the CLI reports any failure on one line
        if args.verbose:
            raise
        print(f"kam {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
