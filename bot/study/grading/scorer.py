"""The verdict from answer-level features: multinomial logistic regression, weights in scorer.json.

Trained by ``tools/train_grader.py`` on the labelled answers of bench/data/grading (written apart
from the grader); bench/grading_eval.py reports it two-fold cross-validated. Inference is a few
lines of numpy, so nothing heavier is imported to grade.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.study.grading.model import Verdict

WEIGHTS = Path(__file__).with_name("scorer.json")
CLASSES = (Verdict.correct, Verdict.partial, Verdict.incorrect)


@dataclass(frozen=True)
class Scorer:
    mean: np.ndarray  # feature standardization
    scale: np.ndarray
    coef: np.ndarray  # classes x features
    intercept: np.ndarray  # classes
    # How much more likely "correct" must be than "partial" to be the verdict: praising a wrong answer
    # costs a learner more than under-crediting a right one (chosen when training, see bench/grading_eval.py).
    margin: float = 0.0
    note: str = ""  # what the weights were trained on

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(correct), P(partial), P(incorrect) for one answer's features."""
        z = self.coef @ ((x - self.mean) / self.scale) + self.intercept
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
                "features": list(features),
                "classes": [c.value for c in CLASSES],
                "mean": self.mean.tolist(),
                "scale": self.scale.tolist(),
                "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(),
                "margin": self.margin,
                "note": note,
            },
            indent=1,
        )

    @classmethod
    def load(cls, path: Path = WEIGHTS, features: tuple[str, ...] | None = None) -> Scorer | None:
        """The installed weights, or None when there are none (or they do not fit ``features``)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if features is not None and tuple(data.get("features", ())) != features:
            return None  # trained on other features: the rule decides until it is retrained
        return cls(
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            np.asarray(data["intercept"], dtype=np.float64),
            float(data.get("margin", 0.0)),
            str(data.get("note", "")),
        )


def fit(x: np.ndarray, y: list[Verdict], c: float = 0.1) -> Scorer:
    """Train on feature rows ``x`` and labels ``y`` (scikit-learn, imported only to train). The
    regularisation ``c`` was chosen by two-fold cross-validation on the first two labelled sets (0.03,
    0.1, 0.3 and 1 tried; 0.1 called the fewest wrong answers correct)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    labels = np.array([CLASSES.index(v) for v in y])
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit((x - mean) / scale, labels)
    coef = np.zeros((len(CLASSES), x.shape[1]))
    intercept = np.zeros(len(CLASSES))
    for row, cls in enumerate(model.classes_):
        coef[cls], intercept[cls] = model.coef_[row], model.intercept_[row]
    return Scorer(mean, scale, coef, intercept)
