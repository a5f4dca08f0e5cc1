"""The verdict from answer-level features: gradient-boosted regression trees, stored in scorer.json.

Trained by ``tools/train_grader.py`` on the labelled answers of bench/data/grading* (written apart
from the grader); bench/grading_eval.py reports it two-fold cross-validated. Each class (correct,
partial, incorrect) has its own small trees, whose leaf values add up to that class's score; the
scores go through a softmax. Inference walks the stored trees in plain Python, so nothing heavier
than numpy is imported to grade; scikit-learn is needed only to train.

Logistic regression over the same features was the scorer until 2026-12-05: the trees do better
under the same cross-validation (they read thresholds and interactions, such as "every point found
but one wrong number", that a linear score cannot), see docs/benchmarks.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.study.grading.model import Verdict

WEIGHTS = Path(__file__).with_name("scorer.json")
CLASSES = (Verdict.correct, Verdict.partial, Verdict.incorrect)
MODEL = "gradient-boosted trees"


@dataclass(frozen=True)
class Trees:
    """One class's regression trees, flattened. Node ``i`` sends a feature vector ``x`` to ``left[i]``
    when ``x[feature[i]] <= threshold[i]`` and to ``right[i]`` otherwise; a node whose feature is -1 is
    a leaf worth ``value[i]`` (the learning rate already applied). ``roots`` are the trees' first nodes."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]
    roots: list[int]

    def total(self, x: list[float]) -> float:
        """The sum of the leaves ``x`` reaches, one per tree."""
        feature, threshold, left, right = self.feature, self.threshold, self.left, self.right
        s = 0.0
        for node in self.roots:
            while feature[node] >= 0:
                node = left[node] if x[feature[node]] <= threshold[node] else right[node]
            s += self.value[node]
        return s

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "feature": self.feature,
            "threshold": self.threshold,
            "left": self.left,
            "right": self.right,
            "value": self.value,
            "roots": self.roots,
        }

    @classmethod
    def from_dict(cls, data: dict[str, list[Any]]) -> Trees:
        trees = cls(
            [int(v) for v in data["feature"]],
            [float(v) for v in data["threshold"]],
            [int(v) for v in data["left"]],
            [int(v) for v in data["right"]],
            [float(v) for v in data["value"]],
            [int(v) for v in data["roots"]],
        )
        n = len(trees.feature)
        if not all(len(a) == n for a in (trees.threshold, trees.left, trees.right, trees.value)):
            raise ValueError("tree arrays of different lengths")
        if any(not 0 <= r < n for r in trees.roots) or any(
            f >= 0 and not (0 <= lo < n and 0 <= hi < n)
            for f, lo, hi in zip(trees.feature, trees.left, trees.right, strict=True)
        ):
            raise ValueError("a tree node points outside the tree")
        return trees


@dataclass(frozen=True)
class Scorer:
    trees: tuple[Trees, ...]  # one ensemble per class of CLASSES
    # How much more likely "correct" must be than "partial" to be the verdict: praising a wrong answer
    # costs a learner more than under-crediting a right one (chosen when training, see bench/grading_eval.py).
    margin: float = 0.0
    note: str = ""  # what the trees were trained on
    features: int = 0  # how many features each tree reads

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(correct), P(partial), P(incorrect) for one answer's features."""
        # The trees were split on float32 values (scikit-learn's trees compare in float32).
        row = np.asarray(x, dtype=np.float32).astype(np.float64).tolist()
        z = np.array([t.total(row) for t in self.trees])
        e = np.exp(z - z.max())
        return np.asarray(e / e.sum())

    def verdict(self, probabilities: np.ndarray) -> Verdict:
        best = CLASSES[int(np.argmax(probabilities))]
        if best is Verdict.correct and probabilities[0] - probabilities[1] < self.margin:
            return Verdict.partial
        return best

    def to_json(self, features: tuple[str, ...], note: str) -> str:
        return json.dumps(
            {
                "model": MODEL,
                "features": list(features),
                "classes": [c.value for c in CLASSES],
                "margin": self.margin,
                "note": note,
                "trees": [t.to_dict() for t in self.trees],
            },
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, path: Path = WEIGHTS, features: tuple[str, ...] | None = None) -> Scorer | None:
        """The installed trees, or None when there are none, they are damaged, or they were trained on
        other features than ``features`` (the rule decides until they are retrained)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("model") != MODEL or data.get("classes") != [c.value for c in CLASSES]:
                return None
            if features is not None and tuple(data.get("features", ())) != features:
                return None
            trees = tuple(Trees.from_dict(t) for t in data["trees"])
            width = len(data["features"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if len(trees) != len(CLASSES) or any(f >= width for t in trees for f in t.feature):
            return None
        return cls(trees, float(data.get("margin", 0.0)), str(data.get("note", "")), width)


# Chosen by two-fold cross-validation on the first three labelled sets (bench/grading_eval.py): depths
# 2-4, 100-150 rounds, learning rates 0.05 and 0.1, leaves of 1 or 20 answers, all or 80% of the
# answers per round. These called the fewest confidently wrong answers "correct" (25 of 534, against
# 33-46 for the others and 46 for logistic regression) at agreement 0.818 (0.811-0.840; logistic
# regression 0.802); see docs/benchmarks.md.
ROUNDS, DEPTH, LEARNING_RATE, MIN_LEAF, SUBSAMPLE = 150, 3, 0.05, 20, 0.8


def fit(x: np.ndarray, y: list[Verdict], *, seed: int = 0) -> Scorer:
    """Train on feature rows ``x`` and labels ``y`` (scikit-learn, imported only to train), each class
    weighted by the inverse of its frequency, and check that the stored trees give the same
    probabilities as the trained model."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.utils.class_weight import compute_sample_weight

    labels = np.array([CLASSES.index(v) for v in y])
    model = GradientBoostingClassifier(
        init="zero",
        n_estimators=ROUNDS,
        max_depth=DEPTH,
        learning_rate=LEARNING_RATE,
        min_samples_leaf=MIN_LEAF,
        subsample=SUBSAMPLE,
        random_state=seed,
    )
    model.fit(x, labels, sample_weight=compute_sample_weight("balanced", labels))
    if list(model.classes_) != list(range(len(CLASSES))):
        raise ValueError("every verdict needs labelled answers to train on")
    per_class: list[Trees] = []
    for k in range(len(CLASSES)):
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        value: list[float] = []
        roots: list[int] = []
        for estimator in model.estimators_[:, k]:
            tree = estimator.tree_
            base = len(feature)
            roots.append(base)
            for i in range(tree.node_count):
                leaf = tree.children_left[i] == -1
                feature.append(-1 if leaf else int(tree.feature[i]))
                threshold.append(0.0 if leaf else float(tree.threshold[i]))
                left.append(-1 if leaf else base + int(tree.children_left[i]))
                right.append(-1 if leaf else base + int(tree.children_right[i]))
                value.append(float(tree.value[i].ravel()[0]) * model.learning_rate)
        per_class.append(Trees(feature, threshold, left, right, value, roots))
    scorer = Scorer(tuple(per_class), features=x.shape[1])
    ours = np.array([scorer.probabilities(row) for row in x])
    if not np.allclose(ours, model.predict_proba(x), atol=1e-6):
        raise RuntimeError("the stored trees do not reproduce the trained model")
    return scorer
