"""TinyNAS-style neural architecture search under exact MCU budgets (`tinyconv search`).

budget.py      constraints (SRAM, flash, MACs, instructions) and the "nothing fits" error
space_opt.py   search-space optimisation: pick the (width, resolution) pair
proxy.py       the accuracy proxy (short training on a subset), run in worker processes
evolution.py   evolutionary search with a resumable candidate log
result.py      final training of the winner, plots, firmware export
run.py         the whole pipeline behind the CLI command
"""
