"""Great Expectations Data Docs that work offline.

GX's page templates load jQuery, Bootstrap, bootstrap-table (which draws the index's table
of validations and its status column), the datepicker and Font Awesome from CDNs, and the
logo from a web bucket. :func:`make_offline` copies those files from the npm packages
pinned in ``web/data_docs/package.json`` (installed by ``make install``, or
``KAM_DATA_DOCS_ASSETS``: a ``node_modules`` folder) into ``static/vendor/`` of the site and
rewrites every page's URLs to the local copies (relative, so the site opens from a file
URL); the logo comes from the site's own ``static/images``. The Vega scripts (charts of
profiling pages, none on validation pages) are dropped. Without the packages the pages keep
their CDN URLs and a warning says so.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from kam_transforms.config import REPO_ROOT

__all__ = ["ASSETS_ENV", "CDN_FILES", "assets_dir", "make_offline"]

log = logging.getLogger(__name__)

ASSETS_ENV = "KAM_DATA_DOCS_ASSETS"

#: CDN URL (as GX's templates write it) -> file inside node_modules.
CDN_FILES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js/dist/umd/popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap/dist/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css",
}  # fmt: skip
#: Folders copied whole because a stylesheet refers into them (Font Awesome's fonts).
CDN_FOLDERS = ("@fortawesome/fontawesome-free/webfonts",)
_VEGA = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/vega[-a-z]*@\d+"></script>\s*')
_LOGO = re.compile(r'src="https://great-expectations-web-assets\.[^"/]+/([a-z-]+\.png)[^"]*"')
_TAG = re.compile(r"<(script|link)\b[^>]*>")
_REMOTE = re.compile(r'(?:src|href)="(https?://[^"]+)"')


def assets_dir() -> Path | None:
    """The ``node_modules`` folder holding the pinned packages, if installed."""
    configured = os.environ.get(ASSETS_ENV)
    folder = Path(configured) if configured else REPO_ROOT / "web" / "data_docs" / "node_modules"
    return folder if (folder / "bootstrap-table").is_dir() else None


def _rewrite(page: str, vendor: Path, here: Path, have: set[str]) -> str:
    def local(match: re.Match[str]) -> str:
        tag = match.group(0)
        url = _REMOTE.search(tag)
        if url is None or url.group(1) not in have:
            return tag
        rel = os.path.relpath(vendor / CDN_FILES[url.group(1)], here)
        tag = tag.replace(url.group(1), Path(rel).as_posix())
        # a file URL has no CORS: Subresource Integrity with crossorigin would block it
        return re.sub(r'\s(?:integrity|crossorigin)="[^"]*"', "", tag)

    page = _VEGA.sub("", page)
    images = Path(os.path.relpath(vendor.parent / "images", here)).as_posix()
    page = _LOGO.sub(lambda m: f'src="{images}/{m.group(1)}"', page)
    return _TAG.sub(local, page)


def make_offline(site: Path, assets: Path | None = None) -> dict[str, object]:
    """Copy the CDN files into ``site/static/vendor`` and point every page of ``site`` at
    them. Returns the pages rewritten and the remote URLs still loaded (scripts, styles,
    images; links to pages are not loads)."""
    assets = assets or assets_dir()
    pages = sorted(site.rglob("*.html"))
    if assets is None:
        log.warning(
            "Data Docs keep their CDN scripts and styles (offline the index stays empty): "
            "the npm packages of web/data_docs are not installed (make install) and %s is "
            "unset",
            ASSETS_ENV,
        )
        return {"pages": 0, "remote": sorted(CDN_FILES)}
    vendor = site / "static" / "vendor"
    have = set()
    for url, rel in CDN_FILES.items():
        if (assets / rel).is_file():
            (vendor / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(assets / rel, vendor / rel)
            have.add(url)
    for rel in CDN_FOLDERS:
        if (assets / rel).is_dir():
            shutil.copytree(assets / rel, vendor / rel, dirs_exist_ok=True)
    remote: set[str] = set()
    for page in pages:
        text = page.read_text("utf-8")
        new = _rewrite(text, vendor, page.parent, have)
        if new != text:
            page.write_text(new, "utf-8")
        remote |= {m.group(1) for t in _TAG.finditer(new) if (m := _REMOTE.search(t.group(0)))}
        remote |= set(re.findall(r'<img[^>]*\ssrc="(https?://[^"]+)"', new))
    if remote:
        log.warning("Data Docs still load from the network: %s", ", ".join(sorted(remote)))
    return {"pages": len(pages), "remote": sorted(remote)}
