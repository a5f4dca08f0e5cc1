from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from ingest.load import LoadedDocument
from ingest.split import load_token_counter, split_document

LONG_SECTION = " ".join(
    f"Sentence number {i} explains another detail of gradient descent with momentum and adaptive steps."
    for i in range(120)
)

DOC = f"""# Optimizers

Intro about optimizers.

## Momentum

Momentum keeps a running average of gradients.

### Nesterov momentum

Nesterov looks ahead before computing the gradient.

## Long section about Adam

{LONG_SECTION}

```python
# not a heading
x = 1
```
"""


def _doc(text: str = DOC, source: str = "notes/opt.md") -> LoadedDocument:
    return LoadedDocument(Path(source), source, "Optimizers", text, {"area": "math", "topic": "optimization"})


def test_chunks_keep_heading_path_and_metadata() -> None:
    chunks = split_document(_doc())
    sections = [c.metadata["section"] for c in chunks]
    assert sections[0] == "" and "Momentum" in sections and "Momentum > Nesterov momentum" in sections
    assert all(c.metadata["source"] == "notes/opt.md" and c.metadata["title"] == "Optimizers" for c in chunks)
    assert [c.metadata["position"] for c in chunks] == list(range(len(chunks)))
    assert chunks[0].metadata["area"] == "math" and chunks[0].metadata["topic"] == "optimization"
    nesterov = next(c for c in chunks if c.metadata["section"].endswith("Nesterov momentum"))
    assert nesterov.embed_text.startswith("Optimizers > Momentum > Nesterov momentum\n")
    assert not any("# not a heading" in c.metadata["section"] for c in chunks)


def test_chunks_fit_the_model_window_exactly() -> None:
    count = load_token_counter(Settings(_env_file=None).resolved_embedding_model())  # type: ignore[call-arg]
    assert count is not None
    dense = " ".join(["Hyperparameter-optimisation_with_BayesianSearch(TPE)+GPs!"] * 400)
    chunks = split_document(_doc(DOC + "\n## Dense\n\n" + dense), count_tokens=count)
    assert len(chunks) > 6
    assert max(count(c.embed_text) for c in chunks) <= 256


def test_ids_are_stable_and_content_derived() -> None:
    first = split_document(_doc())
    again = split_document(_doc())
    assert [c.id for c in first] == [c.id for c in again]
    edited = split_document(_doc(DOC.replace("Nesterov looks ahead", "Nesterov peeks ahead")))
    changed = {c.id for c in edited} - {c.id for c in first}
    assert len(changed) == 1  # only the edited chunk gets a new id
    moved = split_document(_doc(DOC, source="notes/other.md"))
    assert not {c.id for c in moved} & {c.id for c in first}


def test_duplicate_paragraphs_get_distinct_ids() -> None:
    text = "# T\n\n## S\n\nSame text.\n\n## S\n\nSame text.\n"
    chunks = split_document(_doc(text))
    assert len({c.id for c in chunks}) == len(chunks) == 2
