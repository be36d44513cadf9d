"""``medical_advice``: individualized medical advice over social media.

POLICY.md: a diagnosis, a dose, a treatment, or a decision to skip or stop care, addressed to a
specific person or their specific situation, typically in a reply, comment or direct message.
Not: general public-health information, or pointing someone to book a visit or go to the
emergency room — that is the right answer.

Two things must hold: the post addresses someone (a reply/comment/DM channel, an @mention, a
vocative name, or "you/your" about their symptoms), and it gives a clinical instruction or
verdict (a dose, take/stop/skip/double a medication, "sounds like <condition>", "you don't need
to be seen"). Redirecting to care alone never fires.
"""

from __future__ import annotations

import re
from typing import ClassVar

from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis
from monitor.policy.rules.common import (
    SECOND_PERSON,
    PolicyRule,
    Span,
    addressee_spans,
    cue,
    is_reply,
    near_any,
    spans_of,
)
from monitor.policy.vocab import vocabulary

DOSE = re.compile(
    r"(?i)\b\d+(?:\.\d+)?\s?(?:mg|mcg|µg|g|ml|mL|cc|units?|iu|tabs?|tablets?|pills?|caps?|"
    r"capsules?|puffs?|drops?|teaspoons?|tsp|tablespoons?|tbsp)\b"
    r"|\b(?:one|two|three|four|half|a|1|2|3|4)\s+(?:tabs?|tablets?|pills?|caps?|capsules?|"
    r"puffs?|drops?|teaspoons?|tsp|doses?)\b"
    r"|\b(?:twice|three times|3x|2x|once) (?:a|per) day\b|\bevery \d+ ?(?:hours|hrs|h)\b"
    r"|\b(?:bid|tid|qid|prn|q\d+h)\b"
)
INSTRUCTION = cue(
    "take",
    "taking",
    "try",
    "start",
    "stop",
    "quit",
    "skip",
    "double",
    "halve",
    "cut (?:it|them|your|the) (?:in half|down)",
    "up (?:it|your|the) (?:dose|dosage)",
    "increase",
    "decrease",
    "lower (?:your|the) dose",
    "come off",
    "wean (?:off|yourself)",
    "switch to",
    "swap",
    "use (?:the|your|some|a|an)",
    "put (?:some|a|an)",
    "apply",
    "ice it",
    "heat it",
    "pop (?:a|some|an)",
    "leftover",
    "left over",
    "your (?:mom'?s|dad'?s|"
    "wife'?s|husband'?s|friend'?s|old) (?:pills|meds|prescription|antibiotics|inhaler)",
    "borrow",
    "(?:don'?t|do not|no need to|you don'?t need to) (?:take|bother|go|get|see|worry|need|finish)",
    "stop taking",
    "off (?:your|the) meds",
    "ditch (?:the|your)",
    "you (?:can|could|should|need to|have to|must|gotta|oughta) (?:take|try|stop|skip|start|"
    "use|double|increase|decrease|just|ignore|wait)",
    "i'?d (?:take|try|stop|skip|start|use)",
    "just (?:take|use|try|stop|skip|wait)",
    "sleep it off",
    "walk it off",
    "tough it out",
    "wait it out",
    "ride it out",
)
VERDICT = cue(
    "sounds like",
    "sounds like you have",
    "looks like",
    "probably (?:just )?(?:a|an|the)?",
    "definitely (?:a|an)",
    "that'?s (?:definitely |probably |just |classic )?(?:a|an)",
    "it'?s (?:definitely |probably |just |classic |likely )?(?:a|an)",
    "you (?:have|'ve got|got|probably have|likely have|definitely have)",
    "classic",
    "textbook",
    "(?:that|this) is (?:just )?(?:a|an)",
    "almost certainly",
    "i bet (?:it'?s|you)",
    "nothing (?:serious|to worry about)",
    "not (?:serious|contagious|infected|broken)",
    "(?:is|are|looks) (?:fine|normal|nothing)",
    "you'?re fine",
    "you'?ll be fine",
)
SKIP_CARE = cue(
    "(?:no need|don'?t need|you don'?t need|not worth) (?:to )?(?:go(?:ing)? (?:in|to)|see|"
    "come in|book|make an appointment|bother|the er|urgent care)",
    "(?:skip|cancel|don'?t bother with) (?:the|your) (?:appointment|appt|er|doctor|follow-?up|"
    "visit|surgery|chemo|vaccine|shot|meds|procedure|referral)",
    "save (?:yourself )?the (?:copay|trip|er visit)",
    "don'?t (?:vaccinate|get the (?:shot|vaccine))",
)
REDIRECT = cue(
    "book (?:a|an|your) (?:visit|appointment|appt)",
    "call (?:us|the office|your doctor|your provider|911)",
    "go to (?:the )?(?:er|ed|emergency|urgent care)",
    "see (?:a|your) (?:doctor|provider|dentist|pharmacist|dermatologist|specialist)",
    "get (?:it )?(?:checked|looked at|seen)",
    "make an appointment",
    "schedule (?:a|an) (?:visit|appointment)",
    "come (?:in|see us)",
    "talk to your (?:doctor|provider|pharmacist)",
    "can'?t give (?:medical )?advice",
    "not able to (?:give|offer) advice",
    "dm us to book",
)
_TREATMENT_WORDS = frozenset({"drug", "care"})


class IndividualizedAdvice(PolicyRule):
    """A diagnosis, dose, treatment or skip-care decision addressed to one person."""

    id: ClassVar[str] = "advice.individualized"
    category: ClassVar[Category] = Category.MEDICAL_ADVICE
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = (
        "Gives individualized medical advice (diagnosis, dose, treatment or skipping care)"
    )

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        text = post.text
        addressed = addressee_spans(text)
        second = spans_of(SECOND_PERSON, text)
        if not (is_reply(post) or addressed) or not (addressed or second):
            # General posts ("get your flu shot") are public-health information, not advice
            # to one person — unless they answer someone's situation by name.
            return []
        care = vocabulary().find(text)
        clinical = [(c.start, c.end) for c in care]
        drugs = [(c.start, c.end) for c in care if c.kind in _TREATMENT_WORDS]
        evidence: list[Span] = []
        evidence += spans_of(DOSE, text)
        evidence += spans_of(SKIP_CARE, text)
        for span in spans_of(INSTRUCTION, text):
            if near_any(span, drugs + clinical, 50):
                evidence.append(span)
        for span in spans_of(VERDICT, text):
            # "sounds like strep": a verdict that names a condition right after it.
            if any(c[0] >= span[1] and c[0] - span[1] <= 40 for c in clinical):
                evidence.append(span)
        redirects = spans_of(REDIRECT, text)
        evidence = [e for e in evidence if not near_any(e, redirects, 0)]
        if not evidence:
            return []
        spans = evidence + [c for c in clinical if near_any(c, evidence, 40)] + addressed
        return [self.finding(spans)]
