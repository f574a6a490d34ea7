"""Rupiah amounts as Indonesian procurement files write them.

Accepted (the value is whole rupiah; BMN books carry no sen):

- digits alone: ``12500000``
- Indonesian grouping, a dot every three digits: ``12.500.000``
- a decimal comma with zero sen: ``12.500.000,00``, ``12500000,0``
- the ``,-`` ending of a round amount: ``12.500.000,-``
- any of these after ``Rp`` or ``Rp.`` (any case), with or without a space,
  no-break space or narrow no-break space between: ``Rp 12.500.000``,
  ``Rp\\u00a012.500.000``, ``Rp12.500.000,-``

Refused, with a sentence saying how to write it:

- ``12.500`` — one dot group and nothing else showing the Indonesian style: it is
  twelve thousand five hundred in Indonesian but twelve and a half in English, and
  a vendor's export may be either. ``Rp 12.500``, ``12.500,00``, ``12.500,-`` or
  ``12500`` say which is meant. (Two or more groups, ``12.500.000``, cannot be
  English: a number has one decimal point.)
- English style: ``12,500,000``, ``1,234.56``, and ``12,500`` (twelve and a half
  in Indonesian, twelve thousand five hundred in English).
- sen other than zero (``12.500.000,50``), negative amounts, grouping other than
  by three, and digits of other scripts.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"(?i:rp)\.?[ \u00a0\u202f]?")
_WHOLE = r"(?P<whole>[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+)"
_AMOUNT = re.compile(rf"{_WHOLE}(?:,(?P<sen>[0-9]{{1,2}})|(?P<dash>,-))?")
_ENGLISH = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
HOW = "write it as 12500000, 12.500.000, 12.500.000,00 or Rp 12.500.000"


def parse_rupiah(text: str) -> int:
    """The whole-rupiah value of ``text``; ValueError with a sentence saying what is wrong."""
    value = text.strip(" \u00a0\u202f")
    prefix = _PREFIX.match(value)
    marked = prefix is not None
    number = value[prefix.end() :] if prefix else value
    found = _AMOUNT.fullmatch(number)
    if found is None:
        if re.fullmatch(r"[0-9]{1,3},[0-9]{3}", number):
            head, tail = number.split(",")
            raise ValueError(
                f"{text[:40]!r} is ambiguous: {head} and a fraction with an Indonesian decimal comma, or "
                f"{head}{tail} with English thousands. For {head}{tail} rupiah write {head}{tail} or {head}.{tail},00."
            )
        if _ENGLISH.fullmatch(number):
            raise ValueError(f"{text[:40]!r} is written in English style (comma thousands): in Indonesian style {HOW}.")
        raise ValueError(f"{text[:40]!r} is not a rupiah amount: {HOW}.")
    whole, sen = found["whole"], found["sen"]
    if len(whole.replace(".", "")) > 13:
        raise ValueError(f"{text[:40]!r} is more rupiah than any laptop costs: check the column.")
    if sen is not None and int(sen) != 0:
        raise ValueError(f"{text[:40]!r} has {sen} sen: BMN values are whole rupiah, so round it.")
    one_group = whole.count(".") == 1
    if one_group and not (marked or sen is not None or found["dash"]):
        plain = whole.replace(".", "")
        raise ValueError(
            f"{text[:40]!r} is ambiguous: {plain} rupiah with an Indonesian thousands dot, or a fraction with an "
            f"English decimal point. For {plain} rupiah write {plain}, Rp {whole} or {whole},00."
        )
    return int(whole.replace(".", ""))
