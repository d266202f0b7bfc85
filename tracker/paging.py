"""Counting lists at any size: a count stops at COUNT_CAP + 1 rows, so a list page or an API page
costs the same at a million problems as at ten thousand, and says "10,000+" past the cap."""
import sqlalchemy as sa

COUNT_CAP = 10_000


def capped(query: sa.Select) -> sa.Select:
    """`SELECT count(*)` of at most COUNT_CAP + 1 of the rows `query` selects."""
    rows = (query.order_by(None).with_only_columns(sa.literal(1), maintain_column_froms=True)
            .limit(COUNT_CAP + 1).subquery())
    return sa.select(sa.func.count()).select_from(rows)


def count_label(n: int) -> str:
    """A count as shown: "10,000+" once it reaches past the cap."""
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else str(n)
