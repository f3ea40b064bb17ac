"""Lesson 06's operator audit reads a LiteRT file's FlatBuffer with the public schema: builtin
operators by LiteRT's names, anything else (TensorFlow ops kept by SELECT_TF_OPS) by its custom
code, so a `Flex…` operator cannot slip into a file meant for the new LiteRT runtime."""

import flatbuffers
import tensorflow as tf

from helpers.lessons.l06_deploy import litert_schema as schema
from helpers.lessons.l06_deploy import non_builtin_ops, op_counts


def _tiny_tflite(tmp_path):
    @tf.function(input_signature=[tf.TensorSpec((2, 3), tf.float32)])
    def f(x):
        return {"y": tf.nn.relu(tf.matmul(x, tf.ones((3, 4)))) + 1.0}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], None)
    path = tmp_path / "tiny.tflite"
    path.write_bytes(converter.convert())
    return path


def _model_with_custom_op(tmp_path, custom_code: str):
    """A FlatBuffer holding one graph with one custom operator, built with the schema's builders."""
    b = flatbuffers.Builder(256)
    name = b.CreateString(custom_code)
    schema.OperatorCodeStart(b)
    schema.OperatorCodeAddCustomCode(b, name)
    schema.OperatorCodeAddBuiltinCode(b, schema.BuiltinOperator.CUSTOM)
    schema.OperatorCodeAddDeprecatedBuiltinCode(b, schema.BuiltinOperator.CUSTOM)
    code = schema.OperatorCodeEnd(b)
    schema.OperatorStart(b)
    schema.OperatorAddOpcodeIndex(b, 0)
    op = schema.OperatorEnd(b)
    schema.SubGraphStartOperatorsVector(b, 1)
    b.PrependUOffsetTRelative(op)
    ops = b.EndVector()
    schema.SubGraphStart(b)
    schema.SubGraphAddOperators(b, ops)
    graph = schema.SubGraphEnd(b)
    schema.ModelStartOperatorCodesVector(b, 1)
    b.PrependUOffsetTRelative(code)
    codes = b.EndVector()
    schema.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(graph)
    graphs = b.EndVector()
    schema.ModelStart(b)
    schema.ModelAddVersion(b, 3)
    schema.ModelAddOperatorCodes(b, codes)
    schema.ModelAddSubgraphs(b, graphs)
    b.Finish(schema.ModelEnd(b), file_identifier=b"TFL3")
    path = tmp_path / "custom.tflite"
    path.write_bytes(bytes(b.Output()))
    return path


def test_builtin_operators_are_named_and_counted(tmp_path):
    path = _tiny_tflite(tmp_path)
    counts = op_counts(path)
    assert counts.get("FULLY_CONNECTED", 0) + counts.get("BATCH_MATMUL", 0) == 1, counts
    assert non_builtin_ops(path) == []


def test_a_flex_operator_is_caught(tmp_path):
    path = _model_with_custom_op(tmp_path, "FlexErfinv")
    assert op_counts(path) == {"FlexErfinv": 1}
    assert non_builtin_ops(path) == ["FlexErfinv"]
