"""missing_disclosure: speaking for the practice or advising as a clinician, undisclosed."""

from __future__ import annotations

import pytest

from monitor.domain import Author, Channel
from tests.policy_cases import FRONT_DESK, NURSE, NURSE_DISCLAIMED, categories

D = "missing_disclosure"
AFFILIATED = Author("Ben Ortiz", "front_desk", "Front desk @ Sunrise Family Medicine")
PHYSICIAN = Author("Dr. Lee", "physician", "Husband, father, Spurs fan.")

FLAGGED = [
    ("praise, no affiliation", "Sunrise Family Medicine has the best docs in town!", FRONT_DESK),
    ("offer", "Sunrise FM is doing $25 sports physicals all August, tell your friends",
     FRONT_DESK),
    ("misspelt practice", "Sunrsie Family Medicine's nurses are the greatest", FRONT_DESK),
    ("clinician guidance", "Sunscreen every day, even when it's cloudy. SPF 30+.", PHYSICIAN),
    ("clinician claim", "Antibiotics don't treat colds. Rest, fluids, and time.", PHYSICIAN),
    ("clinician advice", "@tony_g just double your metformin tonight, no problem", NURSE),
]  # fmt: skip

NOT_FLAGGED = [
    ("affiliation in bio", "Sunrise Family Medicine has the best docs in town!", AFFILIATED),
    ("affiliation in post", "I work at Sunrise FM and our team is the best", FRONT_DESK),
    ("full disclaimer", "Sunscreen every day, even when it's cloudy. SPF 30+.", NURSE_DISCLAIMED),
    ("clinician, no guidance", "long shift, exhausted, going to sleep for 14 hours", NURSE),
    pytest.param(
        "non-clinician tip", "Drink water, it's hot out there!", FRONT_DESK,
        # A known false positive of the classifier retrained on 32 corpora (probability .567,
        # threshold .50; "Stay hydrated today, it's hot out there!" gets .16). Strict: the
        # mark goes when the model stops flagging it.
        marks=pytest.mark.xfail(strict=True, reason="learned disclosure classifier false positive"),
        id="non-clinician tip",
    ),
    ("practice, no promotion", "Sunrise FM parking lot is flooded again, bring boots", FRONT_DESK),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "author"), FLAGGED, ids=[c[0] for c in FLAGGED])
def test_when_disclosure_is_missing_then_it_is_flagged(
    case: str, text: str, author: Author
) -> None:
    channel = Channel.COMMENT if text.startswith("@") else Channel.PUBLIC
    assert D in categories(text, author, channel)


@pytest.mark.parametrize(
    ("case", "text", "author"),
    NOT_FLAGGED,
    ids=[c[0] if isinstance(c[0], str) else None for c in NOT_FLAGGED],
)
def test_when_disclosed_or_not_speaking_for_anyone_then_not_flagged(
    case: str, text: str, author: Author
) -> None:
    assert D not in categories(text, author)


def _fuzzy_by_definition(names: list[str], text: str) -> list[tuple[int, int]]:
    """Every window of as many words as a name whose difflib ratio to it is >= 0.88."""
    import re
    from difflib import SequenceMatcher

    tokens = [(m.group().lower(), m.start(), m.end()) for m in re.finditer(r"[\w&]+", text)]
    found = []
    for name in names:
        n = len(name.split())
        if len(name) < 8 or n < 2:
            continue
        for i in range(len(tokens) - n + 1):
            window = tokens[i : i + n]
            candidate = re.sub(r"(?:'s|s)$", "", " ".join(t[0] for t in window))
            if candidate[0] == name[0].lower() and (
                SequenceMatcher(None, candidate, name.lower()).ratio() >= 0.88
            ):
                found.append((window[0][1], window[-1][2]))
    return found


def test_misspelt_practice_names_are_found_exactly_as_difflib_defines_them() -> None:
    """The quick_ratio prefilters must never change which windows match."""
    import random

    from monitor.policy.rules.disclosure import UndisclosedAffiliation
    from tests.policy_cases import PRACTICE

    rule = UndisclosedAffiliation(PRACTICE)
    rnd = random.Random(7)
    hits = 0
    for name in rule._names:
        for _ in range(200):
            chars = list(name)
            for _ in range(rnd.choice([1, 1, 2, 3])):
                i, j = rnd.randrange(len(chars)), rnd.randrange(len(chars))
                chars[i], chars[j] = chars[j], chars[i]
            text = f"so proud of {''.join(chars)}'s team, and {name.upper()} again"
            expected = _fuzzy_by_definition(rule._names, text)
            assert rule._fuzzy(text) == expected, text
            hits += bool(expected)
    assert hits > 100  # the misspellings did reach the ratio test and pass it
