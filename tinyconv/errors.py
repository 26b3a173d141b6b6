"""One error type for everything a user can get wrong: the CLI prints it as one line, exit 2."""


class TinyconvError(Exception):
    """A problem with the user's input (model, budget, dataset...), explained in one line."""

    exit_code = 2


class UnsupportedOpError(TinyconvError):
    pass


class BudgetError(TinyconvError):
    pass
