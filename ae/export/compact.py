"""Smaller ONNX files for the browser: float weights stored as float16, or as int8 with one scale per output channel.

The graph still computes in float32: each stored weight is followed by a ``Cast`` (float16) or ``DequantizeLinear``
(int8) node that rebuilds it, which onnxruntime and the live Draw's interpreter run once, when the file is loaded.
Only the bytes on the wire change; what that costs in accuracy is measured against torch (``onnx_files.parity``) and
bounded per precision (``BOUNDS``).
"""

from __future__ import annotations

import numpy as np

PRECISIONS = ("fp32", "fp16", "int8")
MIN_ELEMENTS = 256  # smaller tensors (biases, a conv's few kernels) stay float32: they cost bytes, not accuracy
# Max |reconstruction - torch's| (pixels in [0, 1]) a precision may cost on test digits, with the MSE within 1% of
# torch's; the classifier's logits are held to the same bound and no reading may change (onnx_files.Fidelity).
BOUNDS = {"fp32": 1e-4, "fp16": 1e-2, "int8": 0.1}
# An autoencoder's two graphs may differ: the encoder's and the decoder's precisions, smallest files first.
PAIRS = (("int8", "int8"), ("int8", "fp16"), ("fp16", "int8"), ("fp16", "fp16"), ("fp32", "fp32"))


def label(precisions: tuple[str, ...]) -> str:
    """ "int8" for one precision throughout, "int8+fp16" for an int8 encoder and a float16 decoder."""
    return precisions[0] if len(set(precisions)) == 1 else "+".join(precisions)


def bound(precision: str) -> float:
    """The bound of a label: the looser of its parts."""
    return max(BOUNDS[p] for p in precision.split("+"))


def _int8(name: str, w: np.ndarray) -> tuple[list, object]:
    """Symmetric int8 per output channel (axis 0): w ≈ q * scale, |q| ≤ 127."""
    from onnx import helper, numpy_helper

    rows = w.reshape(w.shape[0], -1)
    scale = np.abs(rows).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(rows / scale[:, None]), -127, 127).astype(np.int8).reshape(w.shape)
    stored = [numpy_helper.from_array(q, f"{name}__q"), numpy_helper.from_array(scale.astype(np.float32), f"{name}__s")]
    node = helper.make_node("DequantizeLinear", [f"{name}__q", f"{name}__s"], [name], axis=0)
    return stored, node


def _fp16(name: str, w: np.ndarray) -> tuple[list, object]:
    from onnx import TensorProto, helper, numpy_helper

    stored = [numpy_helper.from_array(w.astype(np.float16), f"{name}__h")]
    return stored, helper.make_node("Cast", [f"{name}__h"], [name], to=TensorProto.FLOAT)


def compact(model: bytes, precision: str) -> bytes:
    """``model`` (serialized ONNX) with its large float32 weights stored at ``precision``."""
    # onnx costs 0.6 s to import: only the exporter needs it, never a page visit (that imports this module).
    from onnx import TensorProto, load_from_string, numpy_helper

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    proto = load_from_string(model)
    if precision == "fp32":
        return model
    kept, stored, nodes = [], [], []
    for init in proto.graph.initializer:
        w = numpy_helper.to_array(init)
        big = init.data_type == TensorProto.FLOAT and w.size >= MIN_ELEMENTS
        if not big or (precision == "int8" and w.ndim < 2):
            kept.append(init)
            continue
        more, node = (_int8 if precision == "int8" else _fp16)(init.name, w)
        stored += more
        nodes.append(node)
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept + stored)
    rest = list(proto.graph.node)
    del proto.graph.node[:]
    proto.graph.node.extend(nodes + rest)
    return proto.SerializeToString()
