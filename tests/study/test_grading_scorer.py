"""The verdict scorer: trees trained by scikit-learn, stored as JSON, walked without it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.study.grading import Verdict
from bot.study.grading.grader import FEATURES
from bot.study.grading.scorer import CLASSES, WEIGHTS, Scorer, Trees, fit


def _labelled(n: int = 240, seed: int = 3) -> tuple[np.ndarray, list[Verdict]]:
    """Two features: the first decides the verdict (high: correct, middle: partial, low: incorrect)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(n, 2))
    y = [Verdict.correct if a > 0.66 else Verdict.partial if a > 0.33 else Verdict.incorrect for a, _ in x]
    return x, y


def test_stored_trees_reproduce_the_trained_model_and_survive_a_round_trip(tmp_path: Path) -> None:
    x, y = _labelled()
    scorer = fit(x, y)  # raises if the flattened trees disagree with scikit-learn's probabilities
    path = tmp_path / "scorer.json"
    path.write_text(scorer.to_json(("a", "b"), "test"), encoding="utf-8")
    loaded = Scorer.load(path, features=("a", "b"))
    assert loaded is not None and loaded.note == "test"
    for row in x[:50]:
        assert np.allclose(loaded.probabilities(row), scorer.probabilities(row))
    assert loaded.verdict(loaded.probabilities(np.array([0.95, 0.5]))) is Verdict.correct
    assert loaded.verdict(loaded.probabilities(np.array([0.5, 0.5]))) is Verdict.partial
    assert loaded.verdict(loaded.probabilities(np.array([0.05, 0.5]))) is Verdict.incorrect


def test_the_margin_keeps_a_narrow_correct_partial() -> None:
    scorer = fit(*_labelled())
    p = np.array([0.5, 0.4, 0.1])
    assert scorer.verdict(p) is Verdict.correct
    assert replace(scorer, margin=0.2).verdict(p) is Verdict.partial


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{not json",
        '{"model": "logistic regression", "features": ["a", "b"]}',  # the old weights: the rule decides
        '{"model": "gradient-boosted trees", "features": ["a", "b"], "classes": ["correct", "partial", '
        '"incorrect"], "trees": [{"feature": [0], "threshold": [0.5], "left": [7], "right": [8], '
        '"value": [0.0], "roots": [0]}]}',  # a node pointing outside its tree
    ],
)
def test_damaged_or_foreign_weights_are_not_used(tmp_path: Path, text: str) -> None:
    path = tmp_path / "scorer.json"
    path.write_text(text, encoding="utf-8")
    assert Scorer.load(path, features=("a", "b")) is None


def test_weights_for_other_features_are_not_used(tmp_path: Path) -> None:
    path = tmp_path / "scorer.json"
    path.write_text(fit(*_labelled()).to_json(("a", "b"), "test"), encoding="utf-8")
    assert Scorer.load(path, features=("a", "c")) is None


def test_the_installed_trees_fit_the_grader_features() -> None:
    scorer = Scorer.load(WEIGHTS, features=FEATURES)
    assert scorer is not None and scorer.features == len(FEATURES) and len(scorer.trees) == len(CLASSES)
    assert all(isinstance(t, Trees) and t.roots for t in scorer.trees)
    p = scorer.probabilities(np.zeros(len(FEATURES)))
    assert p.shape == (3,) and abs(float(p.sum()) - 1.0) < 1e-9
