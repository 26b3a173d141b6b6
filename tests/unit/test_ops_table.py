"""`tinyconv ops`: the table of supported ops is read from the code and agrees with it."""

from __future__ import annotations

import json
import re

from cli_process import run_cli
from tinyconv import FIRMWARE_DIR, ops_table
from tinyconv.codegen.lowering import base
from tinyconv.ir.ops import SUPPORTED_OPS
from tinyconv.ir.tflite_import import _BUILDERS

_HEADERS = "".join(p.read_text() for p in (FIRMWARE_DIR / "kernels" / "include").glob("*.h"))


def test_every_op_kind_is_importable_lowered_and_listed():
    rows = {r.kind: r for r in ops_table.op_support()}
    assert set(rows) == set(SUPPORTED_OPS)
    assert set(_BUILDERS) - {"PADV2", "EXPAND_DIMS"} <= set(rows)
    for row in rows.values():
        assert "int8" in row.dtypes, row.kind
        assert set(row.dtypes) <= {"int8", "int16"}, row.kind


def test_every_declared_kernel_is_a_c_function_with_a_prototype():
    for cls, kernels in base.lowered_ops().items():
        for function in kernels:
            assert ops_table.kernel_isas(function), f"{cls.kind}: no file for {function}"
            assert re.search(rf"\b{function}\s*\(", _HEADERS), f"no prototype of {function}"


def test_simd_paths_are_found_where_they_are():
    rows = {r.kind: r for r in ops_table.op_support()}
    for kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        assert rows[kind].has_isa("dsp") and rows[kind].has_isa("mve"), kind
        assert "tc_convolve_s16" in rows["CONV_2D"].isa_kernels["dsp"]
    assert not rows["SVDF"].has_isa("dsp")  # portable C only, and the table says so
    # its family's header has SIMD helpers, but for other kernels (transpose conv)
    assert not rows["RESIZE_BILINEAR"].has_isa("dsp")
    assert ops_table.kernel_isas("tc_no_such_kernel") == ()


def test_ops_command_prints_the_table_and_json(tmp_path):
    result = run_cli("ops", "--json", tmp_path / "ops.json")
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("CONV_2D "))
    assert line.split()[1:6] == ["yes", "yes", "yes", "yes", "yes"]
    data = json.loads((tmp_path / "ops.json").read_text())
    assert {d["kind"] for d in data} == set(SUPPORTED_OPS)
