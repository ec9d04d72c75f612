"""E-mail addresses and locale tags as routing and the landing read them (one definition).

- :func:`normalise_address`: a lower-cased ``local@domain`` when a value is one plain ASCII
  address (what an SMTP envelope can carry), else ``None``;
- :func:`canonical_locale`: a well-formed language tag (``zh_cn`` -> ``zh-CN``,
  ``zh-hans`` -> ``zh-Hans``), else ``None``; :func:`normalise_locale`: the digest locale
  of a tag (``zh-CN`` for any mainland or simplified Chinese spelling, otherwise ``en``).
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

__all__ = ["LOCALES", "canonical_locale", "normalise_address", "normalise_locale"]

#: The locales a digest is rendered in.
LOCALES: tuple[str, ...] = ("en", "zh-CN")

#: language (2-3 letters), optional script (4 letters), optional region (2 letters or 3 digits).
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|[0-9]{3}))?$")
_ZH_CN = {"zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg", "cn"}


def normalise_address(value: str | None) -> str | None:
    """A lower-cased ``local@domain`` if ``value`` is one plain ASCII address, else None."""
    if not value:
        return None
    text = value.strip()
    if (
        not text
        or not text.isascii()
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text)
    ):
        return None
    try:
        address = Address(addr_spec=text)
    except (ValueError, HeaderParseError, IndexError):
        return None
    if not address.username or not address.domain or "." not in address.domain:
        return None
    return address.addr_spec.lower()


def canonical_locale(value: str | None) -> str | None:
    """``value`` as a canonical language tag (``zh_cn`` -> ``zh-CN``), or None if malformed."""
    if not value:
        return None
    match = _TAG.match(value.strip().replace("_", "-"))
    if match is None:
        return None
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)


def normalise_locale(value: str | None) -> str:
    """``zh-CN`` for any Chinese (mainland/simplified) locale spelling, else ``en``."""
    if not value:
        return "en"
    tag = value.strip().replace("_", "-").lower()
    return "zh-CN" if tag in _ZH_CN else "en"
