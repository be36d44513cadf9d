"""Sparse hashed features of one post for the learned policy classifiers.

Why these features: the classifiers must generalize to practices, writers and names they never
saw, so the text is reduced to its *structure* before n-grams are taken:

* identifiers found by the **pattern** recognizers become type placeholders (``<room_number>``,
  ``<age>``, ``<phone_number>``...), @handles ``<mention>``, links ``<url>``, numbers ``<num>``;
* a capitalized word that is not a known lower-case word (the model ships its word list) becomes
  ``<cap>`` — a name-like token, found without spaCy, so names in capitals count too;
* the practice's own name and aliases (from ``PolicySettings``) become ``<practice>``.

Then word 1-2-grams and optionally char n-grams (the model says which) of that text, plus
post-level cues: channel, author role,
clinician or not, affiliation and disclaimer in the bio, addressed to someone, care vocabulary
kinds, pattern entity types, and which hand-written rules fired.

The promise that keeps the scanner's NER shortcut honest: **nothing here reads NER output**.
Entity types the NER can produce (PERSON, LOCATION, DATE_TIME, NRP) are ignored even when a
pattern recognizer reported them, so a post's features are identical with or without NER (rule
hits aside: those are the rules' own results, which the scanner already keeps NER-consistent).
Hashing uses CRC32, stable across processes and Python versions (``hash()`` is salted).
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Collection, Iterable

from monitor.config import PolicySettings
from monitor.domain import PostContext
from monitor.policy.base import Analysis
from monitor.policy.rules.common import (
    RELATION,
    addressee_spans,
    is_clinician,
    is_reply,
    practice_pattern,
    singles_out,
)
from monitor.policy.rules.disclosure import AFFILIATION, NOT_ADVICE, OWN_OPINIONS
from monitor.policy.vocab import vocabulary

# Entity types the NER can emit: never used as features (see the module docstring).
NER_TYPES = frozenset({"PERSON", "LOCATION", "DATE_TIME", "NRP"})
DEFAULT_BITS = 18
DEFAULT_CHAR_NGRAMS: tuple[int, ...] = (3, 4, 5)

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w{2,}")
# Emoji are tokens too: 🙄 💀 🤡 mock, 🙏 💕 sympathize (pooled out-of-corpus F1 +.01 harmful).
_TOKEN = re.compile(
    r"<[a-z_]+>|#?[^\W\d_]+(?:['’][^\W\d_]+)*|\d+(?:[.,:/-]\d+)*|[!?]"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]"
)
_NUMBER = re.compile(r"\d")


def _placeholder(kind: str) -> str:
    return f" <{kind.lower()}> "


_COLUMN_CACHE_SIZE = 500_000


class FeatureExtractor:
    """Turns (post, cheap-or-full analysis, rule hits) into hashed sparse features.

    ``known_words``: lower-case words of the training texts; a capitalized token outside it is
    name-like (``<cap>``). ``bits``: the hashing space is ``2**bits`` columns.
    """

    def __init__(
        self,
        settings: PolicySettings,
        known_words: Collection[str],
        bits: int = DEFAULT_BITS,
        char_ngrams: tuple[int, ...] = DEFAULT_CHAR_NGRAMS,
    ) -> None:
        self.settings = settings
        self.known = frozenset(known_words)
        self.bits = bits
        self._mask = (1 << bits) - 1
        self.char_ngrams = char_ngrams
        # n-grams repeat across posts: remember their hashed columns (bounded).
        self._columns: dict[str, int] = {}
        self._practice = practice_pattern(settings)

    # -- text ------------------------------------------------------------------------------

    def normalized_tokens(self, post: PostContext, analysis: Analysis) -> list[str]:
        """The post's tokens with identifiers, names, handles and numbers as placeholders."""
        text = post.text
        marks: list[tuple[int, int, str]] = [
            (e.start, e.end, _placeholder(e.type))
            for e in analysis.entities
            if e.type not in NER_TYPES and e.type != "URL"
        ]
        if self._practice is not None:
            marks += [(m.start(), m.end(), " <practice> ") for m in self._practice.finditer(text)]
        marks += [(m.start(), m.end(), " <url> ") for m in _URL.finditer(text)]
        marks += [(m.start(), m.end(), " <mention> ") for m in _MENTION.finditer(text)]
        out: list[str] = []
        pos = 0
        for start, end, repl in sorted(marks, key=lambda m: (m[0], -m[1])):
            if start < pos:
                continue  # overlaps an earlier replacement
            out.append(text[pos:start])
            out.append(repl)
            pos = end
        out.append(text[pos:])
        tokens = []
        for tok in _TOKEN.findall("".join(out)):
            if tok.startswith("<"):
                tokens.append(tok)
            elif _NUMBER.match(tok):
                tokens.append("<num>")
            elif tok[0].isupper() and tok.lower() not in self.known and len(tok) > 1:
                tokens.append("<cap>")
            else:
                tokens.append(tok.lower())
        return tokens

    # -- features --------------------------------------------------------------------------

    def cues(
        self,
        post: PostContext,
        analysis: Analysis,
        hits: Iterable[str],
        tokens: list[str] | None = None,
    ) -> list[str]:
        """Post-level cue names (channel, role, bio, addressee, vocabulary, entities, rules,
        and the quasi-identifiers: a relationship, a person singled out, a name-like word)."""
        bio = post.author.bio
        role = post.author.role.strip().lower() or "none"
        clinician = is_clinician(post.author)
        practice_in_bio = bool(self._practice and self._practice.search(bio))
        affiliated = bool(AFFILIATION.search(bio)) or practice_in_bio
        disclaimer = bool(NOT_ADVICE.search(bio) and OWN_OPINIONS.search(bio))
        addressed = is_reply(post) or bool(addressee_spans(post.text))
        practice_in_text = bool(self._practice and self._practice.search(post.text))
        out = [
            f"channel={post.channel}",
            f"role={role}",
            f"clinician={clinician}",
            f"affiliated={affiliated}",
            f"disclaimer={disclaimer}",
            f"addressed={addressed}",
            f"practice_in_text={practice_in_text}",
            f"aff/disc/clin={affiliated}/{disclaimer}/{clinician}",
            f"practice/aff={practice_in_text}/{affiliated}",
            f"addressed/channel={addressed}/{post.channel}",
            f"affiliated_in_text={bool(AFFILIATION.search(post.text))}",
            f"relation={bool(RELATION.search(post.text))}",
            f"singled_out={singles_out(post.text)}",
        ]
        if tokens is None:
            tokens = self.normalized_tokens(post, analysis)
        out.append(f"name_like={'<cap>' in tokens}")
        kinds = sorted({t.kind for t in vocabulary().find(post.text)})
        out += [f"care:{k}" for k in kinds] or ["care:none"]
        types = sorted({e.type for e in analysis.entities if e.type not in NER_TYPES})
        out += [f"entity:{t}" for t in types]
        rule_hits = sorted(set(hits))
        out += [f"rule:{h}" for h in rule_hits] or ["rule:none"]
        out += [f"rulecat:{h.split('.')[0]}" for h in rule_hits]
        out += [f"rule:{h}/addressed={addressed}" for h in rule_hits]
        return out

    def _index(self, name: str) -> int:
        column = self._columns.get(name)
        if column is None:
            if len(self._columns) >= _COLUMN_CACHE_SIZE:
                self._columns.clear()
            column = self._columns[name] = zlib.crc32(name.encode("utf-8")) & self._mask
        return column

    def vector(
        self, post: PostContext, analysis: Analysis, hits: Iterable[str]
    ) -> tuple[list[int], list[float]]:
        """Sorted column indices and values: text n-grams L2-normalized, cues weight 1."""
        tokens = self.normalized_tokens(post, analysis)
        grams: set[str] = {f"w:{t}" for t in tokens}
        grams.update(f"b:{a} {b}" for a, b in itertools.pairwise(tokens))
        joined = " " + " ".join(tokens) + " "
        for n in self.char_ngrams:
            grams.update(f"c:{joined[i : i + n]}" for i in range(len(joined) - n + 1))
        values: dict[int, float] = {}
        weight = 1.0 / math.sqrt(len(grams)) if grams else 0.0
        for g in grams:
            i = self._index(g)
            values[i] = values.get(i, 0.0) + weight
        for c in self.cues(post, analysis, hits, tokens):
            i = self._index("k:" + c)
            values[i] = values.get(i, 0.0) + 1.0
        values[self._index("bias")] = 1.0
        indices = sorted(values)
        return indices, [values[i] for i in indices]
