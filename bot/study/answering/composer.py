"""The offline composer: one coherent answer without an LLM.

In this order:

1. A card whose question means the same as the learner's (confidence above the threshold): the
   card's authored answer, cited to its note section, plus at most one sentence of the notes when
   it covers a word of the question the card does not.
2. Else the opening of the best retrieved section, as one passage from one section: a definition
   question gets the section whose opening defines its subject; a comparison gets the openings of
   both sides.
3. Else "I don't know", naming only the topics that really are close.

A question from outside the field (its subject words unknown to the cards and notes, or closer to the
everyday questions of ``knowledge/scope/`` than to any card: see ``scope``) needs a wider card margin
and is never answered from a section.

Every answer offers related questions (the card's related cards, or the closest cards). The body
never holds a file path or a sentence about the notes themselves ("This note covers ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.study.answering.cards import CardIndex, CardMatch
from bot.study.answering.model import Answer, Citation, RelatedQuestion, dont_know
from bot.study.answering.questions import question_kind, question_parts, subject_of, subject_words, without_field
from bot.study.answering.scope import Scope
from bot.study.banks import Card, CardKind
from bot.study.keyword import keyword_tokens
from bot.study.retrieval import Passage
from bot.study.text import capitalized, passage_sentences, split_sentences, terms, words

SectionLookup = Callable[[str, str], Passage | None]  # (note path in knowledge/, heading) -> passage

# Sentences about the notes rather than the subject, and pointers to the notes' own files: never part
# of an answer. A file an answer is about (`requirements.txt`, `compose.yaml`) is content, not a pointer.
_META = re.compile(
    r"^(this (note|section|page|guide)|in this (note|section)|the (next|previous) section|"
    r"interviewers (ask|often|like|probe|expect|want|use|check)|see (also )?(the )?(note|`?notes/))",
    re.IGNORECASE,
)
_FILE = re.compile(r"[\w./-]+\.md\b|\b(?:knowledge|notes|interview|quiz|cards|misconceptions)/[\w./-]+")
_DEFINES = re.compile(r"\b(is|are|means|refers to|measures|describes|is called|stands for)\b", re.IGNORECASE)
_BOTH_SIDES = re.compile(
    r"(?:difference between|compare|comparing)\s+(.+?)\s+(?:and|with|to)\s+(.+?)[?.!]*$"
    r"|^(.+?)\s+(?:vs\.?|versus)\s+(.+?)[?.!]*$",
    re.IGNORECASE,
)


# A guide's study roadmap ("What to learn in ...", "A two-week study plan ...") answers a question about
# studying; quoted for anything else it reads as text about the notes ("Practise the worked churn
# example until you can give it without notes", given for "an example of Goodhart's law?").
_ROADMAP = re.compile(r"^(what to learn|an? .*study plan)", re.IGNORECASE)
_ABOUT_STUDYING = re.compile(r"\b(learn|study|studying|prepar\w*|roadmap|plan|read|practi[cs]e)\b", re.IGNORECASE)


def _off_plan(question: str, passage: Passage) -> bool:
    """A guide's roadmap section offered for a question that is not about what to study."""
    roadmap = "guide/" in passage.source and bool(_ROADMAP.match(passage.section))
    return roadmap and not _ABOUT_STUDYING.search(question)


def is_meta(sentence: str) -> bool:
    """About the notes or pointing at one of their files: "This note covers ...", "See `notes/x.md`"."""
    return bool(_META.match(sentence.strip()) or _FILE.search(sentence))


def relevant(passages: Sequence[Passage], min_relevance: float) -> list[Passage]:
    return [p for p in passages if p.score >= min_relevance]


@dataclass(frozen=True)
class ComposerSettings:
    min_relevance: float = 0.32  # a passage less similar than this to the question answers nothing
    card_threshold: float = 0.36  # a card less confident than this is not the question (tuned)
    near_miss: float = 0.07  # "I don't know" names topics this close to min_relevance
    opening_sentences: int = 3
    opening_words: int = 90
    related: int = 3
    suggest_floor: float = 0.45  # a card this confident is worth suggesting as a related question
    # When half the question's subject words are foreign (in no card, no retrieved passage, and not a
    # typo of a card's word: "the nba draft lottery"), a card must be this much more confident, and
    # the notes' sections are not quoted: the question is from outside the field.
    foreign_margin: float = 0.1
    # A follow-up is not answered with the previous answer's card again when the next card is this
    # close to it and of the kind asked (``Composer._not_again``).
    follow_up_gap: float = 0.15
    # A word of a follow-up names a thing (``Composer._naming``) when its weight over the cards'
    # phrasings (log(1 + phrasings / phrasings using it)) is at least this: "ddp" 6.05, "undersampling"
    # 7.3; "layer" 4.7, "find" 5.2, "estimate" 5.9.
    named_floor: float = 6.0
    # Below this confidence a card's answer is shown under its own question ("Closest question I have
    # an answer for: ..."): on the blind set 11, 39 of the 99 card answers under 0.6 were right (one
    # was "static vs dynamic training" answered by the dynamic quantization card), 16 of 29 between
    # 0.6 and 0.7, 65 of 73 above (docs/benchmarks.md).
    closest_below: float = 0.6
    # A question asking two things ("What is multicollinearity, and why is it a problem?") also gets a
    # second card of the same topic, of a kind one of its parts asks for, when it is this close to the
    # first: blind, set 16c went from 0.660 to 0.687 answers with every required concept (docs/benchmarks.md).
    second_gap: float = 0.15


class Composer:
    """Question + retrieved passages + card matches -> one answer (see the module docstring)."""

    def __init__(self, settings: ComposerSettings, cards: CardIndex | None = None, scope: Scope | None = None) -> None:
        self.settings = settings
        self.cards = cards
        self.scope = scope

    # ---- the three paths --------------------------------------------------------------------------

    def compose(
        self,
        question: str,
        passages: Sequence[Passage],
        matches: Sequence[CardMatch],
        section: SectionLookup,
        *,
        answered: str = "",
        asked: str = "",
    ) -> Answer:
        """``answered``: the card that answered the previous turn, for a follow-up (see ``_not_again``);
        ``asked``: the follow-up in the learner's own words, before the previous subject was put in."""
        s = self.settings
        foreign = self._foreign(question, passages) or self._everyday(question, passages)
        bar = s.card_threshold + (s.foreign_margin if foreign else 0.0)
        if answered:
            matches = self._not_again(question, matches, answered, bar)
        top = matches[0] if matches and matches[0].score >= bar else None
        if top is not None and self._beyond_the_cards(question, passages):
            top = None
        if top is not None and answered and top.card.id == answered:
            again = self._again(question, asked, top.card, section)
            if again is not None:
                return again
        if top is not None:
            second = self._second_part(asked or question, top, matches, bar)
            answer = self._from_card(question, top.card, passages, section, second=second)
            if answer is not None:
                if top.score < s.closest_below:
                    answer.closest = " / ".join(c.question for c in (top.card, second) if c is not None)
                return answer
        useful = [] if foreign else [p for p in relevant(passages, s.min_relevance) if not _off_plan(question, p)]
        answer = self._from_section(question, useful) if useful else None
        if answer is None:
            close = [p for p in passages if p.score >= s.min_relevance - s.near_miss]
            return dont_know(question, close)
        answer.related = self._suggestions(matches, exclude=set())
        return answer

    def _not_again(self, question: str, matches: Sequence[CardMatch], answered: str, bar: float) -> Sequence[CardMatch]:
        """A follow-up whose best card is the one that answered the previous turn ("what is PCA", then
        "give me an example") gets the next card instead when that one is a near match of the kind
        asked (the worked example). Otherwise the same card answers again: it is the closest, and
        often holds the answer ("what is a docker volume", then "and a bind mount?"); any other card
        would be about something else."""
        if not matches or matches[0].card.id != answered or len(matches) < 2:
            return matches
        top, runner = matches[0], matches[1]
        kind = question_kind(question)
        if runner.score >= max(bar, top.score - self.settings.follow_up_gap) and kind in (None, runner.card.kind):
            return [m for m in matches if m.card.id != answered]
        return matches

    def _foreign(self, question: str, passages: Sequence[Passage]) -> bool:
        """Half or more of the question's subject words are in no card, in none of the retrieved
        passages, and are not misspellings of a card's word."""
        if self.cards is None:
            return False
        unknown = self.cards.unknown_subject_words(question)
        if not unknown:
            return False
        subject = set(keyword_tokens(" ".join(subject_words(question))))
        seen: set[str] = set()
        for p in passages[:5]:
            seen |= set(keyword_tokens(f"{p.title} {p.section} {p.text}"))
        foreign = [w for w in unknown - seen if not self.cards.looks_misspelt(w)]
        return 2 * len(foreign) >= len(subject)

    def _everyday(self, question: str, passages: Sequence[Passage]) -> bool:
        """The question reads as everyday life (``Scope``), unless it names a subject that the retrieved
        notes know and no card does: a server's own material ("how is cricket scored" over a
        server's cricket-analytics notes) is theirs to ask about."""
        if self.scope is None or not self.scope.outside(question):
            return False
        return not self._beyond_the_cards(question, passages)

    def _beyond_the_cards(self, question: str, passages: Sequence[Passage]) -> bool:
        """The question names a subject that no card knows but the retrieved notes do (a server's own
        material, a topic without cards): the notes answer it, not the nearest card."""
        if self.cards is None:
            return False
        unknown = self.cards.unknown_subject_words(question)
        if not unknown:
            return False
        found = relevant(passages, self.settings.min_relevance)[:3]
        return any(unknown & set(keyword_tokens(f"{p.title} {p.section} {p.text}")) for p in found)

    def _second_part(self, question: str, top: CardMatch, matches: Sequence[CardMatch], bar: float) -> Card | None:
        """For a question that asks two things, a second card that answers the other one: of the same
        topic as the first, of another kind (the definition beside the why) that one of the parts asks
        for, and nearly as close."""
        # "..., how much should the tree change, and why?": a bare "why?" or "how so?" asks for the reason of
        # the other part, not for a second card (one on misclassification error followed); "why does it
        # happen?" is a question of its own about the same subject.
        parts = [part for part in question_parts(question) if subject_words(part) or len(words(part)) > 2]
        if len(parts) < 2:
            return None
        asked = {question_kind(part) for part in parts}  # the second card answers one of the parts
        for m in matches[:4]:
            card = m.card
            if card.id == top.card.id or card.topic != top.card.topic or card.kind == top.card.kind:
                continue
            if card.kind not in asked:
                continue
            if m.score >= max(bar, top.score - self.settings.second_gap):
                return card
        return None

    def _from_card(
        self,
        question: str,
        card: Card,
        passages: Sequence[Passage],
        section: SectionLookup,
        *,
        second: Card | None = None,
    ) -> Answer | None:
        cited = section(card.source.note, card.source.section)
        if cited is None:  # the card's note is not ingested here: its answer would have no source
            return None
        if second is not None:
            also = section(second.source.note, second.source.section)
            if also is not None:
                return self._two_cards(question, card, second, cited, also)
        citations = [Citation(1, cited)]
        text = f"{as_asked(question, card.answer)} [1]"
        extra = self._support(question, card, passages)
        if extra is not None:
            sentence, passage = extra
            if passage.id == cited.id:
                text += f" {sentence} [1]"
            else:
                text += f" {sentence} [2]"
                citations.append(Citation(2, passage))
        related = [RelatedQuestion(c.id, c.question) for c in self._related(card)]
        subject = subject_of(question) or subject_of(card.question)  # the learner's own words first
        return Answer(question, text, citations, composer="card", related=related, subject=subject, card_id=card.id)

    def _two_cards(self, question: str, card: Card, second: Card, cited: Passage, also: Passage) -> Answer:
        """Both parts of a two-part question answered, a definition first ("What is X, and why ...?"),
        each card cited to its own section."""
        citations = [Citation(1, cited)]
        mark = 1
        if also.id != cited.id:
            citations.append(Citation(2, also))
            mark = 2
        parts = [(as_asked(question, card.answer), 1), (as_asked(question, second.answer), mark)]
        if second.kind is CardKind.definition:  # what it is, then the rest
            parts.reverse()
        text = " ".join(f"{answer} [{n}]" for answer, n in parts)
        related = [RelatedQuestion(c.id, c.question) for c in self._related(card) if c.id != second.id]
        subject = subject_of(question) or subject_of(card.question)
        return Answer(question, text, citations, composer="card", related=related, subject=subject, card_id=card.id)

    def _again(self, question: str, asked: str, card: Card, section: SectionLookup) -> Answer | None:
        """A follow-up that the previous answer's card answers again ("what is dropout", then "give an
        example"; "what is a VAE", then "and the reparameterization trick?"): not the same paragraph
        twice, but what is asked now. Either the card's sentences that give the reason or the example
        asked for (at most two, after its opening one), or those naming a thing the follow-up names
        ("reparameterization", "undersampling"; not a common word such as "layer" or "find"). None when
        there is none: the card is then given again whole, as the closest answer there is. Sentences of
        the notes were tried too and read as noise ("why does batch norm help?" found one on eval mode;
        "which one does pytorch ddp do?" found one on torchrun)."""
        cited = section(card.source.note, card.source.section)
        if cited is None:
            return None
        sentences = split_sentences(card.answer)
        kind = question_kind(question)
        cue = _AGAIN_CUES.get(kind) if kind is not None else None
        picked = [x for x in sentences[1:] if cue.search(x)][:2] if cue is not None else []
        # "how do i get around it?" asks for a remedy, and "and NOT IN vs NOT EXISTS?" for both sides:
        # the sentences naming its words are not the answer.
        if not picked and kind not in (CardKind.how_to, CardKind.comparison):
            picked = self._naming(asked, sentences)
            if picked and picked[0] != sentences[0] and (_CONTRAST.search(asked) or _LEANS_BACK.match(picked[0])):
                picked = [sentences[0], *picked]  # "how is that different from X?", "This principle ...": what first
        if not picked or len(picked) >= len(sentences):
            return None
        related = [RelatedQuestion(c.id, c.question) for c in self._related(card)]
        subject = subject_of(question) or subject_of(card.question)
        text = f"{' '.join(picked)} [1]"
        return Answer(question, text, [Citation(1, cited)], composer="card", related=related, subject=subject,
                      card_id=card.id)  # fmt: skip

    def _naming(self, asked: str, sentences: Sequence[str]) -> list[str]:
        """The card's sentences (at most two, in their order) naming the most of the things the
        follow-up names."""
        if self.cards is None:
            return []
        own = self.cards.rare_words(" ".join(subject_words(asked)), self.settings.named_floor)
        if not own:
            return []
        hits = [len(own & set(keyword_tokens(x))) for x in sentences]
        best = max(hits, default=0)
        return [x for x, n in zip(sentences, hits, strict=True) if n == best][:2] if best else []

    def _support(self, question: str, card: Card, passages: Sequence[Passage]) -> tuple[str, Passage] | None:
        """One sentence of the notes that covers a word of the question the card's answer leaves out."""
        # The field is not a word the card left out: "what's a transformer in deep learning" must not
        # bring in a sentence for having "deep" in it.
        # Only the question's subject counts: "what's an out-of-time validation set" must not bring in a
        # sentence for "set" (its subject is "out-of-time validation").
        subject = " ".join(subject_words(question))
        missing = set(terms(without_field(subject))) - set(terms(card.answer)) - set(terms(card.question))
        # Only a name the cards rarely use is worth a sentence: "where in a network do you use softmax" brought
        # in one on non-linear activations for "network", a word hundreds of cards use.
        if self.cards is not None:
            missing = self.cards.rare_words(" ".join(sorted(missing)), self.settings.named_floor) & missing
        if not missing:
            return None
        note = card.source.note
        said = set(terms(card.answer))
        # It must also be about what the card is about: "A rolling update replaces old pods ..." shares
        # "pods" with a question on a canary's routing, and reads as a non sequitur after its answer.
        about = set(terms(without_field(" ".join(subject_words(card.question)))))
        # A long question in the learner's own words leaves out many words that are not its subject
        # ("i deleted my model ... nvidia-smi still shows 20gb used"): one of them alone is no reason.
        needed = 1 if len(missing) <= 3 else 2
        for p in passages[:3]:
            if p.score < self.settings.min_relevance + 0.1 or not p.source.endswith(note):
                continue
            for sentence in passage_sentences(p.text):
                if (
                    is_meta(sentence)
                    or len(sentence.split()) < 6
                    or len(sentence) > 300
                    or _SETUP.search(sentence.strip())
                    or _LEANS_BACK.match(sentence.strip())  # "It is open source ...": about what, out of context?
                ):
                    continue
                own = set(terms(sentence))
                if len(own & said) >= 0.5 * len(own):  # it mostly repeats the card: it adds nothing
                    continue
                if len(missing & own) >= needed and (own & about or not about):
                    return sentence, p
        return None

    def _from_section(self, question: str, passages: Sequence[Passage]) -> Answer | None:
        kind = question_kind(question)
        if kind is CardKind.behavioral:  # a story is asked for: a note's opening would answer another question
            return None
        subject = subject_words(question)
        wanted = set(keyword_tokens(" ".join(subject)))

        def fit(rank: int, p: Passage) -> tuple[int, int, float, int]:
            """Among the top three: a section naming every word of the subject (one that defines only
            part of it, "bootstrap sampling" for "zebra sampling", is about something else), then one
            that defines the subject (for a definition question), then the one naming more of the
            subject's words, then the retrieval order."""
            if rank >= 3 or not wanted:
                return (0, 0, 0.0, rank)
            defines = kind is CardKind.definition and _defines(self._opening(p, 2), subject)
            named = len(wanted & set(keyword_tokens(f"{p.title} {p.section} {p.text}"))) / len(wanted)
            return (-int(named >= 1.0), -int(defines), -named, rank)

        ordered = [p for _, p in sorted(enumerate(passages), key=lambda rp: fit(*rp))]
        for first in ordered:
            opening = self._opening(first, self.settings.opening_sentences)
            if not opening:
                continue
            if wanted and not wanted & set(keyword_tokens(f"{first.title} {first.section} {' '.join(opening)}")):
                # Not one word of the question's subject: an opening about something else (an EMA of the
                # weights answered by the embedding layer's). Better the honest "I don't know".
                continue
            parts = [f"{' '.join(opening)} [1]"]
            citations = [Citation(1, first)]
            other = self._other_side(question, opening, ordered, first)
            if other is not None:
                sentence, passage = other
                parts.append(f"{sentence} [2]")
                citations.append(Citation(2, passage))
            return Answer(question, " ".join(parts), citations, composer="section", subject=" ".join(subject))
        return None

    def _opening(self, passage: Passage, limit: int) -> list[str]:
        """The first sentences of a passage that say something about the subject, up to the word budget."""
        out: list[str] = []
        words = 0
        for sentence in passage_sentences(passage.text):
            if is_meta(sentence) or len(sentence.split()) < 4:
                continue
            if not out:  # a chunk that starts mid-thought
                if _POINTS_BACK.match(sentence):
                    continue
                link = _LINK.match(sentence)
                if link is not None:
                    sentence = capitalized(sentence[link.end() :])
            n = len(sentence.split())
            if out and words + n > self.settings.opening_words:
                break
            out.append(sentence)
            words += n
            if len(out) == limit:
                break
        # A sentence that introduces a list or code block (ends with a colon) says nothing without it.
        while len(out) > 1 and out[-1].rstrip().endswith(":"):
            out.pop()
        return out

    def _other_side(
        self, question: str, opening: list[str], passages: Sequence[Passage], first: Passage
    ) -> tuple[str, Passage] | None:
        """For "X vs Y": when the opening only speaks of one side, the other side's opening sentence."""
        match = _BOTH_SIDES.search(" ".join(question.split()))
        if not match:
            return None
        sides = [g for g in match.groups() if g]
        said = set(terms(" ".join(opening)))
        for side in sides:
            side_terms = set(terms(side))
            if not side_terms or side_terms & said:
                continue
            for p in passages:
                if p is first:
                    continue
                for sentence in self._opening(p, 2):
                    if side_terms & set(terms(sentence)):
                        return sentence, p
        return None

    # ---- related questions ------------------------------------------------------------------------

    def _related(self, card: Card) -> list[Card]:
        return self.cards.related(card, self.settings.related) if self.cards is not None else []

    def _suggestions(self, matches: Sequence[CardMatch], exclude: set[str]) -> list[RelatedQuestion]:
        """Close cards as questions to ask next, when no card answered this one."""
        picked = [m.card for m in matches if m.score >= self.settings.suggest_floor and m.card.id not in exclude]
        return [RelatedQuestion(c.id, c.question) for c in picked[: self.settings.related]]


# What a follow-up of each kind looks for in the card it was already given. A sentence that opens with
# "Because" explains its own second half ("Because it behaves differently in the two modes, forgetting
# eval() is a common bug"), not the subject, so it is not a reason.
_AGAIN_CUES = {
    CardKind.why: re.compile(
        r"^(?!because\b).*\b(because|so that|so the|so a|so it|so small|which is why|that is why|this is why|"
        r"the reason|works? by|in effect)\b",
        re.IGNORECASE,
    ),
    CardKind.example: re.compile(r"\b(for example|for instance|e\.g\.|say|might become|suppose)\b|\d", re.IGNORECASE),
}

_CONTRAST = re.compile(r"\b(differ\w*|compare\w*|vs\.?|versus|same as|unlike)\b", re.IGNORECASE)
# A sentence that leans on the one before it ("This principle ...", "It differs ...").
_LEANS_BACK = re.compile(r"^(this|that|these|those|it|its|they|their|such)\b", re.IGNORECASE)
# A sentence that points back at the one before it ("These ...", "They ..."), and cannot open an answer;
# one that only opens with a link to it ("So a t-test is usually fine ...") can, without the link. Unlike
# ``_LEANS_BACK``, "That ..." and "Such ..." may open one ("Such a fallback fails quietly ..." says it all);
# "Exactly, the variance is 35/12", "Similarly, ..." and "In that case, ..." may not.
_POINTS_BACK = re.compile(
    r"^(?:this|these|those|they|their|it|its|here|similarly|likewise|otherwise|exactly|"
    r"in (?:that|this|either|both) cases?|the same)\b(?!-)",
    re.IGNORECASE,
)
_LINK = re.compile(r"^(?:then|so|but|also|however|instead|thus|hence|therefore|and)\b,?\s+(?=\w)", re.IGNORECASE)

# A question that asks yes or no ("is it true that ...", "..., or is it linear?") somewhere in it.
_YES_NO_QUESTION = re.compile(
    r"(?:^|[?.,;:!'\"(]\s*|\b(?:and|or|but|so)\s+)"
    r"(?:is|are|am|was|were|can|could|does|do|did|should|will|would|has|have|had|may|must|shall"
    r"|isn'?t|aren'?t|doesn'?t|don'?t|didn'?t|can'?t|won'?t|wouldn'?t|shouldn'?t)\b"
    r"|\b(?:right|correct|true|yes or no)\s*\?",
    re.IGNORECASE,
)
# A card's "No: ..." or "Yes, ..." opening, where what follows stands on its own.
_YES_NO_OPENING = re.compile(r"^(?:yes|no)(?:[,:;.]|\s+-|\s+\u2014)\s+(?!but\b|not\b|only\b|and\b|if\b|unless\b)", re.I)


def as_asked(question: str, answer: str) -> str:
    """A card's answer for this question: a card written for "is a token the same as a word?" opens
    "No: a token is ...", which answers "what is a token?" with a "No" nobody asked for."""
    opening = _YES_NO_OPENING.match(answer)
    if opening is None or _YES_NO_QUESTION.search(question.strip()):
        return answer
    return capitalized(answer[opening.end() :])


# A sentence that only sets up an example ("Suppose the query point is at the origin ...") or asks a
# question ("What decision will the prediction change?") says nothing on its own.
_SETUP = re.compile(r"^(?:suppose|imagine|consider|take|say|let's say|picture)\b|[?:]$", re.IGNORECASE)


def _defines(opening: list[str], subject: list[str]) -> bool:
    if not opening:
        return False
    first = opening[0].lower()
    return any(w in first for w in subject) and bool(_DEFINES.search(first))
