"""Sentence embeddings: one model, run by sentence-transformers or by its ONNX export."""

from bot.study.embedding.batcher import QueryBatcher
from bot.study.embedding.embedder import ONNX, REFERENCE, Embedder
from bot.study.embedding.onnx import ExportUnavailable, OnnxEncoder

__all__ = ["ONNX", "REFERENCE", "Embedder", "ExportUnavailable", "OnnxEncoder", "QueryBatcher"]
