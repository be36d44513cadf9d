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

import bisect
import re
from typing import ClassVar

from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis
from monitor.policy.rules.common import (
    Nearby,
    PolicyRule,
    Span,
    addressee_spans,
    cue,
    is_reply,
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
    "cut (?:the |your )?\\w+ in half",
    "alternate",
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
    "sounds (?:benign|fine|normal|harmless|like nothing)",
    "(?:is|are|looks|sounds) (?:totally |probably |definitely )?benign",
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
    "no need to (?:get|bring|take|go|see|come|book|call)",
    "don'?t waste (?:your )?(?:money|time) on",
    "(?:run|walk|push|work) through it",
    "don'?t tell your (?:doc|doctor|provider|pharmacist)",
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
# Medicines as people write them (brands the vocabulary's commonness filter drops).
MEDS = cue(
    "meds",
    "medication",
    "medicine",
    "pills?",
    "antibiotics?",
    "insulin",
    "inhaler",
    "percocet",
    "vicodin",
    "xanax",
    "adderall",
    "ambien",
    "valium",
    "oxy",
    "norco",
    "tramadol",
    "ativan",
    "zoloft",
    "lexapro",
    "prozac",
    "tylenol",
    "advil",
    "motrin",
    "ibuprofen",
    "benadryl",
    "nyquil",
    "dayquil",
    "mucinex",
    "sudafed",
    "claritin",
    "zyrtec",
    "allegra",
    "flonase",
    "tamiflu",
    "z-?pak",
    "amoxicillin",
    "cipro",
    "prednisone",
    "metformin",
    "ozempic",
    "wegovy",
    "mounjaro",
    "melatonin",
    "aspirin",
    "naproxen",
    "aleve",
    "birth control",
    "the pill",
    "steroids?",
    "antidepressants?",
    "painkillers?",
)
_SKIP = re.compile(r"(?i)\b(?:skip|cancel|postpone|don'?t bother with|forget)\s+(?:the|your|ur)\b")
_CONDITIONAL = re.compile(r"(?i)\bif\s+(?:you|u)\s*$")


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
        if not (is_reply(post) or addressed):
            # General posts ("get your flu shot") are public-health information, not advice
            # to one person — unless they answer someone's situation by name.
            return []
        care = vocabulary().find(text)
        clinical = [(c.start, c.end) for c in care]
        clinical_starts = sorted(start for start, _ in clinical)
        drugs = [(c.start, c.end) for c in care if c.kind == "drug"] + spans_of(MEDS, text)
        skips = spans_of(SKIP_CARE, text)
        # "skip the colonoscopy": skipping any named care.
        skips += [
            m.span() for m in _SKIP.finditer(text) if _starts_within(clinical_starts, m.end(), 25)
        ]
        # "no need to come in" is the opposite of pointing someone to care.
        near_skip = Nearby(skips, 0)
        redirects = [r for r in spans_of(REDIRECT, text) if not near_skip(r)]
        evidence: list[Span] = []
        evidence += spans_of(DOSE, text)
        evidence += skips
        # "800 ibuprofen": a number right before a medicine is a dose.
        evidence += [d for d in drugs if re.search(r"\d\s*$", text[max(0, d[0] - 6) : d[0]])]
        near_drug = Nearby(drugs, 50)
        evidence += [span for span in spans_of(INSTRUCTION, text) if near_drug(span)]
        if not redirects:
            for span in spans_of(VERDICT, text):
                if _CONDITIONAL.search(text[max(0, span[0] - 10) : span[0]]):
                    continue  # "if you have chest pain, ..." describes, does not diagnose
                # "sounds like strep": a verdict that names a condition right after it.
                if _starts_within(clinical_starts, span[1], 40):
                    evidence.append(span)
        near_redirect = Nearby(redirects, 0)
        evidence = [e for e in evidence if not near_redirect(e)]
        if not evidence:
            return []
        near_evidence = Nearby(evidence, 40)
        spans = evidence + [c for c in clinical if near_evidence(c)] + addressed
        return [self.finding(spans)]


def _starts_within(starts: list[int], position: int, distance: int) -> bool:
    """Whether some sorted ``starts`` lies in ``[position, position + distance]``."""
    k = bisect.bisect_left(starts, position)
    return k < len(starts) and starts[k] <= position + distance
