"""The stack bound from the compiler's call graph (tinyconv/stack.py): it holds what the
firmware measures, it is far below the old fixed 8 KiB, the search's estimate holds the
compiled number, and it is cached."""

from __future__ import annotations

import pytest
from zoo_models import ALL_FAMILIES, converted_family

from tinyconv import deploy, firmware, stack
from tinyconv.defaults import DEFAULT_STACK_BYTES, EXCEPTION_FRAME_BYTES
from tinyconv.errors import TinyconvError
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.targets import get_board

# -- the graph walk and the parsers (no toolchain) ----------------------------------------------
_CI = '''graph: { title: "a.c"
node: { title: "top" label: "top\\na.c:1:5\\n16 bytes (static)" }
node: { title: "a.c:mid" label: "mid\\na.c:2:5\\n40 bytes (static)" }
edge: { sourcename: "top" targetname: "a.c:mid" label: "a.c:3:5" }
node: { title: "leaf" label: "leaf\\nb.h:1:5" shape : ellipse }
edge: { sourcename: "a.c:mid" targetname: "leaf" label: "a.c:4:5" }
edge: { sourcename: "top" targetname: "leaf" label: "a.c:5:5" }
}
'''


def _table(extra: dict[str, stack.Function] | None = None) -> stack.StackTable:
    functions = stack.parse_ci(_CI)
    functions["leaf"] = stack.Function("leaf", 8, ())
    functions.update(extra or {})
    return stack.StackTable("test", "opt", functions)


def test_heaviest_path_sums_frames_of_the_deepest_chain():
    assert stack.parse_ci(_CI)["top"].callees == ("a.c:mid", "leaf")
    assert _table().worst_path("top") == (16 + 40 + 8, ("top", "a.c:mid", "leaf"))


@pytest.mark.parametrize("extra,message", [
    ({"leaf": stack.Function("leaf", 8, ("top",))}, r"recursion top -> mid -> leaf -> top"),
    ({"leaf": stack.Function("leaf", 8, (stack.INDIRECT_CALL,))}, "function pointer"),
    ({"leaf": stack.Function("leaf", 8, ("nowhere",))}, "no stack frame known for nowhere"),
])
def test_a_path_with_no_static_bound_fails_loudly(extra, message):
    with pytest.raises(TinyconvError, match=message):
        _table(extra).depth("top")


def test_a_dynamic_frame_fails_loudly():
    with pytest.raises(TinyconvError, match="dynamic stack frame"):
        stack.parse_ci(_CI.replace("40 bytes (static)", "40 bytes (dynamic)"))
    assert stack.parse_ci(_CI.replace("40 bytes (static)", "40 bytes (dynamic,bounded)"))


def test_disassembly_frames_sum_every_decrement_and_keep_outside_calls():
    text = "\n".join([
        "bench.S.o:     file format elf32-littlearm", "",
        "00000000 <f>:",
        "   0:\tb510      \tpush\t{r4, lr}",
        "   2:\ted2d 8b04 \tvpush\t{d8-d9}",
        "   6:\tb082      \tsub\tsp, #8",
        "   8:\tf84d ed08 \tstr.w\tlr, [sp, #-8]!",
        "   c:\tf7ff fffe \tbl\t0 <g>",
        "\t\t\tc: R_ARM_THM_CALL\ttc_model_invoke",
        "  10:\tf7ff fffe \tbl\t0 <f>",
    ])
    unit = stack._asm_units(text)["bench.S.o"]
    assert unit.frame == 8 + 16 + 8 + 8
    assert unit.calls == ("tc_model_invoke",) and unit.defines == ("f",)
    assert not unit.dynamic and not unit.indirect


# -- the real firmware ------------------------------------------------------------------------------
BOARDS = ("qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55")
# A sample of families per board on the CI path (each one build and one QEMU run); the
# estimate check below covers every family.
FAMILIES = ("resnet8", "mobilenetv2", "dscnn", "squeezenet")


@pytest.mark.arm
def test_table_has_the_firmware_functions_and_their_frames():
    table = stack.firmware_table(get_board("qemu-m7"))
    fns = table.functions
    # The app reaches the model through the assembly harness (bench.S: push {r4, lr}).
    assert fns["tc_bench_invoke"].origin == "asm" and fns["tc_bench_invoke"].frame == 8
    assert "tc_model_invoke" in fns["tc_bench_invoke"].callees
    # tc_convolve_s8's small-column path puts up to 512 B of im2col columns on the stack.
    assert table.depth("tc_convolve_s8") > 512
    conv_path = table.worst_path("tc_convolve_s8")[1]
    assert any("im2col_on_stack" in name for name in conv_path), conv_path
    assert table.depth(stack.FAULT_HANDLER) >= 192  # its message buffer
    # A kernel with a bigger worst path raises a model's bound by exactly the difference.
    small = stack.bound_from_table(table.with_model(16, ("tc_max_pool_s8",)), exact=True)
    big = stack.bound_from_table(table.with_model(16, ("tc_max_pool_s8", "tc_convolve_s8")),
                                 exact=True)
    assert big.kernel == "tc_convolve_s8" and small.kernel == "tc_max_pool_s8"
    assert big.kernel_bytes == table.depth("tc_convolve_s8")
    assert small.kernel_bytes == table.depth("tc_max_pool_s8")
    # The convolution's path is the program's deepest: app + invoke + kernel.
    assert big.program == big.above_invoke + 16 + big.kernel_bytes
    assert big.reserved > small.reserved
    assert small.fault == EXCEPTION_FRAME_BYTES + table.depth(stack.FAULT_HANDLER)


@pytest.mark.arm
def test_soft_float_helpers_of_libgcc_are_on_the_cortex_m3_paths():
    table = stack.firmware_table(get_board("qemu-m3"))
    helpers = {n for n, f in table.functions.items() if f.origin == "libgcc"}
    assert any(n.startswith("__aeabi_f") for n in helpers), helpers
    softmax = table.worst_path("tc_softmax_s8")
    assert softmax[0] >= table.functions["tc_softmax_s8"].frame


@pytest.mark.arm
def test_table_is_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path))
    board = get_board("qemu-m4")
    stack.firmware_table.cache_clear()
    try:
        table = stack.firmware_table(board)
        files = list((tmp_path / "stack").glob("qemu-m4-opt-*.json"))
        assert len(files) == 1
        stack.firmware_table.cache_clear()

        def no_compile(*args):
            raise AssertionError("the table was compiled again")
        monkeypatch.setattr(stack, "_compute_table", no_compile)
        assert stack.firmware_table(board).functions == table.functions
    finally:
        stack.firmware_table.cache_clear()


def _measure(board_name: str, family: str, tmp_path) -> tuple[stack.StackBound,
                                                                 stack.StackBound, int]:
    board = get_board(board_name)
    graph = import_tflite(converted_family(family), source=family)
    d = deploy.prepare(graph, board)
    estimate = d.stack_bound
    model_dir, build_dir = tmp_path / "model", tmp_path / "build"
    deploy.write_model_dir(d, model_dir)
    built = firmware.build(model_dir, board, build_dir, stack_bytes=d.stack_bytes,
                           extra_cflags=stack.CALLGRAPH_FLAG)
    exact = stack.build_bound(board, "opt", build_dir)
    inputs = bytes(sum(t.nbytes for t in graph.inputs))
    measured = firmware.run(built, inputs, 1, timeout=120).stack_bytes
    return estimate, exact, measured


@pytest.mark.arm
@pytest.mark.parametrize("board_name", BOARDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_bound_holds_the_measured_stack_far_below_the_fixed_reserve(board_name, family,
                                                                      tmp_path):
    estimate, exact, measured = _measure(board_name, family, tmp_path)
    assert estimate is not None and not estimate.exact and exact.exact
    assert 0 < measured <= exact.program <= exact.reserved, (measured, exact.describe())
    assert exact.reserved <= estimate.reserved  # the search's estimate holds the compiled one
    assert exact.reserved <= DEFAULT_STACK_BYTES // 2, exact.describe()


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ("qemu-m3", "qemu-m7", "qemu-m55"))
def test_invoke_frame_estimate_holds_for_every_family(board_name, tmp_path):
    board = get_board(board_name)
    for family in ALL_FAMILIES:
        graph = import_tflite(converted_family(family), source=family)
        d = deploy.prepare(graph, board)
        deploy.write_model_dir(d, tmp_path / family)
        exact = stack.compile_bound(board, "opt", tmp_path / family)
        assert exact.invoke_frame <= stack.invoke_frame_estimate(d.source), family
        assert exact.reserved <= d.stack_bound.reserved, family


@pytest.mark.arm
def test_export_reserves_the_compiled_bound(tmp_path):
    board = get_board("qemu-m4")
    graph = import_tflite(converted_family("dscnn"), source="dscnn")
    d = deploy.prepare(graph, board)
    deploy.write_project(d, tmp_path / "fw")
    assert d.stack_bound.exact
    assert f"STACK_SIZE ?= {d.stack_bound.reserved}\n" in (tmp_path / "fw" / "config.mk").read_text()
    given = deploy.prepare(graph, board, stack_bytes=3072)
    assert given.stack_bound is None and given.stack_bytes == 3072


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ("qemu-m3", "qemu-m7", "qemu-m55"))
def test_invoke_frame_estimate_holds_for_streamed_plans(board_name, tmp_path):
    """A streamed run's loop (its locals, its calls) in tc_model_invoke: the estimate still
    holds the compiled frame, and the compiled bound the measured stack."""
    board = get_board(board_name)
    for family in ("mobilenetv2", "resnet8", "mcunet"):
        graph = import_tflite(converted_family(family), source=family)
        d = deploy.prepare(graph, board, memory="min")
        assert d.plan.stream is not None, family
        model_dir, build_dir = tmp_path / family / "model", tmp_path / family / "build"
        deploy.write_model_dir(d, model_dir)
        built = firmware.build(model_dir, board, build_dir, stack_bytes=d.stack_bytes,
                               extra_cflags=stack.CALLGRAPH_FLAG)
        exact = stack.build_bound(board, "opt", build_dir)
        assert exact.invoke_frame <= stack.invoke_frame_estimate(d.source), family
        assert exact.reserved <= d.stack_bound.reserved, family
        measured = firmware.run(built, bytes(sum(t.nbytes for t in graph.inputs)), 1,
                                timeout=120).stack_bytes
        assert 0 < measured <= exact.program, (family, measured, exact.describe())
