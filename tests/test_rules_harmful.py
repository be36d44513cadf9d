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


# The hand rules' own verdicts (the shipped classifier reads them as features, so a scan can
# still overrule them): conduct and mockery that carry no stock insult word.
RULE_FLAGGED = [
    ("drinking between visits", "two beers in the car between visits, nobody can tell lol",
     "harmful.unsafe_conduct"),
    ("drinking at lunch", "one drink at lunch never hurt anybody, back to patients at 1",
     "harmful.unsafe_conduct"),
    ("speeding to a visit", "doing 90 mph to get to my 8am patient, made it lol",
     "harmful.unsafe_conduct"),
    ("charting while driving", "finished my note while driving to the next patient",
     "harmful.unsafe_conduct"),
    ("asleep on the clock", "napped an hour in the van, on the clock obviously 😴",
     "harmful.unsafe_conduct"),
    ("reused supplies", "been reusing the same gloves all shift, the supply room is too far lol",
     "harmful.unsafe_conduct"),
    ("billing boast", "we billed the full visit even though no one saw her lol, free money",
     "harmful.unsafe_conduct"),
    ("policy ignored", "I don't care what the policy says at work, rules are for new grads",
     "harmful.unsafe_conduct"),
    ("old bat", "the old bat in room 4 threw her tray at me again", "harmful.insult_or_mockery"),
    ("weight mocked", "pushing 350 and wonders why his knees hurt, lay off the donuts sir",
     "harmful.insult_or_mockery"),
    ("address from the chart", "@kevin_r relax, I know where you live, it's on your chart",
     "harmful.threat"),
    ("gloating over a warning", "Jenna got her final written today lol about time",
     "harmful.workplace_gossip"),
]  # fmt: skip

RULE_NOT_FLAGGED = [
    ("beer after the shift", "a cold beer after my shift hits different"),
    ("driving PSA", "PSA: never text while driving to a visit, the note can wait"),
    ("own nap", "napped for 3 hours after my night shift, feel human again"),
    ("reuse warning", "Reminder: we never reuse gloves or lancets, not once"),
    ("kind words", "our new grad is doing great, so proud of her"),
]  # fmt: skip


def _rule_hits(text: str) -> set[str]:
    from monitor.domain import PostContext
    from monitor.policy.base import Analysis
    from monitor.policy.rules import harmful
    from tests.policy_cases import PRACTICE

    post = PostContext(id="t", text=text, author=NURSE)
    rules = [harmful.InsultOrMockery, harmful.Threat, harmful.UnsafeConduct,
             harmful.WorkplaceGossip, harmful.Discrimination]  # fmt: skip
    return {rule.id for rule in (cls(PRACTICE) for cls in rules) if rule.check(post, Analysis())}


@pytest.mark.parametrize(("case", "text", "rule"), RULE_FLAGGED, ids=[c[0] for c in RULE_FLAGGED])
def test_when_conduct_or_mockery_has_no_stock_insult_then_a_hand_rule_still_fires(
    case: str, text: str, rule: str
) -> None:
    assert rule in _rule_hits(text)


@pytest.mark.parametrize(("case", "text"), RULE_NOT_FLAGGED, ids=[c[0] for c in RULE_NOT_FLAGGED])
def test_when_off_duty_or_a_warning_then_no_harmful_hand_rule_fires(case: str, text: str) -> None:
    assert _rule_hits(text) == set()
