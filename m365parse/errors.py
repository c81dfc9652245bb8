"""Exceptions of m365parse.

Every exception the library raises on bad input derives from
:class:`M365ParseError`, itself a :class:`ValueError`, so one ``except`` clause
catches them all.  Per-record problems are not raised: :func:`m365parse.decode`
returns them in :attr:`m365parse.Batch.errors` as :class:`InvalidRecord` values.
"""

from __future__ import annotations

__all__ = [
    "M365ParseError",
    "InvalidInput",
    "InvalidRecord",
    "InvalidColumn",
    "InvalidJSONText",
    "MappingError",
]


class M365ParseError(ValueError):
    """Root of every error m365parse raises or reports."""


class InvalidInput(M365ParseError):
    """The input as a whole is not JSON, or not one of the shapes Defender delivers.

    ``position`` is the byte offset at which parsing stopped (``None`` when the
    input could not be read as bytes at all).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class InvalidRecord(M365ParseError):
    """One input record that could not be decoded; the others were.

    Attributes:
        index: position of the record in the input (0-based; for JSON lines the
            position among the non-blank lines).
        path: JSON path of the bad value, e.g. ``$.records[3].properties``.
        reason: what is wrong, in words a person can act on.
        raw: the record's original bytes, exactly as they arrived.
    """

    def __init__(self, index: int, path: str, reason: str, raw: bytes) -> None:
        super().__init__(f"record {index}: {reason} - at `{path}`")
        self.index = index
        self.path = path
        self.reason = reason
        self.raw = raw

    def __reduce__(self) -> tuple[type[InvalidRecord], tuple[int, str, str, bytes]]:
        return (type(self), (self.index, self.path, self.reason, self.raw))


class InvalidColumn(M365ParseError, KeyError):
    """A helper was asked for a column the record does not have, or of the wrong kind."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidJSONText(M365ParseError):
    """A JSON-in-string value could not be expanded (not JSON, or beyond a limit).

    ``column`` names the column, ``position`` the byte offset where parsing
    stopped when known.
    """

    def __init__(self, column: str, message: str, position: int | None = None) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column
        self.position = position


class MappingError(M365ParseError):
    """A field-mapping rule set is invalid, unknown, or its name is taken.

    Raised when a rule set is created or registered, never per record.  The
    attributes name the rule: ``rule_set``, ``table`` and ``field`` (``None`` when
    the problem is not about one of them).
    """

    def __init__(
        self, message: str, rule_set: str | None = None, table: str | None = None, field: str | None = None
    ) -> None:
        where = ", ".join(
            f"{what} {name!r}" for what, name in (("rule set", rule_set), ("table", table), ("field", field)) if name
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.rule_set = rule_set
        self.table = table
        self.field = field
