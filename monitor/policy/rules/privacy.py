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
from monitor.policy.rules.advice import REDIRECT
from monitor.policy.rules.common import (
    FICTION,
    FIRST_PERSON,
    SECOND_PERSON,
    Nearby,
    PolicyRule,
    Span,
    addressee_spans,
    cue,
    is_clinician,
    is_private_channel,
    is_reply,
    linked,
    near_any,
    practice_pattern,
    sentence_spans,
    spans_of,
)
from monitor.policy.vocab import vocabulary

# Identifiers that point at one person whatever else the post says.
STRONG_TYPES = frozenset(
    {
        "MEDICAL_RECORD_NUMBER", "MEMBER_ID", "ACCOUNT_NUMBER", "US_SSN", "ROOM_NUMBER",
        "CHART_PHOTO", "US_DRIVER_LICENSE", "US_PASSPORT", "CREDIT_CARD", "US_BANK_NUMBER",
        "IBAN_CODE", "US_ITIN", "PHONE_NUMBER", "EMAIL_ADDRESS", "STREET_ADDRESS",
    }
)  # fmt: skip
# Quasi-identifiers found by patterns (no NER needed).
PATTERN_PERSONAL = frozenset({"RELATIONSHIP", "AGE"})
# Quasi-identifiers only the NER finds.
NER_PERSONAL = frozenset({"PERSON", "LOCATION", "DATE_TIME"})

# Care terms too generic to tie a named person to care on their own ("patients" is a crowd).
_WEAK_CARE = frozenset(
    {"patients", "pts", "clinic", "visit", "visits", "exam", "cast", "physical", "hospital"}
)
# Teaching cases, quizzes and stories describe no real patient (the learned rule may still
# judge one that carries identifiers); fiction named outright never does (rules/common.py).
_TEACHING = cue(
    "the show",
    "movie",
    "novel",
    "board question",
    "quiz",
    "pop quiz",
    "case of the (?:day|week)",
    "#meded",
    "#foamed",
    "hypothetical(?:ly)?",
    "scenario",
    "next step\\?",
    "what'?s (?:the|your) (?:dx|diagnosis)",
)


def _not_real(text: str) -> bool:
    return bool(_TEACHING.search(text) or FICTION.search(text))


# A third party known through someone ("the mayor's daughter", "your boss Mike").
_THIRD_PARTY = re.compile(
    r"(?i)(?-i:\bthe [A-Z][a-z]+s\b)|"
    r"\b(?:their|his|her)\s+(?:son|daughter|kid|baby|child|wife|husband|mom|dad)(?:'s|’s)|"
    r"\bsomeone (?:i|we) (?:went to|grew up|used to|dated|know|knew|worked)\b|"
    r"\b(?:the|our|my|your|a|his|her)\s+(?:\w+\s+)?[a-z]+(?:'s|’s)\s+(?:son|daughter|wife|"
    r"husband|kid|child|baby|mom|mother|dad|father|brother|sister|grandma|grandpa|grandmother|"
    r"grandfather|partner|girlfriend|boyfriend|nephew|niece|aunt|uncle|cousin)\b"
    r"|\b(?:your|ur|his|her)\s+(?:boss|manager|coworker|neighbou?r|friend|grandma|grandpa|mom|"
    r"dad|son|daughter|wife|husband|brother|sister|aunt|uncle|cousin|teacher|coach|pastor|ex|"
    r"bf|gf|boyfriend|girlfriend|roommate|landlord)\s+"
    r"(?-i:[A-Z][a-z]+)\b"
)
# Being a patient is care context in itself.
_IS_PATIENT = cue(
    "for the (?:\\d+(?:st|nd|rd|th)|second|third|fourth|fifth|sixth) time (?:this|in|today)",
    "(?:one of )?(?:my|our) (?:clients?|patients?|pts?|regulars)",
    "my client",
    "my patient",
    "is a patient",
    "(?:is|was) (?:a )?(?:client|patient) (?:of|here|at)",
    "frequent flyers?",
)
# Phone numbers presidio misreads as dates; labelled ids its recognizers miss.
_PHONE = re.compile(r"(?<![\w/])\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?![\w/])")
_LABELLED_ID = re.compile(
    r"(?i)\b(?:acct|account|mrn|chart|member|policy|claim|dob)\s*(?:#|no\.?|number|id)?\s*[:#]?\s*"
    r"[A-Z]{0,3}\d[\d-]{3,14}\b"
)
_NAMES = re.compile(r"(?i)\b(?:names?|patients?|pts?|dob|census)\b")
_PERSON_AFTER_AGE = re.compile(
    r"(?i)^\s*(?:\w+\s+)?(?:guy|man|woman|lady|girl|boy|kid|child|baby|patient|pt|soloist|dancer|"
    r"player|athlete|teacher|firefighter|forward|student|mom|dad|male|female|f|m|w/|with|who)\b"
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:am|pm)\b", re.IGNORECASE)
_POSSESSED_CARE = re.compile(r"(?i)\b(?:his|her|their)\s+(?:[\w-]+\s+){0,2}?$")

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
    r"(?i)\bmy\s+(?:patient|pt|client)\b|\b(?:a|the|this|that|one|our)\s+(?:\w+\s+){0,2}?"
    r"(?:guy|lady|woman|man|kid|child|baby|girl|boy|gentleman|gent|patient|pt|teen|toddler|"
    r"grandma|grandpa|mom|dad|mother|father|student|teacher|nurse|officer|veteran|"
    r"frequent flyer|regular|client|soloist|player|dancer|anchor|coach|pastor)\b"
)
_STAFF_TITLE = re.compile(
    r"(?i)\b(?:dr|doctor|nurse|np|pa|rn|coworker|co-worker|colleague|manager|boss|"
    r"receptionist|hygienist|our|(?:our|my|the)\s+(?:new\s+|other\s+)?(?:boss|manager|"
    r"coworker|colleague|ma|rn|np|pa|tech|nurse|doc|doctor|scribe|intern|resident|supervisor|"
    r"hire|biller|receptionist|hygienist|assistant|pharmacist|therapist))\.?\s*$"
)
_COLLEAGUE = re.compile(
    r"(?i)\b(?:coworker|co-worker|colleague|boss|manager|supervisor|charge nurse|director)s?\b"
)
# Public events: their dates identify no one.
_EVENT = cue(
    "health fair",
    "event",
    "join us",
    "open house",
    "free",
    "community",
    "drive",
    "clinic hours",
    "we(?:'ll| will) be (?:closed|open)",
    "closed (?:on|for)",
    "holiday",
    "webinar",
    "class",
    "workshop",
    "seminar",
    "5k",
    "fundraiser",
)
# Someone else was seen: a conversation that says so is not about the addressee's own health.
_VISITED = cue(
    "came in",
    "comes in",
    "checked in",
    "was (?:just )?(?:here|in)",
    "showed up",
    "admitted",
    "brought in",
    "rolled in",
    "walked in",
    "is here",
    "was seen",
    "saw (?:him|her|them)",
    "(?:the|this|that) (?:guy|girl|lady|woman|man|kid|patient|pt|dude) (?:in|from|with)",
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
    "(?:movie|pop|rock|tv|reality|nba|nfl|hollywood) star",
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
    "(?:has|have) shared",
    "family (?:has )?(?:shared|said|confirmed)",
)
_DOB = cue("dob", "d\\.o\\.b\\.?", "born on", "date of birth", "birthday", "bday", "b-day")
_EXACT_DATE = re.compile(
    r"(?i)\d{1,2}/\d{1,2}|\b\d{1,2}:\d{2}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"\s+\d{1,2}(?:st|nd|rd|th)?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|"
    r"sep|oct|nov|dec)"
)
_INITIALS = re.compile(
    r"\b(?:[A-Z]\.\s?){2,3}(?![A-Za-z])|\b(?:Mr|Mrs|Ms|Miss)\.?\s+[A-Z]\.?(?![a-z])"
    r"|(?:(?<=\bpt\s)|(?<=\bpatient\s))[A-Z]{2}\b"
    r"|\b(?:client|patient|pt|resident)\s+[A-Z]\.(?=\s)"
)
_THIRD_PERSON = cue("he", "she", "him", "her", "his", "hers", "they", "them", "their")
_CONFIRM = cue(
    r"(?:your|ur) (?:test |lab |biopsy |blood |scan |mri |x-ray )?(?:results?|labs|"
    r"appointment|appt|visit|follow-?up|surgery|procedure|prescription|refill|biopsy|scan|"
    r"mri|x-ray|xray|chart|stitches|bloodwork|injection|infusion|cleaning|crown|filling|"
    r"implant|session|check-?up|physical|referral|bill|copay|claim|sutures)",
    r"(?:saw|seeing|see) (?:you|u) (?:in|at|yesterday|today|last|this|next|on)",
    r"when (?:you|u) (?:came|were) in",
    r"(?:you|u) (?:were|was|came) in (?:yesterday|today|last|this|on)",
    r"glad (?:you(?:'re| are)|ur) (?:feeling|doing|healing|recovering)",
    r"hope (?:you(?:'re| are)|ur) (?:feeling|healing|recovering)",
    r"(?:your|ur) (?:\w+ )?(?:is|are|was|were) (?:ready|back|healing|normal|negative|positive|"
    r"clear|fine)",
)


# The practice speaking to someone about their care ("we're thrilled it's working for you").
_PRACTICE_VOICE = cue(
    "we",
    "we're",
    "we've",
    "us",
    "our",
    "thank you",
    "thanks",
    "congrats",
    "congratulations",
    "loved (?:meeting|seeing)",
    "great (?:meeting|seeing)",
    "so good to see",
    "welcome back",
    "working for you",
    "review",
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

    def _allowed_phone(self, text: str) -> bool:
        return _digits(text) in {_digits(p) for p in self.settings.allow_phones if _digits(p)}

    def _personal(self, post: PostContext, entity: Entity, addressed: list[Span]) -> bool:
        """Whether a quasi-identifier plausibly points at a patient (not staff, public, self)."""
        text = post.text
        before = text[max(0, entity.start - 30) : entity.start]
        sentence = _sentence_of(text, entity.start)
        if entity.type in NER_PERSONAL and near_any((entity.start, entity.end), addressed, 0):
            return False  # the person addressed talks about their own health
        if entity.type == "PERSON":
            first = entity.text.split()[0] + " " if entity.text.split() else ""
            if before.endswith(("#", "@")) or _STAFF_TITLE.search(before + first):
                return False
            window = text[max(0, entity.start - 60) : entity.end + 60]
            return not _PUBLIC_FIGURE.search(window)
        if entity.type == "RELATIONSHIP" and _COLLEAGUE.search(entity.text):
            return False
        if entity.type == "DATE_TIME":
            if _EVENT.search(sentence):
                return False
            return bool(_EXACT_DATE.search(entity.text)) or bool(
                _DOB.search(text[max(0, entity.start - 20) : entity.end + 5])
            )
        if entity.type == "LOCATION":
            return bool(_SINGULAR_PERSON.search(sentence))
        if entity.type == "AGE":
            if _PERSON_AFTER_AGE.search(text[entity.end : entity.end + 25]):
                return True
            own = FIRST_PERSON.search(sentence) and not _THIRD_PERSON.search(sentence)
            return not own
        return True

    # -- stages ---------------------------------------------------------------------------

    def _care(self, text: str) -> list[Span]:
        """Specific care context: care terms (crowd words excepted) and being a patient."""
        spans = [
            (c.start, c.end) for c in vocabulary().find(text) if c.text.lower() not in _WEAK_CARE
        ]
        return spans + spans_of(_IS_PATIENT, text)

    def _care_beyond_drugs(self, text: str) -> bool:
        """Whether the care context says more than a drug name ("laxatives in your lunch")."""
        terms = vocabulary().find(text)
        specific = [c for c in terms if c.kind != "drug" and c.text.lower() not in _WEAK_CARE]
        return bool(specific) or bool(_IS_PATIENT.search(text))

    def _strong(self, post: PostContext, analysis: Analysis, care: list[Span]) -> list[Span]:
        text = post.text
        ids = [(e.start, e.end) for e in analysis.entities if e.type in STRONG_TYPES]
        # A DATE_TIME labelled as a birth date is as strong as a record number.
        ids += [
            (e.start, e.end)
            for e in analysis.entities
            if e.type == "DATE_TIME" and _DOB.search(text[max(0, e.start - 20) : e.end + 5])
        ]
        ids += [s for s in spans_of(_PHONE, text) if not self._allowed_phone(text[s[0] : s[1]])]
        ids += spans_of(_LABELLED_ID, text)
        if not ids:
            return []
        charts = [(e.start, e.end) for e in analysis.entities if e.type == "CHART_PHOTO"]
        if charts and (
            care or _WORK.search(text) or vocabulary().find(text) or _NAMES.search(text)
        ):
            return charts + care
        return linked(ids, care, 200)

    @staticmethod
    def _addressed(post: PostContext, entities: Sequence[Entity]) -> list[Span]:
        """Who the post speaks to: @mentions, vocatives, a name opening a reply."""
        spans = addressee_spans(post.text)
        if is_reply(post):
            spans += [(e.start, e.end) for e in entities if e.start <= 4 and e.type != "AGE"]
        return spans

    def _quasi(
        self,
        post: PostContext,
        entities: Sequence[Entity],
        care: list[Span],
        extra: Sequence[Span] = (),
    ) -> list[Span]:
        """Quasi-identifiers near specific care, in a post about someone the author served."""
        if not care:
            return []
        addressed = self._addressed(post, entities)
        ids = [(e.start, e.end) for e in entities if self._personal(post, e, addressed)]
        ids += list(extra)
        if not ids:
            return []
        if not self._could_name_a_patient(post):
            return []
        return linked(ids, care, 160)

    def _could_name_a_patient(self, post: PostContext) -> bool:
        """The entity-independent conditions for a quasi-identifier to count (cheap)."""
        text = post.text
        # A conversation about the addressee's own situation (advice, sympathy) names no
        # patient of the practice unless a third party is said to be one.
        conversational = (is_reply(post) or addressee_spans(text)) and SECOND_PERSON.search(text)
        if conversational and not (
            _IS_PATIENT.search(text) or _THIRD_PARTY.search(text) or _VISITED.search(text)
        ):
            return False
        if not self._care_beyond_drugs(text):
            return False
        staff = bool(post.author.role) or is_clinician(post.author)
        return bool(staff or _WORK.search(text) or is_private_channel(post))

    def _confirm(self, post: PostContext, care: list[Span]) -> list[Span]:
        """A reply that confirms the person addressed is (or was) a patient here."""
        text = post.text
        addressed = addressee_spans(text)
        if not (is_reply(post) or addressed) or not post.author.role:
            return []
        if REDIRECT.search(text):
            return []  # pointing someone to care confirms nothing about them
        confirms = spans_of(_CONFIRM, text)
        practice = practice_pattern(self.settings)
        named = practice is not None and practice.search(text) is not None
        voice = _PRACTICE_VOICE.search(text) and (SECOND_PERSON.search(text) or named)
        if not confirms and care and voice:
            close = Nearby(spans_of(_PRACTICE_VOICE, text), 120)
            confirms = [c for c in care if close(c)]
        if not confirms:
            return []
        return addressed + confirms

    def _cheap(self, post: PostContext, analysis: Analysis, care: list[Span]) -> list[Span]:
        spans = self._strong(post, analysis, care)
        if spans:
            return spans
        pattern_ids = [e for e in analysis.entities if e.type in PATTERN_PERSONAL]
        extra = spans_of(_INITIALS, post.text) + spans_of(_THIRD_PARTY, post.text)
        spans = self._quasi(post, pattern_ids, care, extra)
        if spans:
            return spans
        return self._confirm(post, care)

    # -- interface ------------------------------------------------------------------------

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        if _not_real(post.text):
            return []
        care = self._care(post.text)
        spans = self._cheap(post, analysis, care)
        if not spans and analysis.ner_ran:
            ner_ids = [e for e in analysis.entities if e.type in NER_PERSONAL]
            spans = self._quasi(post, ner_ids, care)
        return [self.finding(spans)] if spans else []

    def needs_ner(self, post: PostContext, analysis: Analysis) -> bool:
        if _not_real(post.text):
            return False
        care = self._care(post.text)
        if not care or not self._could_name_a_patient(post):
            return False
        return not self._cheap(post, analysis, care)


def _sentence_of(text: str, index: int) -> str:
    for start, end in sentence_spans(text):
        if start <= index < end:
            return text[start:end]
    return text
