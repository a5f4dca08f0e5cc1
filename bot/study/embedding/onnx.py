"""Query-time embeddings with onnxruntime, from a one-off ONNX export of the sentence-transformers model.

Importing sentence-transformers (torch, transformers) costs a one-shot ``studybot ask`` most of its
time and memory. Ingestion imports it anyway, so the first ``studybot ingest`` also exports the
model (transformer, pooling and any dense layers, traced as one graph) to ONNX in the cache folder,
next to the model's fast tokenizer. Queries then need only onnxruntime (a Chroma dependency),
``tokenizers`` and numpy.

An export is used only while it still belongs to the configured model: ``export.json`` records a
fingerprint of the model folder's files, and anything else (another model, changed files, an
export from an older format) makes ``OnnxEncoder.open`` refuse it with the reason, so the caller
falls back to sentence-transformers. Models given as a hub name, not a local folder, are never
exported: they always use sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the export's layout or contents change: older exports are then stale
MIN_COSINE = 0.99999  # an export that cannot reproduce the model this closely is not kept
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
PROBES = (
    "What does dropout do at inference time?",
    "precision vs recall",
    "my val loss goes up while train loss goes down",
    "How would you design a fraud detection system that scores card payments in real time?",
    "L2",
    "Gradient descent moves the parameters a small step against the gradient of the loss. " * 40,
    "Überanpassung – 过拟合 – surapprentissage 🤖",
)


class ExportUnavailable(Exception):
    """No usable export for this model; ``fixable`` when exporting again would cure it."""

    def __init__(self, reason: str, *, fixable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fixable = fixable


def export_folder(root: Path, model_path: str) -> Path:
    """Where the export of the model at ``model_path`` lives under the cache folder ``root``."""
    key = hashlib.sha256(str(Path(model_path).resolve()).encode()).hexdigest()[:16]
    return root / key


def fingerprint(model_path: Path) -> dict[str, str]:
    """Each file of the model folder: its size and a hash of its first and last 64 KiB.

    Cheap enough for every process start (about 1 MB read), and it changes when the weights, the
    configuration or the tokenizer are replaced, whatever the files' timestamps say.
    """
    out: dict[str, str] = {}
    for path in sorted(p for p in model_path.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest = hashlib.sha256(str(size).encode())
        with path.open("rb") as fh:
            digest.update(fh.read(65536))
            if size > 131072:
                fh.seek(-65536, os.SEEK_END)
                digest.update(fh.read())
        out[path.relative_to(model_path).as_posix()] = digest.hexdigest()[:24]
    return out


def _local_model(model_path: str) -> Path:
    path = Path(model_path)
    if not path.is_dir():
        raise ExportUnavailable(f"{model_path!r} is not a local model folder", fixable=False)
    return path


class OnnxEncoder:
    """Normalised sentence embeddings from an export, the same as sentence-transformers' to 1e-5."""

    def __init__(self, folder: Path, info: dict[str, Any]) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder
        self.max_seq_length = int(info["max_seq_length"])
        self.inputs = [str(name) for name in info["inputs"]]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self.pad_id = int(info["pad_id"])
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings are about graph optimisations
        options.inter_op_num_threads = 1
        # Worker threads sleep between calls instead of spinning: on a busy two-core machine spinning
        # threads fight the bot's own (a single question took 15 ms with spinning, 7 ms without).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    @classmethod
    def open(cls, root: Path, model_path: str) -> OnnxEncoder:
        """The export of ``model_path`` under ``root``; ExportUnavailable says why there is none."""
        model = _local_model(model_path)
        folder = export_folder(root, model_path)
        try:
            info = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ExportUnavailable(f"no ONNX export of {model} yet (`studybot ingest` makes one)") from None
        except (OSError, ValueError) as exc:
            raise ExportUnavailable(f"the ONNX export in {folder} is unreadable ({exc})") from None
        if info.get("format") != FORMAT:
            raise ExportUnavailable(f"the ONNX export in {folder} has an older format")
        if info.get("model") != str(model.resolve()) or info.get("files") != fingerprint(model):
            raise ExportUnavailable(f"the model files in {model} changed since the ONNX export in {folder}")
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise ExportUnavailable("onnxruntime is not installed", fixable=False) from None
        try:
            return cls(folder, info)
        except Exception as exc:  # a truncated model.onnx, a tokenizer file from elsewhere
            raise ExportUnavailable(f"the ONNX export in {folder} cannot be loaded ({exc})") from exc

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length vectors, one row per text. Texts are batched by length, as sentence-transformers does."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        rows: list[np.ndarray] = [np.empty(0)] * len(texts)
        for part in _batches(order, [len(e.ids) for e in encodings], batch_size):
            width = len(encodings[part[0]].ids)
            feed = {name: np.zeros((len(part), width), dtype=np.int64) for name in self.inputs}
            if "input_ids" in feed:
                feed["input_ids"].fill(self.pad_id)
            for row, i in enumerate(part):
                enc = encodings[i]
                n = len(enc.ids)
                columns = {"input_ids": enc.ids, "attention_mask": enc.attention_mask, "token_type_ids": enc.type_ids}
                for name in self.inputs:
                    feed[name][row, :n] = columns[name]
            (vectors,) = self.session.run(None, feed)
            vectors = np.asarray(vectors, dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
            for row, i in enumerate(part):
                rows[i] = vectors[row]
        return np.stack(rows)


def _batches(order: list[int], lengths: list[int], size: int) -> list[list[int]]:
    """Texts (longest first) in batches of at most ``size`` whose lengths are within half of the batch's
    longest: one long text (a whole answer beside its sentences) does not pad every short one to its length."""
    batches: list[list[int]] = []
    for i in order:
        if not batches or len(batches[-1]) >= size or 2 * lengths[i] < lengths[batches[-1][0]]:
            batches.append([i])
        else:
            batches[-1].append(i)
    return batches


def export(model: SentenceTransformer, model_path: str, root: Path) -> Path:
    """Export a loaded sentence-transformers model to ONNX under ``root`` and check it; the folder.

    The export is written to a temporary folder and moved into place only after it reproduced
    the model on PROBES (cosine >= MIN_COSINE), so a reader never sees half an export.
    """
    import torch

    source = _local_model(model_path)
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ExportUnavailable(f"{model_path!r} has no fast tokenizer to export", fixable=False)
    inputs = [name for name in tokenizer.model_input_names if name in INPUTS]
    if "input_ids" not in inputs or "attention_mask" not in inputs:
        raise ExportUnavailable(f"{model_path!r} takes inputs {tokenizer.model_input_names}", fixable=False)

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = dict(zip(inputs, tensors, strict=True))
            return self.model(features)["sentence_embedding"]  # type: ignore[no-any-return]

    folder = export_folder(root, model_path)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
    try:
        texts = ["a first sample sentence", "and a second, longer sample sentence"]
        tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in sentence-transformers 6
        sample = tokenize(texts)
        args = tuple(sample[name] for name in inputs)
        axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on constant branches: checked on PROBES below
            torch.onnx.export(
                Graph().eval(), args, str(work / "model.onnx"), input_names=inputs, output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}}, opset_version=17, dynamo=False,
            )  # fmt: skip
        tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
        info = {
            "format": FORMAT,
            "model": str(source.resolve()),
            "files": fingerprint(source),
            "inputs": inputs,
            "max_seq_length": int(model.max_seq_length or tokenizer.model_max_length),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "torch": torch.__version__,
        }
        expected = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
        got = OnnxEncoder(work, info).encode(PROBES)
        worst = float(np.min(np.sum(expected * got, axis=1)))
        if worst < MIN_COSINE:
            raise ExportUnavailable(f"the ONNX export of {model_path!r} differs from the model (cosine {worst:.6f})")
        info["min_cosine"] = worst
        (work / "export.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("exported %s to ONNX in %s (worst probe cosine %.6f)", model_path, folder, worst)
    return folder
