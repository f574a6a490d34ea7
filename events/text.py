"""Free text people type (brands, models, names, notes, reasons): one rule for every door.

``Text`` is the type of every free-text field of every command, event and HTTP
request body. What it does, in this order:

1. **Refuses** control characters: C0 (U+0000–U+001F, tab and line breaks
   included), DEL and C1 (U+007F–U+009F), the Unicode line and paragraph
   separators (U+2028, U+2029), the bidirectional embedding, override and
   isolate controls (U+202A–U+202E, U+2066–U+2069, which make text display in an
   order other than the one stored) and lone surrogates (not text at all). Every
   field is one line: a note with several points separates them with "; ".
   Nothing is stripped silently: a terminal escape or a NUL in a serial list is
   a sign of a broken export, and the sender should see it.
2. **Normalises** to Unicode NFC, so a name typed on a phone that composes
   accents and one typed on a laptop that does not are stored, compared and
   hashed as the same string.
3. **Trims** surrounding spaces (spreadsheet cells and form fields carry them by
   accident; they are never meant). Inner spaces are kept as typed.

Printable text of any script is kept as it is: ``Kantor Kesbangpol Kab. Pidie``,
``O'Brien``, ``<Lenovo>``, ``Âu``. Escaping for HTML or CSV is the job of
whatever renders it, not of the stored value.

``TextChecked`` is the base of every contract model: it applies step 1 to
every string field, including ones not declared ``Text`` (a label, an id), so
a new field is covered by default. A model that must carry arbitrary bytes
(a dead letter's copy of what could not be read) lists that field in ``RAW_TEXT``.
"""

from __future__ import annotations

import hmac
import re
import typing
import unicodedata
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, StringConstraints, ValidationInfo, field_validator

FORBIDDEN = "\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_FORBIDDEN = re.compile(f"[{FORBIDDEN}]")
_EDGE_SPACE = re.compile(r"^\s+|\s+$")  # only spaces are left once controls are refused
# The same rule for JSON Schema readers (ECMA-262 syntax); surrogates cannot occur in valid JSON text.
TEXT_PATTERN = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*$"


def refuse_control_characters(value: str) -> str:
    """Raises ValueError naming the first forbidden character and where it is."""
    found = _FORBIDDEN.search(value)
    if found:
        char = found.group()
        name = unicodedata.name(char, "control character")
        raise ValueError(
            f"contains U+{ord(char):04X} ({name.lower()}) at character {found.start() + 1}: "
            "remove control and formatting characters; text must be one printable line"
        )
    return value


def storable(value: str) -> str:
    """``value`` with each U+0000 as U+FFFD: text kept as it came (a dead letter's bytes),
    which every store must be able to hold. PostgreSQL's JSON cannot hold U+0000, and
    FerretDB on PostgreSQL answers such a write with an internal error, which reads as a
    store that cannot write for now: the message would be retried for ever."""
    return value.replace("\x00", "\ufffd")


def has_control_characters(value: str) -> bool:
    return _FORBIDDEN.search(value) is not None


def printable(value: str, limit: int) -> str:
    """``value`` made one printable line of at most ``limit`` characters: each control or
    formatting character a space, runs of spaces one, NFC, trimmed. For text someone
    else's system hands over (an identity provider's name for a person), where the
    person it describes cannot correct it and refusing would lock them out; what
    people type is refused instead (``Text``), so they see and fix it."""
    line = " ".join(_FORBIDDEN.sub(" ", unicodedata.normalize("NFC", value)).split())
    return line[:limit].rstrip()


def normalise_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # the str validator says what is wrong with it
    return _EDGE_SPACE.sub("", unicodedata.normalize("NFC", refuse_control_characters(value)))


Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN), BeforeValidator(normalise_text)]


def _walk(value: Any) -> None:
    if isinstance(value, str):
        refuse_control_characters(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k)
            _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            _walk(v)


class TextChecked(BaseModel):
    """Refuses control characters in every string field (see the module docstring)."""

    RAW_TEXT: ClassVar[frozenset[str]] = frozenset()
    # Fields holding contract models, which check their own fields (so an error names
    # the inner field); worked out once per class, not per message.
    _NESTED: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._NESTED = frozenset(n for n, f in cls.model_fields.items() if _holds_checked_model(f.annotation))

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if name not in cls.RAW_TEXT and name not in cls._NESTED:
            _walk(value)
        return value


def _holds_checked_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, TextChecked):
        return True
    return any(_holds_checked_model(arg) for arg in typing.get_args(annotation))


_FORMULA_START = ("=", "+", "-", "@")


def spreadsheet_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows as the text it is. Stored values are
    clean, but a rejects file repeats what was refused, so: control characters are
    written as visible escapes (``\\x1b``), and a cell a spreadsheet would run as a
    formula (starting with = + - @, also after spaces or an escaped tab) gets a
    leading apostrophe (OWASP "CSV injection")."""
    text = "" if value is None else str(value)
    shown = _FORBIDDEN.sub(_escape, text)
    # What a spreadsheet reads first once leading blanks and control characters are skipped.
    first = _FORBIDDEN.sub("", text).lstrip()[:1]
    return "'" + shown if first in _FORMULA_START else shown


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def same_secret(expected: str, given: str) -> bool:
    """Whether two secrets (tokens, codes, hashes) are equal, in constant time, for any
    text: ``hmac.compare_digest`` on two ``str`` raises on a character outside ASCII,
    which a hostile header, form field or cookie can always send."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))
