"""Errors kcbx raises on purpose; the CLI turns each into a Chinese message and an exit code.

Exit codes (SPEC §5): 1 an error the clerk can fix, 3 rows rejected, 4 alerts found.
Typer's own usage errors keep code 2.
"""


class KcbxError(Exception):
    """Base class: the message is shown to the clerk as it is (Chinese, IDs masked)."""

    exit_code = 1


class DatabaseError(KcbxError):
    """The database cannot be opened, is locked, or is from a newer kcbx."""


class FileProblem(KcbxError):
    """A spreadsheet is missing, unreadable or not what it claims to be."""


class NotFound(KcbxError):
    """No such child, teacher, unit or batch."""


class Ambiguous(KcbxError):
    """A name matches several records; the message lists them (masked)."""


class InvalidValue(KcbxError):
    """A command argument is not acceptable (bad date, unknown status word …)."""


class RowsRejected(KcbxError):
    """An import rejected some rows (the rest were imported) or, with --strict, the file."""

    exit_code = 3


class AlertsFound(KcbxError):
    """`--fail-on-alert` found something that needs attention."""

    exit_code = 4
