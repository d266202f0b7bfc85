"""Text as a workbook cell can hold it.

Excel refuses the C0 control characters other than tab, line feed and carriage return, and
openpyxl raises on them rather than writing a file Excel would not open. People paste them into
titles, comments and names (a vertical tab from a word processor, say) and the database keeps
what was entered, so every workbook the app writes passes its text through here: the character
is dropped, the rest of the text is kept, and the download never fails on it.
"""
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def cell_text(value):
    """`value` without the characters a cell cannot hold (anything not text is left as it is)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def cells(row) -> list:
    """A row of values, each as cell_text leaves it."""
    return [cell_text(value) for value in row]
