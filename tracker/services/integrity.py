"""Checks of the problem log's hash chain (`flask verify-log`)."""
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import ProblemEvent


@dataclass
class ChainReport:
    events: int
    problems: int
    broken_event_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_event_id is None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk every problem's events in order; name the first event whose link is broken."""
    last_hash: dict[int, str] = {}
    count = 0
    query = sa.select(ProblemEvent).order_by(ProblemEvent.id).execution_options(yield_per=batch)
    for event in db.session.scalars(query):
        count += 1
        expected_prev = last_hash.get(event.problem_id)
        if event.prev_hash != expected_prev:
            return ChainReport(count, len(last_hash), event.id,
                               "prev_hash does not match the previous event of the problem")
        if event.compute_hash() != event.hash:
            return ChainReport(count, len(last_hash), event.id, "content does not match its hash")
        last_hash[event.problem_id] = event.hash
    return ChainReport(count, len(last_hash))
