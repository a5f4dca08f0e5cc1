"""The project's own retrieval and answer checks on learner-phrased questions (targets from the issues)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.app import Services
from bot.study.answering.composer import is_meta
from bot.study.banks import load_retrieval_questions
from bot.study.evaluation import RetrievalMetrics, evaluate_retrieval
from bot.study.retrieval import RetrievalConfig, Retriever
from bot.study.text import passage_sentences, split_sentences

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = load_retrieval_questions((REPO / "tests" / "data" / "retrieval").glob("*.yaml"))
OFF_TOPIC: list[str] = yaml.safe_load((REPO / "tests" / "data" / "off_topic.yaml").read_text(encoding="utf-8"))


def _evaluate(services: Services, **changes: object) -> RetrievalMetrics:
    config = replace(RetrievalConfig(), **changes)  # type: ignore[arg-type]
    retriever = Retriever(services.store, services.embedder, k=5, config=config, questions=services.cards)
    return evaluate_retrieval(retriever.retrieve, QUESTIONS, k=5)


def test_learner_questions_find_their_note(knowledge_services: Services) -> None:
    metrics = evaluate_retrieval(knowledge_services.retriever.retrieve, QUESTIONS, k=5)
    misses = "\n".join(f"{q!r} -> want {label}, got {got[:3]}" for q, label, got in metrics.misses)
    assert metrics.hit5 >= 0.99 and metrics.mrr >= 0.933, f"{metrics.row()}\n{misses}"


def test_hybrid_beats_each_single_method(knowledge_services: Services) -> None:
    """The retrieval as shipped (hybrid, with the answer cards' questions as a fused list) against BM25
    alone and dense alone."""
    hybrid = _evaluate(knowledge_services)
    keyword = _evaluate(knowledge_services, mode="keyword", per_source=0)
    dense = _evaluate(knowledge_services, mode="dense", per_source=0)
    report = f"hybrid {hybrid.row()}\nkeyword {keyword.row()}\ndense {dense.row()}"
    assert hybrid.mrr > max(keyword.mrr, dense.mrr), report
    assert hybrid.hit5 >= max(keyword.hit5, dense.hit5), report
    assert hybrid.ndcg5 > max(keyword.ndcg5, dense.ndcg5), report


def _normalise(text: str) -> str:
    return " ".join(text.split())


def test_every_answer_is_grounded_in_what_it_cites(knowledge_services: Services) -> None:
    """On the whole labelled set: a card's answer is cited to the card's own note section, and every
    other sentence is a sentence of the passage it cites. No file path or note-about-the-notes."""
    cited = re.compile(r"(.+?) \[(\d+)\](?: |$)")
    cards = {c.id: c for c in knowledge_services.cards.cards}
    answered = 0
    for q in QUESTIONS:
        answer = knowledge_services.answers.ask_sync(q.question)
        if not answer.grounded:
            continue
        answered += 1
        by_number = {c.n: c.passage for c in answer.citations}
        parts = cited.findall(answer.text)
        assert parts and "".join(f"{s} [{n}] " for s, n in parts).strip() == answer.text, answer.text
        assert ".md" not in answer.text and not any(is_meta(s) for s, _ in parts), answer.text
        if answer.card_id is not None:
            card = cards[answer.card_id]
            first, n = parts.pop(0)
            assert first == card.answer and n == "1", (q.question, answer.text)
            assert by_number[1].section == card.source.section and by_number[1].source.endswith(card.source.note)
        for text, n in parts:
            assert int(n) in by_number, (q.question, answer.text)
            sources = {_normalise(s) for s in passage_sentences(by_number[int(n)].text)}
            for sentence in split_sentences(text):
                assert _normalise(sentence) in sources, (q.question, sentence, by_number[int(n)].text)
        assert sorted(by_number) == list(range(1, len(by_number) + 1)), "citations are numbered 1..n"
    assert answered >= 0.95 * len(QUESTIONS), f"only {answered} of {len(QUESTIONS)} learner questions answered"


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_get_i_dont_know(knowledge_services: Services, question: str) -> None:
    answer = knowledge_services.answers.ask_sync(question)
    assert not answer.grounded and answer.citations == [] and answer.related == [], answer.text
    assert answer.card_id is None
