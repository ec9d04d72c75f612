"""The KAM cockpit: a static, offline HTML report of every published run.

Pages (overview, Pareto and ABC migration, value matrix, lifecycle, health, CLV, one page
per account manager) are written by publish and by ``kam report --as-of DATE`` under
``$KAM_HOME/reports/cockpit/<date>/``; charts are matplotlib figures inlined as SVG, tables
sort with an inline script, so the folder opens from a file URL with no network. English by
default, zh-CN with ``KAM_REPORT_LOCALE=zh-CN``.
"""

from kam_transforms.cockpit.i18n import LOCALE_ENV, LOCALES, Labels, resolve_locale
from kam_transforms.cockpit.writer import cockpit_dir, write_cockpit

__all__ = ["LOCALES", "LOCALE_ENV", "Labels", "cockpit_dir", "resolve_locale", "write_cockpit"]
