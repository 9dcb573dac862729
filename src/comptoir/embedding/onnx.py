"""The ONNX Runtime backend on CPU: any mean-pooled transformer encoder (``OnnxEncoder``), and
sentence-transformers models exported to it (``OnnxEmbedder``).

A sentence-transformers transformer is exported once from the model's own weights (a thin wrapper
returning the last hidden state, through ``torch.onnx.export``) and cached in the data directory under
a name that changes with the weights; optionally quantized to int8 (MatMul weights per channel, the
most sensitive ones kept in float). Tokenization uses a ``tokenizer.json`` with ``tokenizers``; texts
are sorted by length before batching so little work goes to padding; mean pooling and L2 normalisation
follow, as sentence-transformers does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from comptoir.embedding.base import Embedder, Vectors
from comptoir.embedding.sentence import model_label
from comptoir.errors import ConfigurationError, InvalidInput

logger = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _fingerprint(model_dir: Path) -> str:
    weights = next(
        (p for p in (model_dir / "model.safetensors", model_dir / "pytorch_model.bin") if p.exists()), None
    )
    if weights is None:
        raise ConfigurationError(f"no model weights in {model_dir}")
    stat = weights.stat()
    return hashlib.sha256(f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def _max_length(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export the transformer of ``model_dir`` to ``target`` (written atomically)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    partial = target.with_suffix(".partial")
    # The TorchScript exporter is used on purpose: it handles this encoder with dynamic axes and needs
    # no extra package. Its warnings (legacy exporter, tracer notes on the graph) concern this one-off
    # offline step only; the exported model is checked against PyTorch by the tests.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (example, example, torch.zeros_like(example)),
            str(partial),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(partial, target)


# The int8 recipe is part of the cached file's name: a changed recipe is never read from an old file.
INT8_RECIPE = "int8-ffn-out-fp32"


def sensitive_matmuls(model: Any) -> list[str]:
    """The MatMuls kept in float: the feed-forward output projections, the one weight of each layer with
    more rows than columns (its input, after GELU, is the activation dynamic quantization reads worst).
    Measured on all-MiniLM-L6-v2 over SciFact chunks: they carry 3.1e-3 of the 5.6e-3 mean cosine error
    that int8 everywhere adds; the query, key and attention-output projections 1e-4 each."""
    weights = {tensor.name: tuple(tensor.dims) for tensor in model.graph.initializer}
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul"
        and len(weights.get(node.input[1], ())) == 2
        and weights[node.input[1]][0] > weights[node.input[1]][1]
    ]


def quantize_int8(source: Path, target: Path) -> None:
    """int8 weights (per output channel) for the MatMuls but the sensitive ones; ONNX Runtime's dynamic
    quantization leaves the attention's activation-by-activation products in float. On SciFact, int8
    everywhere lost 0.0057 nDCG@10 against PyTorch fp32, over the 0.005 allowed; keeping the feed-forward
    outputs in float (6 of 36 MatMuls, a third of the work) is what brings it back."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(".partial")
    quantize_dynamic(
        str(source),
        str(partial),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=sensitive_matmuls(onnx.load(str(source), load_external_data=False)),
    )
    os.replace(partial, target)


class OnnxEncoder(Embedder):
    """A transformer encoder in ONNX Runtime, mean-pooled: ``path`` is the graph (inputs ``input_ids``,
    ``attention_mask``, optionally ``token_type_ids``; first output the last hidden state), ``tokenizer``
    a ``tokenizers`` JSON file. ``query_prefix`` and ``passage_prefix`` are put before questions and
    documents for the models trained with them (e5's ``query: ``/``passage: ``).

    Two sessions on the same graph. A question is embedded alone, on a session with every thread (the
    lowest latency: 3.5 ms against 4.1 with one thread, all-MiniLM-L6-v2 int8). Documents go through
    single-threaded runs, one per thread, in parallel: ONNX Runtime's threads spin between the
    operators of a small batch, and on two cores a one-text batch cost 47 ms of CPU with two threads
    against 25 with one; two one-thread runs side by side embedded 77 FAQ entries/s against 61.
    """

    def __init__(
        self,
        path: Path,
        tokenizer: Path,
        *,
        model: str,
        name: str,
        max_length: int,
        batch_size: int = 8,
        threads: int | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        super().__init__(batch_size=batch_size)
        from tokenizers import Tokenizer

        self.threads = threads or (os.cpu_count() or 1)
        self._session = _session(path, self.threads)
        self._bulk = _session(path, 1) if self.threads > 1 else self._session
        self._pool = (
            ThreadPoolExecutor(self.threads, thread_name_prefix="embed") if self.threads > 1 else None
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding()
        self.model = model
        self.name = name
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        output = self._session.get_outputs()[0].shape[-1]
        self.dimension = output if isinstance(output, int) else int(self._run(self._session, ["x"]).shape[1])

    def embed(self, texts: Any) -> Vectors:
        # length-sorted batches: similar lengths pad little; results go back in the caller's order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = super().embed([self.passage_prefix + texts[i] for i in order])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def embed_query(self, text: str) -> Vectors:
        if not text.strip():
            raise InvalidInput("cannot embed an empty text")
        vector = self._run(self._session, [self.query_prefix + text])[0]
        with self._count_lock:
            self.texts_embedded += 1
        normalized: Vectors = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return normalized

    def _batch_size_for(self, count: int) -> int:
        # no smaller than needed to give every thread a batch: two texts go to two threads
        return max(1, min(self.batch_size, -(-count // self.threads)))

    def _embed_batches(self, batches: list[list[str]]) -> Iterable[Vectors]:
        if self._pool is None or len(batches) == 1:
            return (self._run(self._bulk, batch) for batch in batches)
        return self._pool.map(lambda batch: self._run(self._bulk, batch), batches)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        return self._run(self._bulk, texts)

    def _run(self, session: Any, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled: Vectors = ((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)).astype(
            np.float32
        )
        return pooled


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEmbedder(OnnxEncoder):
    """A sentence-transformers model directory, exported to ONNX once (and quantized to int8 if asked)
    into ``cache_dir``."""

    def __init__(
        self,
        model_dir: Path,
        *,
        cache_dir: Path,
        int8: bool = False,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{model_dir.name}-{_fingerprint(model_dir)}"
        fp32 = cache_dir / f"{stem}.onnx"
        if not fp32.exists():
            logger.info("exporting the embedding model to ONNX", extra={"path": str(fp32)})
            export_onnx(model_dir, fp32)
        path = fp32
        if int8:
            path = cache_dir / f"{stem}-{INT8_RECIPE}.onnx"
            if not path.exists():
                logger.info("quantizing the embedding model to int8", extra={"path": str(path)})
                quantize_int8(fp32, path)
        super().__init__(
            path,
            model_dir / "tokenizer.json",
            model=model_label(model_dir),
            name=f"onnx{'-int8' if int8 else ''}:{model_label(model_dir)}",
            max_length=_max_length(model_dir),
            batch_size=batch_size,
            threads=threads,
        )
