"""patient_privacy: an identifiable patient tied to care (POLICY.md and its hard cases)."""

from __future__ import annotations

import pytest

from monitor.domain import Author, Channel
from tests.policy_cases import FRONT_DESK, MARKETING, NURSE, categories, scan

P = "patient_privacy"

FLAGGED = [
    ("relationship + visit", "My neighbour's son came in today with a broken arm, poor kid", NURSE),
    ("name + result", "Jessica Moore came in for her biopsy results, stage 4 unfortunately", NURSE),
    ("room + condition", "the guy in room 12 is detoxing hard tonight", NURSE),
    ("record number", "Can someone pull MRN 00482917? her potassium labs look off", NURSE),
    ("phone + test", "Need a working number for Tom Reyes, 217-555-0143 is dead, about his labs",
     FRONT_DESK),
    ("age + rare detail", "a 19-year-old ballet soloist came in today with a torn ACL", NURSE),
    ("initials + condition", "pt J.R. in bay 4 finally admitted for pneumonia", NURSE),
    ("birth date", "pt born 02/29/1944 is here for her flu shot, so cute", FRONT_DESK),
    ("chart photo", "[photo of the chart] look at this guy's A1c", NURSE),
    ("third party's kin", "Filled a script for the mayor's daughter this morning 👀", NURSE),
    ("being a patient", "Can't believe your boss Mike is one of my clients now", NURSE),
]  # fmt: skip

NOT_FLAGGED = [
    ("general health topic", "Flu cases are up this week, get your flu shot!", NURSE),
    ("own health", "Had to get 4 stitches myself after slicing a bagel 🥯", NURSE),
    ("public figure", "Bruce Willis's family has shared his dementia diagnosis.", MARKETING),
    ("statistics", "We saw 40 patients with flu this week, stay home if you're sick", NURSE),
    ("practice phone", "Call us at (555) 301-7700 to book your flu shot", FRONT_DESK),
    ("room, no patient", "room 3's exam table is FINALLY fixed 🙌", FRONT_DESK),
    ("teaching case", "Board question: a 45-year-old presents with chest pain. Next step? #MedEd",
     NURSE),
    ("fiction", "The Pitt ep 5, the patient in bed 4... I'm not crying you're crying", NURSE),
    ("public event date", "FREE health fair Saturday, May 18, 10am: BP checks and flu shots",
     MARKETING),
    ("staff name", "Maya Torres gave 30 flu shots today, what a champ", FRONT_DESK),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "author"), FLAGGED, ids=[c[0] for c in FLAGGED])
def test_when_identifier_meets_care_then_privacy_is_flagged(
    case: str, text: str, author: Author
) -> None:
    assert P in categories(text, author)


@pytest.mark.parametrize(("case", "text", "author"), NOT_FLAGGED, ids=[c[0] for c in NOT_FLAGGED])
def test_when_no_patient_is_identified_then_privacy_is_not_flagged(
    case: str, text: str, author: Author
) -> None:
    assert P not in categories(text, author)


def test_when_reply_confirms_care_then_privacy_is_flagged() -> None:
    text = "@kwilliams_88 Thank you Kim! We're thrilled the new inhaler is working for you"
    assert P in categories(text, MARKETING, Channel.COMMENT)


def test_when_reply_advises_the_addressee_then_it_is_not_privacy() -> None:
    text = "Linda, with the kidney disease you mentioned you should stop the ibuprofen."
    assert P not in categories(text, NURSE, Channel.COMMENT)


def test_when_reply_points_to_care_then_nothing_is_confirmed() -> None:
    text = "@jen_loves_cats sore throat with fever is worth a visit, call your doctor or us"
    assert categories(text, NURSE, Channel.COMMENT) == set()


def test_when_privacy_flagged_then_spans_cover_identifier_and_care() -> None:
    text = "Jessica Moore came in for her biopsy results"
    [finding] = [f for f in scan(text) if str(f.category) == P]
    covered = [text[s:e] for s, e in finding.spans]
    assert any("Jessica Moore" in c for c in covered)
    assert any("biopsy" in c for c in covered)
    assert finding.rule == "privacy.identifier_with_care_context"
    assert str(finding.severity) == "critical"
