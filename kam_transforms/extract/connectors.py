"""Which connector feeds a source, and the entry points that pick one.

- :func:`connector_for` builds the configured connector of a source
  (``KAM_CRM_CONNECTOR`` = files | hubspot, ``KAM_ERP_CONNECTOR`` = files | odoo);
- :func:`extract` (the Airflow task and ``kam extract``) runs one entity through it;
- :func:`land_exports` lands a whole file drop (tests, ad-hoc runs).

This module sits above the connectors and :mod:`kam_transforms.extract.run`, so none of
them imports it (no import circle).
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kam_transforms.entities import entity
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.run import Connector, ordered_entities, run_extract
from kam_transforms.extract.snapshot import ALLOW_SHRINK_ENV

if TYPE_CHECKING:
    from kam_transforms.config import Settings

__all__ = ["CONNECTOR_ENV", "connector_for", "extract", "land_exports"]

log = logging.getLogger(__name__)

#: Which connector feeds each source (default ``files``).
CONNECTOR_ENV = {"crm": "KAM_CRM_CONNECTOR", "erp": "KAM_ERP_CONNECTOR"}


def connector_for(source: str, settings: Settings, as_of: date | None = None) -> Connector:
    """The configured connector of ``source`` (``KAM_CRM_CONNECTOR`` / ``KAM_ERP_CONNECTOR``);
    a file drop reads the drop of ``as_of`` (:meth:`Settings.exports_for`).

    ``hubspot`` reads its token from the Airflow connection ``crm_hubspot`` (or
    ``KAM_HUBSPOT_TOKEN``); ``odoo`` its DSN from the connection ``erp_odoo`` (or
    ``KAM_ODOO_DSN``). Both are looked up here, at run time, never at import.
    """
    kind = os.environ.get(CONNECTOR_ENV.get(source, ""), "files").strip().lower() or "files"
    if kind == "files":
        return FileDropConnector(
            settings.exports_dir if as_of is None else settings.exports_for(as_of)
        )
    if kind == "hubspot" and source == "crm":
        from kam_transforms.extract.hubspot import HubSpotConnector

        return HubSpotConnector.from_airflow_or_env()
    if kind == "odoo" and source == "erp":
        from kam_transforms.extract.odoo import OdooConnector

        return OdooConnector.from_airflow_or_env()
    raise ValueError(f"unknown connector {kind!r} for source {source!r}")


def extract(settings: Settings, as_of: date, source: str, name: str) -> dict[str, Any]:
    """Extract one canonical entity with its source's configured connector (task entry).

    ``KAM_ALLOW_SHRINK=1`` lets a full snapshot delete more than its ``max_shrink`` share.
    A file-drop-only entity (``crm/owner_directory``) is read from the file drop with any
    connector; an optional one without an export lands nothing (the result says ``skipped``).
    """
    ent = entity(source, name)
    # Optional entities (the owner directory) come from the file drop whatever the source's
    # connector: no CRM API has them.
    connector = (
        FileDropConnector(settings.exports_for(as_of))
        if ent.file_drop_only
        else connector_for(source, settings, as_of)
    )
    allow_shrink = os.environ.get(ALLOW_SHRINK_ENV, "").strip().lower() in ("1", "true", "yes")
    summary = run_extract(
        connector,
        ent,
        settings.lake_dir,
        as_of,
        base_currency=settings.base_currency,
        allow_shrink=allow_shrink,
    )
    log.info(
        "%s/%s via %s: %d in, %d landed, %d quarantined %s; watermark %s",
        source,
        name,
        connector.name,
        summary["rows_in"],
        summary["rows_landed"],
        summary["rows_quarantined"],
        summary["quarantine_reasons"],
        summary["watermark"],
    )
    return summary


def land_exports(
    exports_dir: Path,
    lake_dir: Path,
    as_of: date,
    source: str | None = None,
    *,
    base_currency: str = "USD",
) -> list[dict[str, object]]:
    """Land every canonical entity of the file drop (``fx_rates`` first, so currencies are
    known) through the full landing path: row rules, raw suite, atomic batch, watermark."""
    connector = FileDropConnector(exports_dir)
    return [
        run_extract(connector, ent, lake_dir, as_of, base_currency=base_currency)
        for ent in ordered_entities(source)
    ]
