"""Answers as a learner reads them: a card when one means the same question, else the best section's
opening, else an honest "I don't know"; related questions; follow-ups that keep the subject."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Services
from bot.study.answering import DONT_KNOW, Answer, AnswerService
from bot.study.answering.composer import is_meta
from bot.study.answering.questions import follow_up_query, is_follow_up, question_kind, subject_of
from bot.study.banks import CardKind
from bot.study.text import split_sentences
from ingest.pipeline import ingest

_CITE = re.compile(r"\s*\[\d{1,2}\]")


def _body(text: str) -> str:
    return _CITE.sub("", text).strip()


@pytest.mark.parametrize(
    ("question", "opening"),
    [
        ("What is gradient descent?", "Gradient descent is"),
        ("what is overfitting", "Overfitting is"),
        ("What is accuracy?", "Accuracy is"),
        ("what's a p-value", "A p-value is"),
        ("what is a feature store", "A feature store is"),
        ("what is unsupervised learning", None),
    ],
)
def test_a_definition_question_opens_with_the_definition(
    knowledge_services: Services, question: str, opening: str | None
) -> None:
    answer = knowledge_services.answers.ask_sync(question)
    first = split_sentences(_body(answer.text))[0]
    assert answer.grounded and answer.composer == "card", answer.text
    if opening:
        assert first.startswith(opening), first
    assert re.search(r"\b(is|are|means)\b", first)
    assert 2 <= len(answer.related) <= 3 and all(r.question.endswith("?") for r in answer.related)


@pytest.mark.parametrize(
    ("question", "needs"),
    [
        ("How do you handle imbalanced datasets?", ["class weight", "threshold", "resampl"]),
        ("my val loss goes up while train loss goes down", ["overfitting", "early stopping"]),
        ("What's the difference between bagging and boosting?", ["bagging", "boosting", "bias", "variance"]),
        ("my loss went nan after a few epochs, why?", ["learning rate"]),
        ("how would you design a fraud detection system", ["label", "feature", "threshold", "monitor"]),
        ("tell me about a time you disagreed with a teammate", ["situation", "result"]),
    ],
)
def test_questions_learners_ask_get_answers_that_answer(
    knowledge_services: Services, question: str, needs: list[str]
) -> None:
    answer = knowledge_services.answers.ask_sync(question)
    text = answer.text.lower()
    assert answer.grounded and all(n in text for n in needs), answer.text
    assert ".md" not in answer.text and not any(is_meta(s) for s in split_sentences(_body(answer.text)))
    assert all(c.passage.section for c in answer.citations)  # shown as title > section, never a path


def test_a_card_answer_is_cited_to_its_note_section(knowledge_services: Services) -> None:
    answer = knowledge_services.answers.ask_sync("how does dropout work")
    card = knowledge_services.cards.by_id[answer.card_id or ""]
    assert answer.text.startswith(card.answer) and answer.citations[0].n == 1
    cited = answer.citations[0].passage
    assert cited.source.endswith(card.source.note) and cited.section == card.source.section
    assert [r.card_id for r in answer.related] == [i for i in card.related if i in knowledge_services.cards.by_id][:3]


def test_a_supporting_sentence_never_repeats_the_card(knowledge_services: Services) -> None:
    """The one sentence from the notes after a card's answer must add something, not say it again."""
    from bot.study.text import split_sentences, terms

    questions = (
        "why load the model once at startup instead of on every request",
        "how does dropout work",
        "why does l1 give you sparse weights but l2 doesnt",
        "what features can i pull out of a timestamp",
    )
    for question in questions:
        answer = knowledge_services.answers.ask_sync(question)
        card = knowledge_services.cards.by_id.get(answer.card_id or "")
        if card is None:
            continue
        extra = answer.text[len(card.answer) :].replace("[1]", "").replace("[2]", "").strip()
        said = set(terms(card.answer))
        for sentence in split_sentences(extra):
            own = set(terms(sentence))
            assert len(own & said) < 0.5 * len(own), f"{question!r}: {sentence!r} repeats the card"


def test_cards_are_matched_by_meaning_and_by_their_subject(knowledge_services: Services) -> None:
    cards = knowledge_services.cards
    top = cards.match("my kmeans clusters change every run, is that normal?")[0]
    assert top.card.topic == "clustering", top.card.question
    knn = cards.match("how do i choose k for k-nearest neighbours")[0]
    kmeans = cards.match("how do i choose k for k-means clustering")[0]
    assert knn.card.topic == "knn" and kmeans.card.topic == "clustering"
    assert cards.match("what is a p value")[0].card.topic == "statistics-testing"
    # Asked for its weaknesses, k-means gets its limits card, not its definition ("downsides" and
    # "limitations" are the same word to the matcher).
    assert cards.match("what are the downsides of k-means")[0].card.id == "clustering-c07"
    assert cards.match("what's a transformer in deep learning")[0].card.id == "transformers-attention-c01"
    answer = knowledge_services.answers.ask_sync("what's a transformer in deep learning")
    assert answer.card_id == "transformers-attention-c01" and "[2]" not in answer.text and answer.text.count("[1]") == 1


def test_a_question_about_foreign_subjects_is_refused_but_a_typo_is_not(knowledge_services: Services) -> None:
    # "nba" and "lottery" are in no card and no note: the card that shares "draft" and "work" with it
    # (close enough on its own) is not the answer.
    foreign = knowledge_services.answers.ask_sync("how does the nba draft lottery work")
    assert not foreign.grounded and foreign.card_id is None, foreign.text
    # "informaton" is in no card either, but it is a misspelling of a word the cards use.
    typo = knowledge_services.answers.ask_sync("explain informaton gain")
    assert typo.grounded and "information gain" in typo.text.lower(), typo.text


def test_never_an_empty_answer(knowledge_services: Services) -> None:
    for question in ("What is accuracy?", "what is ML", "explain", "gpu", "transformers?", "k"):
        answer = knowledge_services.answers.ask_sync(question)
        assert _body(answer.text), question


def test_dont_know_names_only_close_topics(knowledge_services: Services) -> None:
    far = knowledge_services.answers.ask_sync("How long should I knead bread dough?")
    assert far.text == DONT_KNOW and far.closest_topics == [] and far.related == []


@pytest.fixture
def notes_only(make_services: Callable[..., Services], corpus: Path) -> AnswerService:
    """Answers over the sample notes with no answer cards: the section path."""
    services = make_services(card_threshold=2.0)
    ingest([corpus], services.settings, services.store, services.embedder)
    return services.answers


def test_without_a_card_the_answer_is_the_opening_of_one_section(notes_only: AnswerService) -> None:
    answer = notes_only.ask_sync("what is dropout?")
    assert answer.composer == "section" and [c.n for c in answer.citations] == [1]
    assert _body(answer.text).startswith("Dropout is a regularization technique")
    assert answer.citations[0].passage.title == "Dropout regularization"


def test_a_comparison_gets_both_sides(notes_only: AnswerService) -> None:
    answer = notes_only.ask_sync("precision vs recall")
    text = answer.text
    assert "TP / (TP + FP)" in text and "TP / (TP + FN)" in text, text
    assert len(answer.citations) == 2


def test_a_near_miss_names_its_topic(notes_only: AnswerService) -> None:
    answer = notes_only.ask_sync("how do i pick the number of clusters")
    assert not answer.grounded and answer.closest_topics == ["Kmeans"], answer.text


# ---- question kinds and follow-ups -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("what is dropout", CardKind.definition),
        ("whats the difference between bagging and boosting", CardKind.comparison),
        ("resnet vs vgg", CardKind.comparison),
        ("my loss went nan after a few epochs, why?", CardKind.symptom),
        ("how do you handle imbalanced datasets", CardKind.how_to),
        ("how would you design a fraud detection system", CardKind.design),
        ("tell me about a time you disagreed with your manager", CardKind.behavioral),
        ("why does batch norm help", CardKind.why),
        ("when should I use L1 instead of L2?", CardKind.when_to_use),
        ("should i scale features for a random forest", CardKind.when_to_use),
        ("give me a worked example of bayes theorem", CardKind.example),
        ("why use an orchestrator instead of plain cron jobs", CardKind.comparison),
        ("what are the downsides of k-means", CardKind.when_to_use),
        ("when does pca fail", CardKind.when_to_use),
    ],
)
def test_question_kinds(question: str, kind: CardKind) -> None:
    assert question_kind(question) is kind


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("why does it work?", "why does dropout work?"),
        ("what are its downsides?", "what are dropout's downsides?"),
        ("is it used at inference?", "is dropout used at inference?"),
        ("give me an example", "give me an example (dropout)?"),
        ("and for regression?", "for regression (dropout)?"),
        ("how do I tune it then?", "how do I tune dropout then?"),
        # contractions typed without the apostrophe and fillers are not a subject of their own
        ("isnt that more prone to overfitting?", "isnt dropout more prone to overfitting?"),
        ("does that actually mess up my probabilities?", "does dropout actually mess up my probabilities?"),
        ("does it matter for small nets?", "does dropout matter for small nets?"),
    ],
)
def test_follow_up_questions_take_the_previous_subject(question: str, expected: str) -> None:
    assert is_follow_up(question)
    assert follow_up_query(question, "dropout") == expected


@pytest.mark.parametrize(
    "question",
    [
        "what is dropout",
        "how does batch normalization work",
        "explain the bias variance trade-off",
        # an "it" that points at nothing
        "is it actually ok to drop outliers",
        "is it worth scaling features for trees",
    ],
)
def test_questions_with_a_subject_of_their_own_are_not_follow_ups(question: str) -> None:
    assert not is_follow_up(question) and follow_up_query(question, "dropout") is None


def test_the_subject_of_a_question() -> None:
    assert subject_of("What's the difference between bagging and boosting?") == "bagging boosting"
    assert subject_of("what does k-means minimize") == "k-means"
    assert subject_of("what's a transformer in deep learning") == "transformer"  # the field names no subject


# Two-turn exchanges: the second turn has no subject of its own; its answer must be about the first's.
FOLLOW_UPS = [
    ("what is dropout", "why does it work?", "dropout"),
    ("what is dropout", "is it used at inference?", "inference"),
    ("what is L1 regularization", "and L2?", "l2"),
    ("what is k-means", "how do I choose k then?", "k"),
    ("what is k-means", "what are its weaknesses?", "k-means"),
    ("what is a random forest", "why does it work?", "tree"),
    ("what is gradient boosting", "how do I stop it overfitting?", "boost"),
    ("what is an SVM", "what does the kernel trick do there?", "kernel"),
    ("what is PCA", "give me an example", "component"),
    ("what is batch normalization", "why does it help?", "batch"),
    ("what is the learning rate", "what happens if it is too high?", "learning rate"),
    ("what is Adam", "how is it different from SGD?", "adam"),
    ("what is precision", "and recall?", "recall"),
    ("what is ROC AUC", "when is it misleading?", "auc"),
    ("what is cross-validation", "how many folds should I use?", "fold"),
    ("what is data leakage", "how do I detect it?", "leak"),
    ("what is SMOTE", "when should I not use it?", "smote"),
    ("what is one-hot encoding", "what are its downsides?", "column"),
    ("what is a feature store", "why do teams need one?", "feature"),
    ("what is a canary deployment", "how is it different from shadow?", "shadow"),
    ("what is Docker", "what is a multi-stage build in it?", "stage"),
    ("what is Kubernetes", "how does it autoscale?", "autoscal"),
    ("what is MLflow", "what is its model registry?", "registry"),
    ("what is data drift", "how do I detect it?", "drift"),
    ("what is a p-value", "what does it not tell you?", "p-value"),
    ("what is Bayes theorem", "give me an example", "positive"),
    ("what is LoRA", "why is it cheaper?", "lora"),
    ("what is quantization", "does it hurt accuracy?", "quantiz"),
    ("what is Spark", "what is a shuffle there?", "shuffle"),
    ("what is Kafka", "how does it keep order?", "partition"),
    ("what is a window function in SQL", "give me an example", "over"),
    ("what is the STAR method", "give me an example", "situation"),
]


def two_turns(answers: AnswerService, first: str, second: str) -> tuple[Answer, Answer]:
    """Ask ``first``, then ``second`` as the chat does: with the first answer's subject and card."""
    before = answers.ask_sync(first)
    return before, answers.ask_sync(second, previous=before.subject, previous_card=before.card_id or "")


@pytest.mark.parametrize(("first", "second", "expected"), FOLLOW_UPS)
def test_two_turn_exchanges_keep_the_subject(
    knowledge_services: Services, first: str, second: str, expected: str
) -> None:
    before, after = two_turns(knowledge_services.answers, first, second)
    assert before.subject and after.grounded, (before.subject, after.text)
    if is_follow_up(second):  # no subject of its own: searched with the previous one
        assert after.searched != second and before.subject.split()[0] in after.searched.lower()
    assert expected in after.text.lower(), (after.searched, after.text)


@pytest.mark.parametrize(
    ("first", "second", "again"),
    [
        ("what is PCA", "give me an example", False),  # a worked-example card is there: not the same card twice
        ("what is a normal distribution", "why does it show up everywhere?", True),  # its card says why
    ],
)
def test_a_follow_up_gets_the_previous_card_again_only_when_no_close_card_of_its_kind_answers(
    knowledge_services: Services, first: str, second: str, again: bool
) -> None:
    before, after = two_turns(knowledge_services.answers, first, second)
    assert before.card_id and after.card_id, (before.text, after.text)
    assert (after.card_id == before.card_id) is again, after.text
    if not again:  # the card of the kind asked
        kinds = {c.id: c.kind for c in knowledge_services.cards.cards}
        assert kinds[after.card_id] is CardKind.example, after.text


def test_an_opening_never_ends_on_the_sentence_that_introduces_a_code_block(
    make_services: Callable[..., Services], tmp_path: Path
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "unit-tests.md").write_text(
        "# Unit testing\n\n## What a good unit test looks like\n\n"
        "A good unit test checks one behaviour of one function with a fixed input. "
        "It runs in milliseconds and needs no network or disk. Here is one for a tokenizer:\n\n"
        "```python\ndef test_splits_on_spaces():\n    assert tokenize('a b') == ['a', 'b']\n```\n",
        encoding="utf-8",
    )
    services = make_services(card_threshold=2.0)
    ingest([notes], services.settings, services.store, services.embedder)
    answer = services.answers.ask_sync("what does a good unit test look like")
    body = _body(answer.text)
    assert answer.composer == "section" and body.startswith("A good unit test checks one behaviour"), body
    assert "Here is one" not in body and not body.endswith(":"), body
