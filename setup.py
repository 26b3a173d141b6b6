"""Package layout (the metadata is in pyproject.toml).

The firmware sources stay in the top-level firmware/ folder of the checkout, and ship inside
the wheel as the package data of `tinyconv._firmware` (package_dir maps that package to
firmware/), so an installed tinyconv exports, builds and runs projects without a checkout.
tinyconv/__init__.py's FIRMWARE_DIR finds whichever of the two is there.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["tinyconv", "tinyconv.*"],
                                     exclude=["*.__pycache__"]) + ["tinyconv._firmware"],
    package_dir={"tinyconv._firmware": "firmware"},
    package_data={
        "tinyconv": ["codegen/templates/*.j2"],
        "tinyconv._firmware": ["*", "**/*"],
    },
    # Build outputs a checkout's firmware/ may hold (make writes build/ beside the Makefile).
    exclude_package_data={
        "tinyconv._firmware": ["build/*", "*.o", "*.d", "*.elf", "*.so", "*.pyc", "config.mk"],
    },
)
