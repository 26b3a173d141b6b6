"""`python -m tinyconv.cli`: the same as the `tinyconv` console script."""

from . import main

main()
