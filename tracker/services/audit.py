"""The audit trail for what the problem log does not hold: sign-ins, refusals, admin changes."""
from ..extensions import db
from ..models import AuditEntry, User


def audit(actor: User | None, action: str, object_type: str = "", object_id: int | None = None,
          detail: dict | None = None, ip: str = "") -> None:
    """Append an audit entry in the caller's transaction."""
    db.session.add(AuditEntry(actor_id=actor.id if actor else None, action=action,
                              object_type=object_type, object_id=object_id,
                              detail=detail or {}, ip=ip))
