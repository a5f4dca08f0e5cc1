"""The project's own retrieval check on learner-phrased questions (targets from the issue)."""

from __future__ import annotations

from pathlib import Path

from bot.app import Services
from bot.study.banks import load_retrieval_questions
from bot.study.evaluation import evaluate_retrieval

REPO = Path(__file__).resolve().parents[1]


def test_learner_questions_find_their_note(knowledge_services: Services) -> None:
    questions = load_retrieval_questions((REPO / "tests" / "data" / "retrieval").glob("*.yaml"))
    metrics = evaluate_retrieval(knowledge_services.retriever.retrieve, questions, k=5)
    misses = "\n".join(f"{q!r} -> want {label}, got {got[:3]}" for q, label, got in metrics.misses)
    assert metrics.hit5 >= 0.90, f"{metrics.row()}\n{misses}"


def test_off_topic_questions_get_i_dont_know(knowledge_services: Services) -> None:
    off_topic = [
        "How long should I knead bread dough?",
        "Who won the football world cup in 2018?",
        "What is the capital of Australia?",
        "How do I change a flat tyre on my bike?",
        "Best way to cook a medium-rare steak?",
    ]
    for question in off_topic:
        answer = knowledge_services.answers.ask_sync(question)
        assert not answer.grounded and answer.citations == [], question
        assert answer.closest_topics, question
