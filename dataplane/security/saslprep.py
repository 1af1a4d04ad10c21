"""SASLprep (RFC 4013): the stringprep profile that normalises SASL user names before comparison."""

from __future__ import annotations

import stringprep
import unicodedata


class SaslprepError(ValueError):
    """The string holds a character SASLprep prohibits, or breaks the bidirectional rule."""


_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(text: str, *, allow_unassigned: bool = True) -> str:
    """Map, NFKC-normalise and check `text` per RFC 4013.

    `allow_unassigned` is True for "queries" (names a client sends) and False for "stored strings"
    (names written to the credential store), as RFC 3454 section 7 distinguishes them.
    Raises SaslprepError on a prohibited character or a bidirectional-rule violation.
    """
    if text.isascii() and text.isprintable():
        # Printable ASCII maps to itself and holds nothing prohibited: skip the table walks.
        return text
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch)
    )
    normalised = unicodedata.normalize("NFKC", mapped)
    for ch in normalised:
        if any(prohibited(ch) for prohibited in _PROHIBITED):
            raise SaslprepError(f"prohibited character U+{ord(ch):04X}")
        if not allow_unassigned and stringprep.in_table_a1(ch):
            raise SaslprepError(f"unassigned code point U+{ord(ch):04X}")
    if any(stringprep.in_table_d1(ch) for ch in normalised):
        if any(stringprep.in_table_d2(ch) for ch in normalised):
            raise SaslprepError("mixes right-to-left and left-to-right characters")
        if not (stringprep.in_table_d1(normalised[0]) and stringprep.in_table_d1(normalised[-1])):
            raise SaslprepError(
                "right-to-left text must start and end with a right-to-left character"
            )
    return normalised
