"""A last line of defence against identifiers leaving in an email.

The scanner stores a masked excerpt (``<PERSON>``, ``<PHONE_NUMBER>``...) with each finding, and
that excerpt is what digests show. This module masks it once more, with patterns only, so that an
identifier a detector missed or a hand-written explanation let through does not reach an inbox:
e-mail addresses, US SSNs, card numbers, phone numbers, numeric dates and long digit runs
(record, member, account numbers), with ``mask_identifiers`` (patterns only, pure, cheap).
Names need a model: ``mask_names`` runs a person-name finder (the scanner's spaCy NER) over
excerpts, because the scanner may skip NER on a post where it could not change the finding,
leaving a name in its excerpt. Masking is idempotent: a placeholder is never masked again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

# Order matters: the more specific patterns run first so that, e.g., an SSN is not reported as
# a generic number and a phone number is not cut into two ids.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "EMAIL_ADDRESS",
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ),
    ("US_SSN", re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b")),
    ("CREDIT_CARD", re.compile(r"\b\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}\b")),
    (
        "PHONE_NUMBER",
        re.compile(
            r"(?:(?<![\w+])\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\b\d{3})[\s.-]?\d{3}[\s.-]?\d{4}\b"
        ),
    ),
    ("DATE_TIME", re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b")),
    ("ID", re.compile(r"\b[A-Za-z]{0,4}#?\d{5,}\b")),
)


def mask_identifiers(text: str) -> str:
    """``text`` with pattern-recognizable identifiers replaced by ``<ENTITY_TYPE>``."""
    for entity, pattern in _PATTERNS:
        text = pattern.sub(f"<{entity}>", text)
    return text


def contains_identifier(text: str) -> bool:
    """Whether ``mask_identifiers`` would change ``text`` (for checks and tests)."""
    return mask_identifiers(text) != text


# A finder returns, for each text, the (start, end, entity type) of what it recognized.
EntityFinder = Callable[[list[str]], list[list[tuple[int, int, str]]]]
NAME_ENTITIES = frozenset({"PERSON"})
_WORD = re.compile(r"[\w'’-]+")


def _tokens(value: str) -> frozenset[str]:
    return frozenset(t.lower() for t in _WORD.findall(value))


def mask_names(texts: Sequence[str], finder: EntityFinder, allow: Iterable[str] = ()) -> list[str]:
    """Each text with the person names ``finder`` recognizes replaced by ``<PERSON>``.

    Names of the practice's own staff (``allow``) stay: they are who the digest is about, not
    patients. A name is allowed when all its words belong to one allowed name ("Priya" for
    "Dr. Priya Natarajan").
    """
    allowed = [_tokens(a) for a in allow if a.strip()]
    found = finder(list(texts)) if texts else []
    masked: list[str] = []
    for text, entities in zip(texts, found, strict=True):
        for start, end, kind in sorted(entities, key=lambda e: e[0], reverse=True):
            if kind not in NAME_ENTITIES or not 0 <= start < end <= len(text):
                continue
            words = _tokens(text[start:end]) - {"person"}
            if not words or any(words <= a for a in allowed):
                continue
            text = f"{text[:start]}<{kind}>{text[end:]}"
        masked.append(text)
    return masked


def spacy_name_finder(model: str) -> EntityFinder:
    """A finder backed by the scanner's spaCy NER engine (loaded once per process)."""
    from monitor.policy.nlp import ner_engine

    engine = ner_engine(model)

    def find(texts: list[str]) -> list[list[tuple[int, int, str]]]:
        return [
            [(r.start, r.end, r.entity_type) for r in results]
            for results in engine.analyze_many(texts)
        ]

    return find
