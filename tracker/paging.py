"""Counting lists at any size: a count stops one row past its cap, so a list page or an API page
costs the same at a million problems as at ten thousand, and says "10,000+" past the cap.

COUNT_CAP bounds the totals that page through a list (the API's `total`, the list page's pager);
TAB_CAP the badges of the status tabs beside it, which only need to say "a lot"."""
import sqlalchemy as sa

COUNT_CAP = 10_000
TAB_CAP = 1_000


def capped(query: sa.Select, cap: int | None = None) -> sa.Select:
    """`SELECT count(*)` of at most cap + 1 (COUNT_CAP by default) of the rows `query` selects."""
    cap = COUNT_CAP if cap is None else cap
    rows = (query.order_by(None).with_only_columns(sa.literal(1), maintain_column_froms=True)
            .limit(cap + 1).subquery())
    return sa.select(sa.func.count()).select_from(rows)


def count_label(n: int, cap: int | None = None) -> str:
    """A count as shown: "10,000+" once it reaches past its cap."""
    cap = COUNT_CAP if cap is None else cap
    return f"{cap:,}+" if n > cap else str(n)
