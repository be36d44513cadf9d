"""A last line of defence against identifiers leaving in an email.

The scanner stores a masked excerpt (``<PERSON>``, ``<PHONE_NUMBER>``...) with each finding, and
that excerpt is what digests show. This module masks it once more, with patterns only, so that an
identifier a detector missed or a hand-written explanation let through does not reach an inbox:
e-mail addresses, US SSNs, card numbers, phone numbers, numeric dates and long digit runs
(record, member, account numbers). Names cannot be recognized by patterns; they rely on the
scanner's masking, and the digest never carries the post's own text unless the deployment asks.

Pure and cheap (no NLP model, no presidio import): it runs on every excerpt of every email.
Masking is idempotent: a placeholder is never masked again.
"""

from __future__ import annotations

import re

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
