"""Errors raised by the file readers and validators.

Each message is one sentence that names the file (or parameter), what was
expected and what was found, so the edge (a command or a task) can show it as
it is.
"""


class FormatError(ValueError):
    """A file is not in the format we expected; `path` names it."""

    def __init__(self, message: str, *, path=None):
        super().__init__(message)
        self.path = str(path) if path is not None else None


class MissingGenesError(FormatError):
    """Some required genes (by Entrez id) are absent; `missing` lists them in the requested order."""

    def __init__(self, message: str, *, missing, path=None):
        super().__init__(message, path=path)
        self.missing = list(missing)
