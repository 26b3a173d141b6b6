"""The `tinyconv` command line: the group, `main`, and one module per command.

Options shared by several commands are defined once in `options`. Commands import their
heavy dependencies (numpy, TensorFlow) inside the command, so `tinyconv --help` is instant.
"""

from __future__ import annotations

import sys

import click

from ..errors import TinyconvError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyconv")
@click.option("-v", "--verbose", is_flag=True,
              help="Show TensorFlow's own log messages and warnings (oneDNN, CUDA probing, "
              "absl), hidden by default. Give it before the command: tinyconv -v train ...")
def cli(verbose: bool) -> None:
    """Convolutional networks on Cortex-M: export int8 models to bit-exact C firmware."""
    from .. import quiet
    quiet.configure(verbose)


from . import export, inspect, ops, profile, search, train, verify, zoo  # noqa: E402

for _command in (export.export, verify.verify, inspect.inspect, profile.profile, search.search,
                 train.train, zoo.zoo, ops.ops):
    cli.add_command(_command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except TinyconvError as e:
        click.echo(f"tinyconv: error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("tinyconv: interrupted", err=True)
        sys.exit(130)
