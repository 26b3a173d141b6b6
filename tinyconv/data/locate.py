"""Where datasets live on this machine.

Search order: $TINYCONV_DATA, a `shared/datasets` folder beside the checkout (the project's
offline copies), the Keras cache (~/.keras/datasets) and Debian's dataset packages
(/usr/share/datasets, e.g. `apt-get install dataset-fashion-mnist`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import TinyconvError

_CHECKOUT = Path(__file__).resolve().parents[2]


def search_roots() -> list[Path]:
    roots = []
    if os.environ.get("TINYCONV_DATA"):
        roots.append(Path(os.environ["TINYCONV_DATA"]))
    roots += [_CHECKOUT.parent / "shared" / "datasets", _CHECKOUT / "data",
              Path.home() / ".keras" / "datasets", Path("/usr/share/datasets")]
    return roots


def try_dataset_dir(name: str, must_contain: str) -> Path | None:
    """The first `<root>/<name>` holding `must_contain`, or None."""
    for root in search_roots():
        candidate = root / name
        if (candidate / must_contain).exists():
            return candidate
    return None


def looked_in(name: str) -> str:
    """Where a dataset was searched for, for error messages."""
    return ", ".join(str(r / name) for r in search_roots())


def find_dataset_dir(name: str, must_contain: str) -> Path:
    """The first `<root>/<name>` holding `must_contain`; a clear error listing where we looked."""
    found = try_dataset_dir(name, must_contain)
    if found is not None:
        return found
    looked = ", ".join(str(r / name) for r in search_roots())
    raise TinyconvError(f"dataset {name!r} not found (looked in {looked}); set TINYCONV_DATA "
                        "to a folder that has it" + (
                            " or run `apt-get install dataset-fashion-mnist`"
                            if name == "fashion-mnist" else ""))
