"""What identifies a machine's floating-point rounding, so a retrain is held to bit-identity only where it can hold.

Two machines that report the same torch kernel set (``cpu_capability``) can still round differently: an AMD EPYC and
an Intel Xeon both say AVX512 and give other weights from the same seeded run. So a checkpoint records the CPU's
vendor, model name and the instruction sets oneDNN dispatches on, with torch's, oneDNN's and MKL's versions and the
training's thread count; a retrain is compared bit for bit only when every one of them matches.
"""

from __future__ import annotations

import platform
import re
from functools import cache
from pathlib import Path

import torch

# The instruction-set flags that change which kernels MKL and oneDNN pick (and so how sums are ordered).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")
FIELDS = ("arch", "cpu_vendor", "cpu_model", "isa", "cpu_capability", "torch", "onednn", "mkl", "threads")


@cache
def cpu_info(path: str = "/proc/cpuinfo") -> dict[str, str]:
    """The first processor's fields from /proc/cpuinfo (empty where there is none, e.g. on macOS)."""
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


@cache
def library_builds() -> dict[str, str]:
    """oneDNN's and MKL's versions as this torch build reports them ("" where it has none)."""
    config = torch.__config__.show()
    onednn = re.search(r"MKL-DNN v([\w.]+)", config)
    mkl = re.search(r"Math Kernel Library Version ([\w.-]+)", config)
    return {"onednn": onednn.group(1) if onednn else "", "mkl": mkl.group(1) if mkl else ""}


def fingerprint(threads: int) -> dict:
    """This machine's rounding identity for a run on ``threads`` threads."""
    info = cpu_info()
    flags = set(info.get("flags", "").split())
    return {
        "arch": platform.machine(),
        "cpu_vendor": info.get("vendor_id", platform.processor()),
        "cpu_model": info.get("model name", ""),
        "isa": " ".join(f for f in ISA_FLAGS if f in flags),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        **library_builds(),
        "threads": int(threads),
    }


def differences(recorded: dict | None, here: dict) -> list[str]:
    """The fields on which ``here`` differs from ``recorded``, each as a short sentence; empty when they all match.
    A checkpoint that recorded no fingerprint (made before they were kept) differs on every field."""
    if not recorded:
        return ["the checkpoint records no machine fingerprint"]
    return [
        f"{field}: {recorded.get(field, 'not recorded')!r} when trained, {here.get(field)!r} here"
        for field in FIELDS
        if recorded.get(field) != here.get(field)
    ]
