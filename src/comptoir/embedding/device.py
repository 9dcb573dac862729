"""Where the PyTorch backend runs: CUDA (fp16), Apple MPS, or the CPU; COMPTOIR_EMBEDDING_DEVICE forces
one. Batch sizes follow the device: a GPU wants large batches, two CPU cores small ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from comptoir.errors import ConfigurationError

BATCH_SIZE = {"cuda": 256, "mps": 128, "cpu": 32}


@dataclass(frozen=True)
class Device:
    name: str
    half: bool
    batch_size: int


def detect_device(requested: str = "auto", *, torch_module: Any = None) -> Device:
    if torch_module is None:
        import torch as torch_module
    cuda = bool(torch_module.cuda.is_available())
    mps_backend = getattr(torch_module.backends, "mps", None)
    mps = bool(mps_backend and mps_backend.is_available())
    if requested == "auto":
        requested = "cuda" if cuda else "mps" if mps else "cpu"
    elif requested == "cuda" and not cuda:
        raise ConfigurationError("COMPTOIR_EMBEDDING_DEVICE=cuda, but PyTorch sees no CUDA device")
    elif requested == "mps" and not mps:
        raise ConfigurationError("COMPTOIR_EMBEDDING_DEVICE=mps, but PyTorch sees no MPS device")
    return Device(requested, half=requested == "cuda", batch_size=BATCH_SIZE[requested])
