"""harmful_content: harassment, threats, discrimination, unsafe conduct; not mere frustration."""

from __future__ import annotations

import pytest

from tests.policy_cases import FRONT_DESK, NURSE, categories, scan

H = "harmful_content"

FLAGGED = [
    ("insult, unnamed patient", "my idiot patient in room 3 won't stop pressing the call light",
     "harmful.insult_or_mockery"),
    ("insult, colleague", "Luis in billing is a complete idiot. Same claim wrong 5 times",
     "harmful.insult_or_mockery"),
    ("mockery", "drug seekers at the front desk be like 'allergic to everything' 🤡",
     "harmful.insult_or_mockery"),
    ("threat", "Next patient who spits at me is going to catch these hands.", "harmful.threat"),
    ("threat, coworker", "I'd love to punch Derek in the face after that meeting",
     "harmful.threat"),
    ("discrimination", "patients who don't speak English should just go to a different clinic",
     "harmful.discrimination"),
    ("ageism", "Not hiring anyone over 50 for the front desk again, can't keep up",
     "harmful.discrimination"),
    ("unsafe boast", "Skipped hand hygiene all shift and nobody noticed lol",
     "harmful.unsafe_conduct"),
    ("diversion", "Took a few of the sample Xanax home, nobody counts those anyway",
     "harmful.unsafe_conduct"),
    ("gossip", "Kevin from the lab FINALLY got written up 🙃 took long enough",
     "harmful.workplace_gossip"),
]  # fmt: skip

NOT_FLAGGED = [
    ("frustration", "long shift, exhausted, going to sleep for 14 hours 😴"),
    ("policy criticism", "The state cutting Medicaid dental coverage is a disgrace."),
    ("kind words", "Had a patient today who reminded me why I love this job."),
    ("reassurance", "There's no such thing as a stupid question at your visit!"),
    pytest.param(
        "health advice",
        "Never come to work drunk or hungover, your patients deserve better",
        # A known false positive of the shipped harmful_content classifier (probability 0.67,
        # threshold 0.375): an admonition with no target. Strict: fixing it makes this fail,
        # so the mark is removed when the model stops flagging it.
        marks=pytest.mark.xfail(strict=True, reason="learned harmful classifier false positive"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "rule"), FLAGGED, ids=[c[0] for c in FLAGGED])
def test_when_content_targets_people_then_harmful_is_flagged(
    case: str, text: str, rule: str
) -> None:
    assert rule in {f.rule for f in scan(text, NURSE)}


@pytest.mark.parametrize(("case", "text"), NOT_FLAGGED)
def test_when_no_one_is_targeted_then_harmful_is_not_flagged(case: str, text: str) -> None:
    assert H not in categories(text, FRONT_DESK)


def test_when_patient_mocked_in_room_then_both_privacy_and_harmful() -> None:
    found = categories("the drunk idiot in room 2 just threw up on my shoes", NURSE)
    assert {H, "patient_privacy"} <= found
