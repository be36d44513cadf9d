"""``patient_privacy``: an identifiable patient tied to care.

POLICY.md: flag when the post lets someone identify a patient (a name, initials with detail, a
photo of a chart, a room or bed, an exact date of a visit or birth, an age, a relationship, a
record/plan/account number, a contact detail, or confirming care in a reply to someone) next to
care (a condition, procedure, medication, visit, result, or simply being a patient). Not: health
topics in general, the author's own health, public figures' published health news, statistics,
or identifiers with no patient behind them (the practice's own phone, a staff member's name).

The decision is made in stages of increasing cost, so the scanner can skip NER where a cheap
stage already decides; evidence never mixes stages, so the findings are the same whether or not
NER ran.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis, Entity
from monitor.policy.rules.common import (
    FIRST_PERSON,
    PolicyRule,
    Span,
    addressee_spans,
    cue,
    is_clinician,
    is_private_channel,
    is_reply,
    near_any,
    sentence_spans,
    spans_of,
)
from monitor.policy.vocab import CareTerm, vocabulary

# Identifiers that point at one person whatever else the post says.
STRONG_TYPES = frozenset(
    {
        "MEDICAL_RECORD_NUMBER", "MEMBER_ID", "ACCOUNT_NUMBER", "US_SSN", "ROOM_NUMBER",
        "CHART_PHOTO", "US_DRIVER_LICENSE", "US_PASSPORT", "CREDIT_CARD", "US_BANK_NUMBER",
        "IBAN_CODE", "US_ITIN", "PHONE_NUMBER", "EMAIL_ADDRESS",
    }
)  # fmt: skip
# Quasi-identifiers found by patterns (no NER needed).
PATTERN_PERSONAL = frozenset({"RELATIONSHIP", "AGE"})
# Quasi-identifiers only the NER finds.
NER_PERSONAL = frozenset({"PERSON", "LOCATION", "DATE_TIME"})

# Care terms too generic to tie a named person to care on their own ("patients" is a crowd).
_WEAK_CARE = frozenset({"patients", "pts", "clinic", "visit", "visits", "shot", "exam", "cast"})

_WORK = cue(
    "patient",
    "pt",
    "my patient",
    "came in",
    "comes in",
    "brought in",
    "rolled in",
    "wheeled in",
    "walked in",
    "showed up",
    "admitted",
    "discharged",
    "on my shift",
    "my shift",
    "at work",
    "on shift",
    "on the unit",
    "in clinic",
    "in the office",
    "in the er",
    "in the ed",
    "in the icu",
    "in triage",
    "treated",
    "we saw",
    "i saw",
    "saw (?:him|her|them)",
    "seen today",
    "checked (?:him|her|them) in",
    "chart",
    "charted",
    "appointment",
    "appt",
    "follow-?up",
    "in (?:room|bed|bay) \\w+",
    "our office",
    "our clinic",
    "our practice",
    "one of (?:my|our) (?:patients|regulars)",
    "regular",
    "frequent flyer",
    "discharge",
    "triage",
    "today",
    "this morning",
    "tonight",
    "last night",
    "yesterday",
)
_SINGULAR_PERSON = re.compile(
    r"(?i)\b(?:a|the|this|that|one|our|my)\s+(?:\w+\s+){0,2}?"
    r"(?:guy|lady|woman|man|kid|child|baby|girl|boy|gentleman|gent|patient|pt|teen|toddler|"
    r"grandma|grandpa|mom|dad|mother|father|student|teacher|nurse|officer|veteran)\b"
)
_STAFF_TITLE = re.compile(
    r"(?i)\b(?:dr|doctor|nurse|np|pa|rn|coworker|co-worker|colleague|manager|boss|"
    r"receptionist|hygienist|our|my\s+(?:boss|manager|coworker|colleague))\.?\s*$"
)
_PUBLIC_FIGURE = cue(
    "president",
    "senator",
    "sen",
    "governor",
    "gov",
    "congressman",
    "congresswoman",
    "rep",
    "mayor",
    "prime minister",
    "king",
    "queen",
    "prince",
    "princess",
    "pope",
    "celebrity",
    "singer",
    "actor",
    "actress",
    "athlete",
    "star",
    "announced",
    "announces",
    "publicly",
    "press release",
    "press conference",
    "reported",
    "reports",
    "according to",
    "news",
    "interview",
    "statement",
    "revealed",
    "shared (?:his|her|their) diagnosis",
    "opened up about",
    "went public",
)
_DOB = cue("dob", "d\\.o\\.b\\.?", "born on", "date of birth", "birthday", "bday", "b-day")
_EXACT_DATE = re.compile(
    r"(?i)\d{1,2}/\d{1,2}|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"\s+\d{1,2}\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|oct|nov|dec)"
)
_INITIALS = re.compile(
    r"\b(?:[A-Z]\.\s?){2,3}(?![A-Za-z])|\b(?:Mr|Mrs|Ms|Miss)\.?\s+[A-Z]\.?(?![a-z])"
    r"|(?:(?<=\bpt\s)|(?<=\bpatient\s))[A-Z]{2}\b"
)
_THIRD_PERSON = cue("he", "she", "him", "her", "his", "hers", "they", "them", "their")
_CONFIRM = cue(
    r"(?:your|ur) (?:test |lab |biopsy |blood |scan |mri |x-ray )?(?:results?|labs|"
    r"appointment|appt|visit|follow-?up|surgery|procedure|prescription|refill|biopsy|scan|"
    r"mri|x-ray|xray|chart|treatment|stitches|cast|meds|medication|recovery|diagnosis|"
    r"bloodwork|injection|infusion|cleaning|crown|filling|implant|session|check-?up|"
    r"physical|referral|bill|copay|claim|sutures|wound|knee|hip|shoulder|back|tooth|teeth)",
    r"(?:saw|seeing|see) (?:you|u) (?:in|at|yesterday|today|last|this|next|on)",
    r"when (?:you|u) (?:came|were) in",
    r"(?:you|u) (?:were|was|came) in (?:yesterday|today|last|this|on)",
    r"glad (?:you(?:'re| are)|ur) (?:feeling|doing|healing|recovering)",
    r"hope (?:you(?:'re| are)|ur) (?:feeling|healing|recovering)",
    r"(?:your|ur) (?:\w+ )?(?:is|are|was|were) (?:ready|back|healing|normal|negative|positive|"
    r"clear|fine)",
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)[-10:]


class IdentifierWithCareContext(PolicyRule):
    """An identifier of someone other than the author, next to care they received."""

    id: ClassVar[str] = "privacy.identifier_with_care_context"
    category: ClassVar[Category] = Category.PATIENT_PRIVACY
    severity: ClassVar[Severity] = Severity.CRITICAL
    explanation: ClassVar[str] = (
        "Identifies a patient (identifier next to care context): protected health information"
    )

    # -- filters --------------------------------------------------------------------------

    def _allowlisted(self, post: PostContext, entity: Entity) -> bool:
        s = self.settings
        text = entity.text.strip()
        low = text.lower()
        if entity.type == "PHONE_NUMBER":
            return _digits(text) in {_digits(p) for p in s.allow_phones if _digits(p)}
        if entity.type == "EMAIL_ADDRESS":
            return low in {e.lower() for e in s.allow_emails}
        if entity.type == "LOCATION":
            return any(low in a.lower() or a.lower() in low for a in s.allow_addresses if a)
        if entity.type == "PERSON":
            names = [*s.allow_names, post.author.name]
            for name in names:
                n = name.lower().strip()
                if n and (low in n or n in low or low in n.split()):
                    return True
            practice = [s.practice_name, *s.practice_aliases]
            return any(p and low in p.lower() for p in practice)
        return False

    def _personal(self, post: PostContext, entity: Entity) -> bool:
        """Whether a quasi-identifier plausibly points at a patient (not staff, public, self)."""
        text = post.text
        before = text[max(0, entity.start - 30) : entity.start]
        sentence = _sentence_of(text, entity.start)
        if entity.type == "PERSON":
            if _STAFF_TITLE.search(before):
                return False
            window = text[max(0, entity.start - 60) : entity.end + 60]
            return not _PUBLIC_FIGURE.search(window)
        if entity.type == "DATE_TIME":
            return bool(_EXACT_DATE.search(entity.text)) or bool(
                _DOB.search(text[max(0, entity.start - 20) : entity.end + 5])
            )
        if entity.type == "LOCATION":
            return bool(_SINGULAR_PERSON.search(sentence))
        if entity.type == "AGE":
            own = FIRST_PERSON.search(sentence) and not _THIRD_PERSON.search(sentence)
            return not own
        return True

    # -- stages ---------------------------------------------------------------------------

    def _care(self, text: str) -> list[CareTerm]:
        return vocabulary().find(text)

    def _strong(self, post: PostContext, analysis: Analysis, care: list[CareTerm]) -> list[Span]:
        ids = [
            e
            for e in analysis.entities
            if e.type in STRONG_TYPES and not self._allowlisted(post, e)
        ]
        # A DATE_TIME labelled as a birth date is as strong as a record number.
        ids += [
            e
            for e in analysis.entities
            if e.type == "DATE_TIME" and _DOB.search(post.text[max(0, e.start - 20) : e.end + 5])
        ]
        if not ids:
            return []
        care_spans = [(c.start, c.end) for c in care]
        if not care_spans:
            # A photo of a chart is itself care context when it is a patient's record.
            charts = [e for e in ids if e.type == "CHART_PHOTO"]
            if charts and _WORK.search(post.text):
                return [(e.start, e.end) for e in charts]
            return []
        return [(e.start, e.end) for e in ids] + care_spans

    def _quasi(
        self,
        post: PostContext,
        entities: list[Entity],
        care: list[CareTerm],
        extra: Sequence[Span] = (),
    ) -> list[Span]:
        """Quasi-identifiers near specific care, in a post about work (not the author)."""
        ids = [(e.start, e.end) for e in entities if self._personal(post, e)] + list(extra)
        if not ids:
            return []
        specific = [(c.start, c.end) for c in care if c.text.lower() not in _WEAK_CARE]
        if not specific:
            return []
        work = bool(_WORK.search(post.text)) or is_clinician(post.author)
        if not work and not is_private_channel(post):
            return []
        hits = [i for i in ids if near_any(i, specific, 160)]
        if not hits:
            return []
        return hits + [s for s in specific if near_any(s, hits, 160)]

    def _confirm(self, post: PostContext) -> list[Span]:
        """A reply that confirms the person addressed is (or was) a patient here."""
        addressed = addressee_spans(post.text)
        if not (is_reply(post) or addressed):
            return []
        if not post.author.role:
            return []
        confirms = spans_of(_CONFIRM, post.text)
        if not confirms:
            return []
        return addressed + confirms

    def _cheap(self, post: PostContext, analysis: Analysis, care: list[CareTerm]) -> list[Span]:
        spans = self._strong(post, analysis, care)
        if spans:
            return spans
        pattern_ids = [e for e in analysis.entities if e.type in PATTERN_PERSONAL]
        initials = spans_of(_INITIALS, post.text)
        spans = self._quasi(post, pattern_ids, care, initials)
        if spans:
            return spans
        return self._confirm(post)

    # -- interface ------------------------------------------------------------------------

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        care = self._care(post.text)
        spans = self._cheap(post, analysis, care)
        if not spans and analysis.ner_ran:
            ner_ids = [e for e in analysis.entities if e.type in NER_PERSONAL]
            spans = self._quasi(post, ner_ids, care)
        return [self.finding(spans)] if spans else []

    def needs_ner(self, post: PostContext, analysis: Analysis) -> bool:
        care = self._care(post.text)
        if not any(c.text.lower() not in _WEAK_CARE for c in care):
            return False
        if not (_WORK.search(post.text) or is_clinician(post.author) or is_private_channel(post)):
            return False
        return not self._cheap(post, analysis, care)


def _sentence_of(text: str, index: int) -> str:
    for start, end in sentence_spans(text):
        if start <= index < end:
            return text[start:end]
    return text
