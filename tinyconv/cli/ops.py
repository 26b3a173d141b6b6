"""`tinyconv ops`: the table of what tinyconv deploys (op, dtypes, kernels per ISA)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import options


@click.command("ops")
@options.json_out()
def ops(json_path: Path | None) -> None:
    """List every supported op: int8 / int16 activations, kernels, DSP and Helium paths."""
    from dataclasses import asdict

    from .. import ops_table

    rows = ops_table.op_support()
    click.echo(ops_table.format_table(rows))
    click.echo(f"{len(rows)} ops; ref: portable C (every CPU), dsp: Armv7E-M / Armv8-M DSP "
               "(Cortex-M4, M7, M33), mve: Helium (Cortex-M55)")
    if json_path:
        Path(json_path).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
