"""What a `.tflite` file contains, read from the flatbuffer itself.

A minimal reader of the TFLite schema (the tables Model, OperatorCode,
SubGraph, Tensor, Operator, Buffer), written against the flatbuffer wire format
so that `harness inspect`, `harness variants` and a cached `harness convert`
never import TensorFlow. Every read is bounds-checked: a truncated or corrupt
file becomes a `ModelError` naming the file, never an IndexError.

Counting rules (they reproduce the published MobileNet tables): MACs are summed
over CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED for the batch the file
declares (1 for every model the harness builds); weight parameters are the
elements of those ops' filter tensors, bias parameters those of their bias
tensors, counted per op: the converter shares identical constants (the
all-zero biases of an untrained model, say) between ops, and a structural count
must not depend on that.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.convert.tflite_schema import BUILTIN_OPERATORS, CUSTOM, TENSOR_TYPES
from harness.errors import Corrupt, ModelError
from harness.inputs import MODEL_BYTES, read_bytes

FILE_IDENTIFIER = b"TFL3"
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")

# Field ids (declaration order in schema.fbs) of the tables the reader uses.
_MODEL_OPERATOR_CODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS = 1, 2, 4
_OPCODE_DEPRECATED_BUILTIN, _OPCODE_CUSTOM, _OPCODE_BUILTIN = 0, 1, 3
_SUBGRAPH_TENSORS, _SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 1, 2, 3
_TENSOR_SHAPE, _TENSOR_TYPE, _TENSOR_BUFFER = 0, 1, 2
_OPERATOR_OPCODE_INDEX, _OPERATOR_INPUTS, _OPERATOR_OUTPUTS = 0, 1, 2
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2


@dataclass(frozen=True)
class MacLayer:
    """One CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op, in graph order."""

    kind: str
    macs: int
    weights: int
    in_channels: int
    out_channels: int


@dataclass(frozen=True)
class ModelAnalysis:
    """Cost and shape of one model, as `harness inspect` reports it."""

    macs: int
    weight_params: int
    bias_params: int
    ops: dict[str, int]
    input_shape: list[int]
    input_dtype: str
    output_shape: list[int]
    output_dtype: str
    size_bytes: int
    layers: list[MacLayer] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `harness inspect --json` contract)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelAnalysis:
        """Rebuild from `to_dict()` output (stored beside cached models)."""
        return cls(
            macs=int(data["macs"]),
            weight_params=int(data["weight_params"]),
            bias_params=int(data["bias_params"]),
            ops={str(k): int(v) for k, v in data["ops"].items()},
            input_shape=[int(d) for d in data["input_shape"]],
            input_dtype=str(data["input_dtype"]),
            output_shape=[int(d) for d in data["output_shape"]],
            output_dtype=str(data["output_dtype"]),
            size_bytes=int(data["size_bytes"]),
            layers=[MacLayer(**layer) for layer in data.get("layers", [])],
        )


# Elements a reader may decode: the file's size plus a margin for tiny models. A real
# model decodes a few per op and tensor; a flatbuffer whose tables all point at one long
# vector (20,000 ops sharing 20,000 inputs, in 160 KB) would otherwise cost size squared.
_WORK_MARGIN = 1_000_000
# The most elements one tensor may hold (2**48): far past any phone model, and it keeps
# every count the analysis sums (MACs, parameters) to a few dozen digits.
MAX_TENSOR_ELEMENTS = 1 << 48


class _Reader:
    """Bounds-checked access to flatbuffer tables in one byte string, with a work budget."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.size = len(buf)
        self.budget = self.size + _WORK_MARGIN

    def _spend(self, elements: int) -> None:
        self.budget -= elements
        if self.budget < 0:
            raise Corrupt(
                "its tables refer to the same data over and over "
                f"(more than {self.size + _WORK_MARGIN} elements to read in {self.size} bytes)"
            )

    def _unpack(self, fmt: str, pos: int) -> int:
        width = struct.calcsize(fmt)
        if pos < 0 or pos + width > self.size:
            raise Corrupt(f"read of {width} bytes at offset {pos} is past the end")
        value: int = struct.unpack_from(fmt, self.buf, pos)[0]
        return value

    def root(self) -> int:
        return self._deref(0)

    def _deref(self, pos: int) -> int:
        """Follow a uoffset stored at `pos` (offsets are relative to where they sit)."""
        return pos + self._unpack("<I", pos)

    def _field(self, table: int, field_id: int) -> int | None:
        """Absolute position of a field's value, or None when it is absent."""
        vtable = table - self._unpack("<i", table)
        vtable_size = self._unpack("<H", vtable)
        entry = 4 + 2 * field_id
        if entry >= vtable_size:
            return None
        offset = self._unpack("<H", vtable + entry)
        return table + offset if offset else None

    def scalar(self, table: int, field_id: int, fmt: str, default: int = 0) -> int:
        pos = self._field(table, field_id)
        return default if pos is None else self._unpack(fmt, pos)

    def table(self, table: int, field_id: int) -> int | None:
        pos = self._field(table, field_id)
        return None if pos is None else self._deref(pos)

    def vector(self, table: int, field_id: int, width: int) -> tuple[int, int]:
        """(start of elements, length) of a vector field; (0, 0) when absent."""
        pos = self._field(table, field_id)
        if pos is None:
            return 0, 0
        vec = self._deref(pos)
        length = self._unpack("<I", vec)
        if vec + 4 + length * width > self.size:
            raise Corrupt(f"vector of {length} elements at offset {vec} runs past the end")
        return vec + 4, length

    def ints(self, table: int, field_id: int, first: int | None = None) -> list[int]:
        """The int32 vector of a field (only its `first` elements when given)."""
        start, length = self.vector(table, field_id, 4)
        count = length if first is None else min(first, length)
        self._spend(count + 1)
        return list(struct.unpack_from(f"<{count}i", self.buf, start)) if count else []

    def tables(self, table: int, field_id: int) -> list[int]:
        start, length = self.vector(table, field_id, 4)
        self._spend(length + 1)
        return [self._deref(start + 4 * i) for i in range(length)]

    def string(self, table: int, field_id: int) -> str | None:
        start, length = self.vector(table, field_id, 1)
        if not start:
            return None
        self._spend(length // 4 + 1)
        return self.buf[start : start + length].decode("utf-8", errors="replace")


def _op_names(reader: _Reader, model: int) -> list[str]:
    names = []
    for code in reader.tables(model, _MODEL_OPERATOR_CODES):
        # Newer files keep small codes in the deprecated int8 field and large
        # ones in the int32 field; the larger of the two is the real code.
        builtin = max(
            reader.scalar(code, _OPCODE_DEPRECATED_BUILTIN, "<b"),
            reader.scalar(code, _OPCODE_BUILTIN, "<i"),
        )
        if builtin == CUSTOM:
            names.append(f"CUSTOM:{reader.string(code, _OPCODE_CUSTOM) or '?'}")
        elif 0 <= builtin < len(BUILTIN_OPERATORS):
            names.append(BUILTIN_OPERATORS[builtin])
        else:
            names.append(f"BUILTIN_{builtin}")
    return names


def _check_buffers(reader: _Reader, model: int) -> int:
    """Verify every weight buffer lies inside the file (catches truncation)."""
    buffers = reader.tables(model, _MODEL_BUFFERS)
    for buffer in buffers:
        reader.vector(buffer, _BUFFER_DATA, 1)
        offset = reader.scalar(buffer, _BUFFER_OFFSET, "<Q")
        size = reader.scalar(buffer, _BUFFER_SIZE, "<Q")
        # Files over 2 GB keep weights after the flatbuffer, by offset and size.
        if offset > 1 and offset + size > reader.size:
            raise Corrupt(f"buffer of {size} bytes at offset {offset} runs past the end")
    return len(buffers)


def _tensor(reader: _Reader, tensors: list[int], index: int) -> tuple[list[int], str]:
    if not 0 <= index < len(tensors):
        raise Corrupt(f"tensor index {index} out of range")
    tensor = tensors[index]
    type_code = reader.scalar(tensor, _TENSOR_TYPE, "<b")
    shape = reader.ints(tensor, _TENSOR_SHAPE)
    _elements(shape)
    return shape, TENSOR_TYPES.get(type_code, f"type{type_code}")


def _elements(shape: list[int]) -> int:
    """How many elements a tensor of `shape` holds; `Corrupt` past MAX_TENSOR_ELEMENTS."""
    total = 1
    for dim in shape:
        total *= abs(dim)
        if total > MAX_TENSOR_ELEMENTS:
            raise Corrupt(f"a tensor of rank {len(shape)} with over 2**48 elements")
    return total


def _op_macs(kind: str, out_shape: list[int], filter_shape: list[int]) -> int:
    if kind == "CONV_2D":  # filter [out_c, kh, kw, in_c]; output [n, h, w, out_c]
        return math.prod(out_shape) * math.prod(filter_shape[1:])
    if kind == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out_c]
        return math.prod(out_shape) * filter_shape[1] * filter_shape[2]
    return math.prod(out_shape) * filter_shape[-1]  # FULLY_CONNECTED: filter [out, in]


def analyze_bytes(data: bytes, *, path: str = "<bytes>") -> ModelAnalysis:
    """Analyse a TFLite model held in memory; `path` only names it in errors."""
    if len(data) < 8:
        raise ModelError(f"too short to be a TFLite model ({len(data)} bytes)", path=path)
    if data[4:8] != FILE_IDENTIFIER:
        raise ModelError(
            f"not a TFLite flatbuffer (identifier {data[4:8]!r}, expected {FILE_IDENTIFIER!r})",
            path=path,
        )
    reader = _Reader(data)
    try:
        return _analyze(reader)
    except Corrupt as exc:
        raise ModelError(f"corrupt or truncated TFLite file: {exc}", path=path) from None
    except (struct.error, ValueError, IndexError) as exc:
        raise ModelError(f"corrupt or truncated TFLite file: {exc}", path=path) from None


def _analyze(reader: _Reader) -> ModelAnalysis:
    model = reader.root()
    names = _op_names(reader, model)
    _check_buffers(reader, model)
    subgraphs = reader.tables(model, _MODEL_SUBGRAPHS)
    if not subgraphs:
        raise Corrupt("the model has no subgraph")
    ops: dict[str, int] = {}
    layers: list[MacLayer] = []
    macs = 0
    weight_params = 0
    bias_params = 0
    main = subgraphs[0]  # the entry subgraph; others hold control-flow bodies
    tensors = reader.tables(main, _SUBGRAPH_TENSORS)
    for sub in subgraphs:
        sub_tensors = tensors if sub == main else reader.tables(sub, _SUBGRAPH_TENSORS)
        for op in reader.tables(sub, _SUBGRAPH_OPERATORS):
            index = reader.scalar(op, _OPERATOR_OPCODE_INDEX, "<I")
            if index >= len(names):
                raise Corrupt(f"operator code index {index} out of range")
            kind = names[index]
            ops[kind] = ops.get(kind, 0) + 1
            if kind not in MAC_OPS or sub != main:
                continue
            inputs = reader.ints(op, _OPERATOR_INPUTS, first=3)  # input, filter, bias
            outputs = reader.ints(op, _OPERATOR_OUTPUTS, first=1)
            if len(inputs) < 2 or not outputs:
                raise Corrupt(f"{kind} without filter or output")
            filter_shape, _ = _tensor(reader, sub_tensors, inputs[1])
            out_shape, _ = _tensor(reader, sub_tensors, outputs[0])
            min_rank = 2 if kind == "FULLY_CONNECTED" else 4
            if len(filter_shape) < min_rank:
                raise Corrupt(f"{kind} filter of shape {filter_shape}")
            layer_macs = _op_macs(kind, out_shape, filter_shape)
            weights = math.prod(filter_shape)
            out_channels = filter_shape[-1] if kind == "DEPTHWISE_CONV_2D" else filter_shape[0]
            in_channels = out_channels if kind == "DEPTHWISE_CONV_2D" else filter_shape[-1]
            layers.append(MacLayer(kind, layer_macs, weights, in_channels, out_channels))
            macs += layer_macs
            weight_params += weights
            if len(inputs) > 2 and inputs[2] >= 0:  # -1 marks an omitted bias
                bias_shape, _ = _tensor(reader, sub_tensors, inputs[2])
                bias_params += math.prod(bias_shape)
    graph_inputs = reader.ints(main, _SUBGRAPH_INPUTS, first=1)
    graph_outputs = reader.ints(main, _SUBGRAPH_OUTPUTS, first=1)
    if not graph_inputs or not graph_outputs:
        raise Corrupt("the main subgraph has no input or output")
    in_shape, in_dtype = _tensor(reader, tensors, graph_inputs[0])
    out_shape, out_dtype = _tensor(reader, tensors, graph_outputs[0])
    return ModelAnalysis(
        macs=macs,
        weight_params=weight_params,
        bias_params=bias_params,
        ops=dict(sorted(ops.items())),
        input_shape=in_shape,
        input_dtype=in_dtype,
        output_shape=out_shape,
        output_dtype=out_dtype,
        size_bytes=reader.size,
        layers=layers,
    )


def analyze(path: str | Path) -> ModelAnalysis:
    """Analyse a `.tflite` file; `ModelError` (naming it) if unreadable or corrupt."""
    path = Path(path)
    try:
        data = read_bytes(path, limit=MODEL_BYTES, what="a model")
    except FileNotFoundError:
        raise ModelError("no such file", path=str(path)) from None
    except OSError as exc:
        raise ModelError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    return analyze_bytes(data, path=str(path))
