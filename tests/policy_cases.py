"""Shared by the rule tables: scan one post with the real analyzer and the built-in policy."""

from __future__ import annotations

from functools import lru_cache

from monitor.config import PolicySettings
from monitor.domain import Author, Channel, Finding, PostContext
from monitor.policy.analyzer import PostAnalyzer
from monitor.policy.policy import Policy

PRACTICE = PolicySettings(
    practice_name="Sunrise Family Medicine",
    practice_aliases=["Sunrise FM", "@SunriseFamMed"],
    allow_phones=["(555) 301-7700"],
    allow_emails=["frontdesk@sunrisefm.example"],
    allow_names=["Maya Torres"],
    confidential_terms=["Project Bluebird"],
)

NURSE = Author("Maya Torres", "nurse", "RN. coffee first")
NURSE_DISCLAIMED = Author(
    "Maya Torres", "nurse", "RN at Sunrise FM. Not medical advice; opinions my own."
)
FRONT_DESK = Author("Ben Ortiz", "front_desk", "weekends are for hiking")
BILLING = Author("Ben Ortiz", "billing", "numbers person")
MARKETING = Author("Sunrise Family Medicine", "marketing", "Official page of Sunrise FM")


@lru_cache(maxsize=4)
def _engine(ner: bool) -> tuple[Policy, PostAnalyzer]:
    return Policy.from_settings(PRACTICE), PostAnalyzer(PRACTICE, ner=ner)


def scan(
    text: str,
    author: Author = NURSE,
    channel: Channel = Channel.PUBLIC,
    *,
    ner: bool = True,
) -> list[Finding]:
    """Findings of the built-in policy for one post (full analysis, no shortcuts)."""
    policy, analyzer = _engine(ner)
    post = PostContext(id="t", text=text, channel=channel, author=author)
    return policy.evaluate(post, analyzer.analyze([post])[0])


def categories(text: str, author: Author = NURSE, channel: Channel = Channel.PUBLIC) -> set[str]:
    return {str(f.category) for f in scan(text, author, channel)}
