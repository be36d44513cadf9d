"""medical_advice: a diagnosis, dose, treatment or skip-care decision for one person."""

from __future__ import annotations

import pytest

from monitor.domain import Channel
from tests.policy_cases import FRONT_DESK, NURSE, categories

A = "medical_advice"

FLAGGED = [
    ("diagnosis + leftovers", "@jen sounds like strep, take the leftover amoxicillin",
     Channel.COMMENT),
    ("dose by name", "Linda, switch to 1000mg Tylenol 3x daily.", Channel.COMMENT),
    ("stop medication", "You don't need your meds anymore, Jordan. Just stop the Lexapro.",
     Channel.DIRECT),
    ("skip care", "Dennis, honestly skip the colonoscopy. You're fine.", Channel.COMMENT),
    ("no need to be seen", "Carol, that mole sounds benign. No need to get it checked.",
     Channel.COMMENT),
    ("bare dose", "@runner_girl_22 shin splints. 800 ibuprofen and run through it",
     Channel.COMMENT),
    ("someone else's pills", "just take 2 of your mom's percocet for your back", Channel.DIRECT),
]  # fmt: skip

NOT_FLAGGED = [
    ("public health", "Get your flu shot! It's the best protection we have.", Channel.PUBLIC),
    ("redirect", "@sarahlynn rashes need to be seen in person, please see your doctor today",
     Channel.COMMENT),
    ("emergency", "Tom, chest pain with arm numbness = go to the ER NOW or call 911.",
     Channel.COMMENT),
    ("general tip", "Antibiotics: take the full course your prescriber gave you.", Channel.PUBLIC),
    ("booking", "@mike we'd be happy to see you, book a visit online!", Channel.COMMENT),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "channel"), FLAGGED, ids=[c[0] for c in FLAGGED])
def test_when_advice_is_individualized_then_it_is_flagged(
    case: str, text: str, channel: Channel
) -> None:
    assert A in categories(text, FRONT_DESK, channel)


@pytest.mark.parametrize(("case", "text", "channel"), NOT_FLAGGED, ids=[c[0] for c in NOT_FLAGGED])
def test_when_general_or_redirecting_then_advice_is_not_flagged(
    case: str, text: str, channel: Channel
) -> None:
    assert A not in categories(text, NURSE, channel)


@pytest.mark.parametrize(
    "text",
    [
        "Tom, chest pain with arm numbness = go to the ER NOW or call 911.",
        "@jen that rash needs a look, please book a visit with us this week",
        "Sorry you're feeling awful Sam, call your doctor today and get it checked.",
    ],
)
def test_when_post_only_redirects_to_care_then_no_rule_flags_advice(text: str) -> None:
    assert A not in categories(text, NURSE, Channel.COMMENT)


def test_a_start_within_reach_is_found_as_the_pairwise_definition_finds_it() -> None:
    import random

    from monitor.policy.rules.advice import _starts_within

    rnd = random.Random(5)
    for _ in range(2000):
        starts = sorted(rnd.sample(range(200), rnd.randint(0, 12)))
        position, distance = rnd.randint(0, 210), rnd.randint(0, 40)
        expected = any(position <= s <= position + distance for s in starts)
        assert _starts_within(starts, position, distance) == expected
