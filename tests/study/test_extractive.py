from __future__ import annotations

import re

from bot.study.answering import DONT_KNOW, ExtractiveComposer
from bot.study.retrieval import Passage
from bot.study.text import passage_sentences

PASSAGES = [
    Passage(
        "a",
        "Precision is the share of predicted positives that are truly positive. "
        "A spam filter with high precision rarely flags a legitimate email.",
        "notes/precision.md",
        "Precision and recall",
        "How precision is computed",
        0.71,
    ),
    Passage(
        "b",
        "Recall is the share of actual positives that the model finds. "
        "A screening test needs high recall because a missed case is costly.",
        "notes/precision.md",
        "Precision and recall",
        "How recall is computed",
        0.62,
    ),
    Passage(
        "c",
        "Dropout randomly zeroes activations during training.\n- It is switched off at inference.",
        "notes/dropout.md",
        "Dropout",
        "",
        0.40,
    ),
]

CITED = re.compile(r"(.+?) \[(\d+)\](?:\s|$)")


def test_every_sentence_is_quoted_from_the_passage_it_cites() -> None:
    answer = ExtractiveComposer(min_relevance=0.35).compose("what is precision and what is recall?", PASSAGES)
    pairs = CITED.findall(answer.text)
    assert pairs and " ".join(f"{s} [{n}]" for s, n in pairs) == answer.text
    by_n = {c.n: c.passage for c in answer.citations}
    for sentence, n in pairs:
        assert sentence in passage_sentences(by_n[int(n)].text)
    assert sorted(by_n) == list(range(1, len(by_n) + 1))
    assert answer.grounded and answer.composer == "extractive"


def test_answer_picks_the_sentences_that_answer() -> None:
    answer = ExtractiveComposer(min_relevance=0.35).compose("what does recall measure?", PASSAGES)
    assert "Recall is the share of actual positives" in answer.text
    assert "Dropout" not in answer.text


def test_answer_stays_short() -> None:
    long_passages = [
        Passage(
            str(i),
            " ".join(f"Recall sentence {j} about recall and positives found by the model." for j in range(30)),
            "s.md",
            "T",
            "S",
            0.7,
        )
        for i in range(5)
    ]
    answer = ExtractiveComposer(min_relevance=0.35, max_chars=400).compose("recall positives", long_passages)
    assert len(re.sub(r" \[\d+\]", "", answer.text)) <= 400
    assert len(CITED.findall(answer.text)) <= 4


def test_nothing_relevant_means_i_dont_know_with_closest_topics() -> None:
    weak = [
        Passage("x", "Some text about dropout.", "d.md", "Dropout", "", 0.21),
        Passage("y", "Text about k-means.", "k.md", "K-means clustering", "", 0.19),
    ]
    answer = ExtractiveComposer(min_relevance=0.35).compose("how do I bake bread?", weak)
    assert not answer.grounded and answer.citations == []
    assert answer.text.startswith(DONT_KNOW)
    assert "Dropout" in answer.text and "K-means clustering" in answer.text
    assert answer.closest_topics == ["Dropout", "K-means clustering"]


def test_a_subject_defined_twice_in_other_words_is_said_once() -> None:
    intro = Passage(
        "i",
        "Data leakage happens when a model is trained or evaluated with information that will not be "
        "available at prediction time, so offline metrics look better than real performance.",
        "notes/data-leakage.md", "Data leakage", "", 0.70,
    )  # fmt: skip
    section = Passage(
        "s",
        "Data leakage is any path by which information unavailable at real prediction time reaches the "
        "model during training or evaluation. Target leakage means a feature contains information about "
        "the label that would not be known at prediction time.",
        "notes/data-leakage.md", "Data leakage", "What data leakage is", 0.72,
    )  # fmt: skip
    text = ExtractiveComposer(0.3).compose("what is data leakage?", [section, intro]).text
    assert text.count("Data leakage") == 1 and "Target leakage means" in text


def test_sentences_pointing_at_a_note_file_are_left_out() -> None:
    guide = Passage(
        "g",
        "`notes/data/data-leakage.md` is the most tested topic here: target leakage and contamination. "
        "Target leakage comes from features recorded after the outcome being predicted.",
        "guide/05.md", "Data processing", "Data leakage", 0.70,
    )  # fmt: skip
    text = ExtractiveComposer(0.3).compose("what is target leakage?", [guide]).text
    assert ".md" not in text and text.startswith("Target leakage comes from features")
