"""Locale-aware formats of the digest's values (numbers, money, percentages, days, dates).

The digest speaks ``en`` and ``zh-CN``; every number, amount and date in it goes through this
module, which uses the CLDR data of Babel: ``Oct 2, 2026`` and ``2026年10月2日``, ``$1,234``
and ``US$1,234`` (whole currency units), ``28.3%``, ``95 days`` and ``95 天``.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent, parse_pattern

from kam_transforms.addresses import LOCALES
from kam_transforms.addresses import normalise_locale as supported_locale

__all__ = [
    "LOCALES",
    "babel_locale",
    "format_days",
    "format_iso_date",
    "format_money",
    "format_month",
    "format_number",
    "format_share",
    "supported_locale",
]


#: The digests' locales (kam_transforms.addresses.LOCALES) as Babel names them; any other
#: tag reads English (supported_locale = addresses.normalise_locale, as routing decides).
_BABEL = {"en": "en_US", "zh-CN": "zh_Hans_CN"}


@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(_BABEL[supported_locale(locale)])


def format_number(value: float, locale: str, decimals: int = 0) -> str:
    """Grouped digits: ``1,234,568``; ``decimals`` at most (trailing zeros dropped)."""
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "")
    return format_decimal(value, pattern, locale=babel_locale(locale))


def format_money(value: float, currency: str, locale: str) -> str:
    """An amount in whole units of ``currency`` (an ISO 4217 code) in the locale's currency
    format: ``$926,100``, ``CN¥926,100`` (en); ``US$926,100``, ``¥926,100`` (zh-CN)."""
    loc = babel_locale(locale)
    pattern = parse_pattern(loc.currency_formats["standard"].pattern)
    pattern.frac_prec = (0, 0)
    return pattern.apply(value, loc, currency=currency.upper(), currency_digits=False)


def format_share(value: float, locale: str, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.283 -> ``28.3%``, 1.0 -> ``100%``."""
    pattern = "#,##0" + ("." + "#" * decimals if decimals > 0 else "") + "%"
    return format_percent(value, pattern, locale=babel_locale(locale))


def format_days(value: float, locale: str) -> str:
    """``1 day``, ``95 days``, ``30.5 days`` (en); ``95 天`` (zh-CN)."""
    number = format_number(value, locale, 1)
    if supported_locale(locale) == "zh-CN":
        return f"{number} 天"
    return f"{number} day" if math.isclose(abs(value), 1.0) else f"{number} days"


def format_iso_date(value: str | dt.date, locale: str) -> str:
    """A date in the locale's medium format: ``Oct 2, 2026``, ``2026年10月2日``."""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return format_date(day, "medium", locale=babel_locale(locale))


def format_month(value: dt.date, locale: str) -> str:
    """A month: ``Nov 2025``, ``2025年11月``."""
    return format_skeleton("yMMM", value, locale=babel_locale(locale))
