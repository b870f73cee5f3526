"""Layer kinds and types as values; their names only as the published vocabulary; the memory
terms (activations, peak activation, bytes) defined once and fed ints or arrays alike."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.core.arch import resolve
from costmodel.core.engine import (
    BYTES_FP32,
    activation_bytes,
    layer_table,
    peak_activation_bytes,
    traffic_bytes,
)
from costmodel.core.kinds import (
    AVG_POOL,
    CONV1X1,
    CONV3X3,
    DW3X3,
    FULLY_CONNECTED,
    MOBILENET_TYPES,
    Kind,
    LayerType,
    layer_type,
    parse_shape_text,
    parse_type_name,
    shape_text,
    type_name,
)
from costmodel.core.sweep import resolve_arrays
from costmodel.errors import CostModelError
from costmodel.report.formatting import display_rows, shape_label, type_label


def test_layer_type_is_kind_and_kernel() -> None:
    assert layer_type("dw", 5) == LayerType(Kind.DW, 5) != DW3X3
    # A dense 1x1 conv is the paper's "Conv 1x1", the same type as a pointwise layer.
    assert layer_type(Kind.CONV, 1) == CONV1X1 == layer_type(Kind.PW, 1)
    assert layer_type(Kind.FC, 1) == FULLY_CONNECTED and layer_type(Kind.AVGPOOL, 0) == AVG_POOL
    with pytest.raises(ValueError):
        layer_type("bogus", 3)


def test_names_read_back() -> None:
    names = [type_name(t) for t in MOBILENET_TYPES]
    assert names == ["Conv 3x3", "Conv DW 3x3", "Conv 1x1", "Avg Pool", "FC"]
    for t in (*MOBILENET_TYPES, LayerType(Kind.DW, 5), LayerType(Kind.CONV, 7)):
        assert parse_type_name(type_name(t)) == t
        assert type_label(t) == type_name(t) == str(t)  # str: what a CSV writer stores
    assert parse_type_name("Fully Connected") == FULLY_CONNECTED  # Table 2's spelling
    # non-square kernels (Inception's 1x7), grouped convs and pools with a window read back too
    for t in (LayerType(Kind.CONV, 1, 7), LayerType(Kind.GCONV, 3), LayerType(Kind.MAXPOOL, 3),
              LayerType(Kind.AVGPOOL, 3), LayerType(Kind.ADD, 0), LayerType(Kind.MAXPOOL, 0)):
        assert parse_type_name(type_name(t)) == t
    assert type_name(LayerType(Kind.CONV, 3, 5)) == "Conv 3x5"
    for bad in ("Conv", "Conv 3x", "Conv DW", "Pool", "Conv 0x0", "Conv DW 3x0"):
        with pytest.raises(CostModelError, match="layer type"):
            parse_type_name(bad)
    assert shape_text((112, 112, 32)) == shape_label((112, 112, 32)) == "112x112x32"
    assert parse_shape_text("7x7x1024") == (7, 7, 1024)
    with pytest.raises(CostModelError, match="shape '7x7xa' is not valid"):
        parse_shape_text("7x7xa")


def test_rows_hold_values_and_formatting_makes_text() -> None:
    t = layer_table(1.0, 224)
    r = t.rows[1]  # conv_dw_1: 112x112x32 in and out (Table 1, row 2)
    assert r["type"] == DW3X3 and r["in_shape"] == r["out_shape"] == (112, 112, 32)
    assert [row["type"] for row in t.rows[:3]] == [CONV3X3, DW3X3, CONV1X1]
    shown = display_rows(t.rows)[1]
    assert shown["type"] == "Conv DW 3x3" and shown["out_shape"] == "112x112x32"
    assert shown["mult_adds"] == r["mult_adds"]  # numbers stay numbers
    assert type_label(None) == "" and shape_label(None) == ""


def test_memory_terms_defined_once() -> None:
    layers = resolve(alpha=1.0, resolution=224)
    conv1 = layers[0]
    # conv1: 224x224x3 in, 112x112x32 out; 3*3*3*32 = 864 weights
    assert conv1.in_elements == 224 * 224 * 3 and conv1.out_elements == 112 * 112 * 32
    assert activation_bytes(conv1) == 112 * 112 * 32 * 4
    assert traffic_bytes(conv1, 864, batch=2) == (864 + 2 * (150_528 + 401_408)) * 4
    # Peak: conv_dw_1 holds 112x112x32 in and out = 802,816 elements; conv_pw_1's pair
    # (112x112x32 in, 112x112x64 out) = 1,204,224 is the largest.
    assert peak_activation_bytes(layers) == 1_204_224 * BYTES_FP32
    assert layer_table(1.0, 224).totals["peak_activation_bytes"] == 1_204_224 * BYTES_FP32
    # Arrays: the same function, elementwise.
    from costmodel.core.arch import get_description

    grid = resolve_arrays(np.array([[1.0], [0.5]]), np.array([[224, 112]]), variant="mobilenet_v1",
                          rounding="int", classes=1000, desc=get_description())
    peak = peak_activation_bytes(grid)
    for i, a in enumerate((1.0, 0.5)):
        for j, r in enumerate((224, 112)):
            assert peak[i, j] == layer_table(a, r).totals["peak_activation_bytes"]
    with pytest.raises(ValueError):
        peak_activation_bytes([])
