"""confidential_info: the practice's internal information, even in private channels."""

from __future__ import annotations

import pytest

from monitor.domain import Author, Channel
from tests.policy_cases import BILLING, FRONT_DESK, MARKETING, NURSE, categories, scan

C = "confidential_info"

FLAGGED = [
    ("credentials", "The wifi password is Sunrise2024! for anyone at the office", FRONT_DESK,
     "confidential.credentials"),
    ("payer terms", "Aetna finally agreed to 115% of Medicare for us after 6 months", BILLING,
     "confidential.internal_finances"),
    ("billing codes", "we're switching all annual physicals to 99215 next month, pays better",
     BILLING, "confidential.internal_finances"),
    ("losses", "Q3 numbers are in and Sunrise FM lost $212k on the urgent care side", BILLING,
     "confidential.internal_finances"),
    ("merger", "Heard we're merging with Valley Health next month, don't tell anyone", NURSE,
     "confidential.unreleased_plans"),
    ("new site", "we just signed the lease for our 2nd location! Official announcement in April",
     MARKETING, "confidential.unreleased_plans"),
    ("personnel", "sooo Brittany is on a PIP lol", FRONT_DESK, "confidential.personnel"),
    ("salary", "New front desk hire is starting at $21/hr, more than those of us here 5 years",
     FRONT_DESK, "confidential.personnel"),
    ("security", "our EHR got hit with ransomware last night, everything is down", NURSE,
     "confidential.security_incident"),
    ("legal", "Just got served in a malpractice suit. Lawyers say don't talk about it", NURSE,
     "confidential.legal_matters"),
    ("screenshot", "[photo of next month's scheduling template] look how many slots they gave me",
     FRONT_DESK, "confidential.internal_screenshot"),
    ("practice term", "Can't wait for Project Bluebird to go live", NURSE,
     "confidential.practice_terms"),
]  # fmt: skip

NOT_FLAGGED = [
    ("announced", "We're excited to announce our second location opens in May!", MARKETING),
    ("public policy", "Congress keeps cutting Medicare physician pay while costs go up.", NURSE),
    ("security advice", "Never share your password, even with IT. Stay safe online!", MARKETING),
    ("general stat", "'Password123' is still the most common hospital password in breach dumps",
     NURSE),
    ("own good news", "Celebrating 10 years at Sunrise FM today!", NURSE),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "author", "rule"), FLAGGED, ids=[c[0] for c in FLAGGED])
def test_when_internal_information_is_shared_then_confidential_is_flagged(
    case: str, text: str, author: Author, rule: str
) -> None:
    findings = [f for f in scan(text, author) if str(f.category) == C]
    assert rule in {f.rule for f in findings}


@pytest.mark.parametrize(("case", "text", "author"), NOT_FLAGGED, ids=[c[0] for c in NOT_FLAGGED])
def test_when_information_is_public_or_general_then_confidential_is_not_flagged(
    case: str, text: str, author: Author
) -> None:
    assert C not in categories(text, author)


def test_when_posted_in_a_direct_message_then_confidential_still_applies() -> None:
    text = "Board approved cutting 2 RN positions in Q2. Don't tell Marcus yet."
    assert C in categories(text, NURSE, Channel.DIRECT)
