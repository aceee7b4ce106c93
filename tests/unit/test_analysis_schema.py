"""The reader's copy of the TFLite schema enums, and its figures beside LiteRT's own reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.convert.analysis import analyze
from harness.convert.tflite_schema import BUILTIN_OPERATORS, TENSOR_TYPES

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")

DATA = Path(__file__).parent.parent / "data" / "convert"


def test_builtin_operator_names_match_the_installed_schema() -> None:
    installed = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    # Ours may be older (shorter) than the installed schema, never different.
    for value, name in enumerate(BUILTIN_OPERATORS):
        assert installed[value] == name


def test_tensor_types_match_the_installed_schema() -> None:
    installed = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    for value, name in TENSOR_TYPES.items():
        assert installed[value].lower() == name


@pytest.mark.parametrize("name", ["tiny_fp32.tflite", "tiny_int8.tflite"])
def test_agrees_with_the_litert_interpreter(name: str) -> None:
    path = DATA / name
    interpreter = interpreter_module.Interpreter(model_path=str(path))
    ours = analyze(path)
    (model_input,) = interpreter.get_input_details()
    assert ours.input_shape == model_input["shape"].tolist()
    assert ours.input_dtype == model_input["dtype"].__name__
    ops: dict[str, int] = {}
    for op in interpreter._get_ops_details():  # private, but the only op listing LiteRT has
        ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
    assert ours.ops == ops
