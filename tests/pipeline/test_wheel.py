"""tinyconv as a user installs it: a wheel (not editable) in a fresh virtualenv, run from a
directory outside the checkout. The firmware sources must come from the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

import tinyconv
from tinyconv.defaults import DEFAULT_STACK_BYTES

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "fashion_mnist_lenet5" / "model_int8.tflite"
TOP_LEVEL = ("pyproject.toml", "setup.py", "README.md")
BUILD_OUTPUTS = ("build", "__pycache__", "*.o", "*.d", "*.pyc", "config.mk", "*.egg-info")


def _source_files() -> list[str]:
    """What a fresh clone holds of the package: tinyconv/, firmware/ and the build files,
    as git sees the working tree (tracked or new, not ignored, not deleted)."""
    try:
        listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard",
                                 "-z", "--", "tinyconv", "firmware", *TOP_LEVEL],
                                capture_output=True, check=True).stdout.decode()
        return sorted(p for p in listed.split("\0") if p and (REPO / p).is_file())
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (a source tarball)
        files = [p.relative_to(REPO) for d in ("tinyconv", "firmware")
                 for p in (REPO / d).rglob("*") if p.is_file()]
        return sorted([str(f) for f in files
                       if not any(fnmatch(part, pattern) for part in f.parts
                                  for pattern in BUILD_OUTPUTS)]
                      + [f for f in TOP_LEVEL if (REPO / f).is_file()])


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (it would put the checkout first) and none of make's variables."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS",
                         "TARGET", "STACK_SIZE", "RAM_SIZE", "FLASH_SIZE")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built offline from a copy of the source files (so no stale build/ of the checkout
    and no build artefact in firmware/ can end up in it)."""
    src = tmp_path_factory.mktemp("src")
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, src / rel)
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                            "--no-build-isolation", "-w", str(dist), str(src)],
                           capture_output=True, text=True, timeout=300, env=_clean_env())
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (whl,) = dist.glob("tinyconv-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv_bin(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed (TensorFlow etc. reused from the system
    site-packages: --no-deps)."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(root)
    bin_dir = root / "bin"
    install = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps",
                              "--no-index", "--force-reinstall", str(wheel)],
                             capture_output=True, text=True, timeout=300, env=_clean_env(),
                             cwd=root)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return bin_dir


def test_checkout_uses_the_top_level_firmware_folder():
    assert Path(tinyconv.FIRMWARE_DIR) == REPO / "firmware"


def test_wheel_ships_the_firmware_tree_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    prefix = "tinyconv/_firmware/"
    shipped = {n[len(prefix):] for n in names if n.startswith(prefix)}
    expected = {f[len("firmware/"):] for f in _source_files() if f.startswith("firmware/")}
    assert {"Makefile", "boards/qemu-m4/board.mk", "app/main.c"} <= expected
    assert shipped == expected  # every source file, no build output
    templates = {f for f in _source_files() if f.startswith("tinyconv/codegen/templates/")}
    assert templates and templates <= names
    modules = {f for f in _source_files() if f.startswith("tinyconv/") and f.endswith(".py")}
    assert modules <= names, sorted(modules - names)
    assert "tinyconv/cli/__main__.py" in names


@pytest.mark.arm
def test_installed_wheel_exports_builds_and_runs_a_model(venv_bin, tmp_path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    env = _clean_env()
    where = subprocess.run([str(venv_bin / "python"), "-c",
                            "import tinyconv; print(tinyconv.__file__); "
                            "print(tinyconv.FIRMWARE_DIR)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True)
    module_file, firmware_dir = where.stdout.split()
    venv_root = venv_bin.parent.resolve()
    assert Path(module_file).resolve().is_relative_to(venv_root), module_file
    assert Path(firmware_dir) == Path(module_file).parent / "_firmware"

    out = tmp_path / "fw"
    export = subprocess.run([str(venv_bin / "tinyconv"), "export", str(MODEL), "--target",
                             "cortex-m4", "-o", "fw"], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=300)
    assert export.returncode == 0, export.stderr
    assert export.stdout.startswith("wrote fw for qemu-m4 (cortex-m4, opt kernels)")
    assert export.stderr == ""
    # The installed package computes the stack bound from its own firmware copy.
    bound = json.loads((out / "model" / "plan.json").read_text())["stack_bound_bytes"]
    assert 0 < bound < DEFAULT_STACK_BYTES // 2
    assert f"STACK_SIZE ?= {bound}\n" in (out / "config.mk").read_text()

    # Three random int8 inputs through the firmware in QEMU, compared with LiteRT.
    interpreter = Interpreter(model_content=MODEL.read_bytes(),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    (inp,), (outp,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inp["dtype"] == np.int8 and outp["dtype"] == np.int8
    samples = np.random.default_rng(9).integers(-128, 128, size=(3, *inp["shape"]),
                                                dtype=np.int8)
    expected = []
    for sample in samples:
        interpreter.set_tensor(inp["index"], sample)
        interpreter.invoke()
        expected.append(interpreter.get_tensor(outp["index"]).tobytes())
    (tmp_path / "in.bin").write_bytes(samples.tobytes())
    run = subprocess.run(["make", "-C", str(out), "run", f"INPUT={tmp_path / 'in.bin'}",
                          f"OUTPUT={tmp_path / 'out.bin'}", "COUNT=3"],
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    arena = json.loads((out / "model" / "plan.json").read_text())["arena_bytes"]
    assert f"TINYCONV arena={arena} " in run.stdout and "status=0" in run.stdout
    assert (tmp_path / "out.bin").read_bytes() == b"".join(expected)
