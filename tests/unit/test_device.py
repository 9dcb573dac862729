from __future__ import annotations

from types import SimpleNamespace

import pytest

from comptoir.embedding.device import detect_device
from comptoir.errors import ConfigurationError


def fake_torch(*, cuda: bool, mps: bool) -> SimpleNamespace:
    return SimpleNamespace(
        cuda=SimpleNamespace(is_available=lambda: cuda),
        backends=SimpleNamespace(mps=SimpleNamespace(is_available=lambda: mps)),
    )


def test_auto_prefers_cuda_in_fp16_then_mps_then_cpu() -> None:
    assert detect_device("auto", torch_module=fake_torch(cuda=True, mps=True)) == detect_device(
        "cuda", torch_module=fake_torch(cuda=True, mps=False)
    )
    cuda = detect_device("auto", torch_module=fake_torch(cuda=True, mps=False))
    assert (cuda.name, cuda.half, cuda.batch_size) == ("cuda", True, 256)
    assert detect_device("auto", torch_module=fake_torch(cuda=False, mps=True)).name == "mps"
    cpu = detect_device("auto", torch_module=fake_torch(cuda=False, mps=False))
    assert (cpu.name, cpu.half) == ("cpu", False)


def test_a_forced_device_must_exist() -> None:
    assert detect_device("cpu", torch_module=fake_torch(cuda=True, mps=True)).name == "cpu"
    with pytest.raises(ConfigurationError, match="no CUDA"):
        detect_device("cuda", torch_module=fake_torch(cuda=False, mps=False))
