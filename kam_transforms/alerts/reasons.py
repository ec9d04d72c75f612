"""An alert's texts in the recipient's locale, from its typed evidence and the catalogue.

``key_account_alerts.evidence`` is a JSON object of typed values (``evidence_json`` in
``dbt_project/macros/text.sql``): ``{"overdue_amount_base": {"value": 926100.0, "unit":
"money", "currency": "CNY"}, ...}``. :func:`reason_for` renders the rule's reason from it
with the catalogue (:mod:`~kam_transforms.alerts.catalogue`), :func:`evidence_table` the
labelled values, :func:`rule_name` and :func:`next_step` the rule's name and suggestion.

A rule, a locale, a label or a code domain the catalogue lacks raises
:class:`MissingTemplateError`; evidence that is not typed, or lacks a key its template uses,
raises :class:`EvidenceError`. Neither falls back to the English text of the warehouse.
"""

from __future__ import annotations

import json
import math
import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kam_transforms.alerts.catalogue import RULES
from kam_transforms.alerts.localise import (
    LOCALES,
    format_days,
    format_iso_date,
    format_money,
    format_number,
    format_share,
    supported_locale,
)
from kam_transforms.alerts.vocabulary import CODES, LABELS, WORDS

__all__ = [
    "NEXT_STEPS_ENV",
    "UNITS",
    "EvidenceError",
    "EvidenceValue",
    "MissingTemplateError",
    "catalogue_problems",
    "evidence_table",
    "format_value",
    "load_next_steps",
    "next_step",
    "parse_evidence",
    "reason_for",
    "rule_name",
]

NEXT_STEPS_ENV = "KAM_ALERT_NEXT_STEPS"
UNITS = frozenset(
    {"money", "count", "number", "days", "date", "share", "score", "ratio", "flag", "id",
     "text", "code"}
)  # fmt: skip


class MissingTemplateError(LookupError):
    """The catalogue has no text for a rule, locale, evidence label or code domain."""


class EvidenceError(ValueError):
    """An alert's evidence is not typed evidence, or lacks a value its template needs."""


@dataclass(frozen=True)
class EvidenceValue:
    """One typed evidence value; ``currency`` for money, ``domain`` for codes."""

    key: str
    value: Any
    unit: str
    currency: str | None = None
    domain: str | None = None

    @property
    def is_null(self) -> bool:
        return self.value is None or (isinstance(self.value, float) and math.isnan(self.value))


def parse_evidence(evidence: str | None, rule_id: str = "") -> dict[str, EvidenceValue]:
    """The typed values of an evidence JSON text, in its key order."""
    where = f"evidence of {rule_id}" if rule_id else "evidence"
    try:
        parsed = json.loads(evidence or "{}")
    except ValueError as exc:
        raise EvidenceError(f"{where} is not JSON: {evidence!r:.200}") from exc
    if not isinstance(parsed, dict):
        raise EvidenceError(f"{where} is not a JSON object: {evidence!r:.200}")
    values: dict[str, EvidenceValue] = {}
    for key, item in parsed.items():
        if not isinstance(item, dict) or item.get("unit") not in UNITS:
            raise EvidenceError(
                f"{where}: {key!r} is not a typed value with a unit in {sorted(UNITS)}: "
                f"{item!r:.100}"
            )
        unit = item["unit"]
        if unit == "money" and not item.get("currency"):
            raise EvidenceError(f"{where}: money value {key!r} has no currency")
        if unit == "code" and not item.get("domain"):
            raise EvidenceError(f"{where}: code value {key!r} has no domain")
        values[key] = EvidenceValue(
            key, item.get("value"), unit, item.get("currency"), item.get("domain")
        )
    return values


def _word(name: str, locale: str) -> str:
    return WORDS[name][locale]


def format_value(item: EvidenceValue, locale: str, spec: str = "") -> str:
    """``item`` in ``locale`` by its unit; ``spec`` ``abs`` drops a sign, ``signed`` adds one."""
    locale = supported_locale(locale)
    if item.is_null:
        return _word("unknown", locale)
    value = item.value
    unit = item.unit
    if unit in {"money", "count", "number", "days", "share", "score", "ratio"}:
        number = float(value)
        if spec == "abs":
            number = abs(number)
        shown = _number(unit, number, item.currency, locale)
        return "+" + shown if spec == "signed" and number > 0 else shown
    if unit == "date":
        return format_iso_date(str(value), locale)
    if unit == "flag":
        return _word("yes" if value else "no", locale)
    if unit == "code":
        domain = CODES.get(str(item.domain))
        if domain is None:
            raise MissingTemplateError(f"no words for the code domain {item.domain!r}")
        words = domain.get(str(value))
        return words[locale] if words else str(value)
    return str(value)  # id, text: shown as they are


def _number(unit: str, number: float, currency: str | None, locale: str) -> str:
    if unit == "money":
        return format_money(number, str(currency), locale)
    if unit in {"count", "number"}:
        return format_number(number, locale)
    if unit == "days":
        return format_days(number, locale)
    if unit == "share":
        return format_share(number, locale, 1 if abs(number) < 0.1 else 0)
    if unit == "ratio":
        return _word("times", locale).format(value=format_number(number, locale, 1))
    return format_number(number, locale, 1)  # score


class _Formatter(string.Formatter):
    def __init__(self, evidence: Mapping[str, EvidenceValue], locale: str, where: str) -> None:
        self.evidence, self.locale, self.where = evidence, locale, where

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if key not in self.evidence:
            raise EvidenceError(f"{self.where} uses {{{key}}}, which the evidence lacks")
        return self.evidence[str(key)]

    def format_field(self, value: Any, format_spec: str) -> str:
        return format_value(value, self.locale, format_spec)


def _rule(rule_id: str) -> Mapping[str, Any]:
    try:
        return RULES[rule_id]
    except KeyError:
        raise MissingTemplateError(
            f"no templates for rule {rule_id!r}: add it to kam_transforms/alerts/catalogue.py"
        ) from None


def _text(texts: Mapping[str, str], locale: str, what: str) -> str:
    try:
        return texts[locale]
    except KeyError:
        raise MissingTemplateError(f"no {locale} text for {what}") from None


def rule_name(rule_id: str, locale: str) -> str:
    """The rule's human name: ``Overdue invoices``, ``发票逾期``."""
    locale = supported_locale(locale)
    return _text(_rule(rule_id)["name"], locale, f"the name of {rule_id}")


def _matches(variant: Mapping[str, Any], evidence: Mapping[str, EvidenceValue]) -> bool:
    required = all(k in evidence and not evidence[k].is_null for k in variant.get("requires", ()))
    when = all(k in evidence and evidence[k].value == v for k, v in variant.get("when", {}).items())
    return required and when


def reason_for(rule_id: str, evidence: str | None, locale: str) -> str:
    """The reason of an alert of ``rule_id`` in ``locale`` from its evidence JSON text."""
    locale = supported_locale(locale)
    values = parse_evidence(evidence, rule_id)
    variants = _rule(rule_id)["reason"]
    variant = next((v for v in variants if _matches(v, values)), variants[-1])
    template = _text(variant, locale, f"the reason of {rule_id}")
    return _Formatter(values, locale, f"the {locale} reason of {rule_id}").format(template)


def label(key: str, locale: str) -> str:
    """The label of an evidence key in ``locale``."""
    texts = LABELS.get(key)
    if texts is None:
        raise MissingTemplateError(
            f"no label for the evidence key {key!r}: add it to kam_transforms/alerts/vocabulary.py"
        )
    return _text(texts, supported_locale(locale), f"the label of {key!r}")


def evidence_table(rule_id: str, evidence: str | None, locale: str) -> list[tuple[str, str]]:
    """(label, formatted value) of every evidence value, in the rule's order."""
    values = parse_evidence(evidence, rule_id)
    return [(label(key, locale), format_value(item, locale)) for key, item in values.items()]


def next_step(
    rule_id: str,
    evidence: str | None,
    locale: str,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The suggested next step: ``overrides[rule_id][locale]`` else the catalogue's."""
    locale = supported_locale(locale)
    override = (overrides or {}).get(rule_id, {})
    template = override.get(locale) or _text(
        _rule(rule_id)["next_step"], locale, f"the next step of {rule_id}"
    )
    values = parse_evidence(evidence, rule_id)
    return _Formatter(values, locale, f"the {locale} next step of {rule_id}").format(template)


def load_next_steps(path: str | Path | None = None) -> dict[str, dict[str, str]]:
    """Next-step overrides from a JSON file (``path``, else ``KAM_ALERT_NEXT_STEPS``; none:
    ``{}``): ``{"<rule_id>": {"en": "...", "zh-CN": "..."}}`` or ``{"<rule_id>": "..."}`` for
    every locale.

    Raises
    ------
    ValueError
        Naming the file and the entry: not JSON, an unknown rule, an unknown locale or a
        text that is not a non-empty string.
    """
    source = path if path is not None else os.environ.get(NEXT_STEPS_ENV)
    if not source:
        return {}
    file = Path(source)
    try:
        parsed = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"next steps file {file}: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ValueError(f"next steps file {file}: expected a JSON object of rule ids")
    steps: dict[str, dict[str, str]] = {}
    for rule_id, texts in parsed.items():
        if rule_id not in RULES:
            raise ValueError(f"next steps file {file}: unknown rule {rule_id!r}")
        by_locale = dict.fromkeys(LOCALES, texts) if isinstance(texts, str) else texts
        if not isinstance(by_locale, dict):
            raise ValueError(f"next steps file {file}: {rule_id}: expected text or an object")
        for locale, text in by_locale.items():
            if locale not in LOCALES:
                raise ValueError(f"next steps file {file}: {rule_id}: unknown locale {locale!r}")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"next steps file {file}: {rule_id}.{locale}: empty text")
        steps[rule_id] = {locale: str(text).strip() for locale, text in by_locale.items()}
    return steps


def catalogue_problems(rule_ids: Sequence[str] = ()) -> list[str]:
    """What the catalogue lacks: every rule (of ``RULES`` and ``rule_ids``) needs a name, at
    least one reason and a next step in every locale; every variant every locale."""
    problems = []
    for rule_id in sorted(set(RULES) | set(rule_ids)):
        entry = RULES.get(rule_id)
        if entry is None:
            problems.append(f"{rule_id}: no templates")
            continue
        for part in ("name", "next_step"):
            problems += [f"{rule_id}.{part}: no {loc}" for loc in LOCALES if loc not in entry[part]]
        if not entry.get("reason"):
            problems.append(f"{rule_id}.reason: no variant")
        for n, variant in enumerate(entry.get("reason", ())):
            missing = [loc for loc in LOCALES if loc not in variant]
            problems += [f"{rule_id}.reason[{n}]: no {loc}" for loc in missing]
    return problems
