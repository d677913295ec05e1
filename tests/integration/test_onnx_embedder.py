"""The bundled MiniLM on onnxruntime: built locally from the packaged weights, cached under the
data folder, rebuilt when missing or damaged, and giving the same vectors as the
sentence-transformers reference (exactly for fp32, within quantisation error for int8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import Settings
from engine.retrieval import onnx_model
from engine.retrieval.embeddings import (
    FP32_MODEL,
    TORCH_MODEL,
    LocalEmbedder,
    OnnxEmbedder,
    model_label,
)

TEXTS = [
    "The boundary layer thickens along the chord as viscous effects accumulate.",
    "What limits the lift of a swept wing at high subsonic Mach numbers?",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "x",
    "A much longer passage " * 80,  # past the 256-token limit: truncated like the reference
    "Les ondes de choc se forment lorsque l'écoulement ralentit brusquement.",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    pytest.importorskip("sentence_transformers")
    return LocalEmbedder().embed_documents(TEXTS)


@pytest.mark.slow
def test_int8_vectors_have_the_reference_shape_and_direction(shared_model_cache, reference):
    embedder = OnnxEmbedder(models_dir=shared_model_cache, quantized=True)
    vectors = embedder.embed_documents(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.97, cosines
    # the nearest neighbours are unchanged: each text is closest to its own reference vector
    assert (np.argmax(vectors @ reference.T, axis=1) == np.arange(len(TEXTS))).all()
    # a text's vector does not depend on what it is embedded with
    assert np.allclose(embedder.embed_query(TEXTS[1]), vectors[1], atol=1e-6)
    assert np.allclose(embedder.embed_documents(TEXTS[::-1])[::-1], vectors, atol=1e-6)
    assert embedder.embed_documents([]).shape == (0, 384)


def test_fp32_export_gives_the_reference_vectors(shared_model_cache, reference):
    embedder = OnnxEmbedder(models_dir=shared_model_cache, quantized=False)
    cosines = (embedder.embed_documents(TEXTS) * reference).sum(axis=1)
    assert cosines.min() > 0.9999, cosines


@pytest.mark.slow
def test_cached_model_is_rebuilt_when_missing_or_damaged(tmp_path: Path, shared_model_cache):
    cached = onnx_model.cache_path(shared_model_cache, quantized=True)
    OnnxEmbedder(models_dir=shared_model_cache)  # make sure the shared cache holds it
    models = tmp_path / "models"
    models.mkdir()
    target = onnx_model.cache_path(models, quantized=True)
    target.write_bytes(b"not an onnx model")  # damaged (e.g. a disk filled mid-copy)
    first = OnnxEmbedder(models_dir=models).embed_documents(TEXTS[:2])
    assert target.stat().st_size > 1_000_000
    assert not [p for p in models.iterdir() if p.name.startswith(".build-")]

    target.unlink()  # missing (e.g. the data folder was cleaned)
    again = OnnxEmbedder(models_dir=models).embed_documents(TEXTS[:2])
    assert target.is_file()
    expected = OnnxEmbedder(models_dir=cached.parent).embed_documents(TEXTS[:2])
    assert np.allclose(first, expected, atol=1e-4) and np.allclose(again, expected, atol=1e-4)


def test_labels_name_the_vectors_so_a_change_is_noticed(tmp_path: Path):
    default = Settings(data_dir=tmp_path)
    assert model_label(default) == "all-MiniLM-L6-v2-int8"
    # unquantised ONNX and torch make the same vectors: switching between them needs no rebuild
    assert (
        model_label(default.replace(embedding_model=FP32_MODEL))
        == model_label(default.replace(embedding_model=TORCH_MODEL))
        == "all-MiniLM-L6-v2"
    )
    assert default.storage.models_dir == tmp_path / "models"
    assert default.replace(model_cache_dir=tmp_path / "m").storage.models_dir == tmp_path / "m"
    assert model_label(default.replace(embedding_model="openai/x")) == "openai/x"
