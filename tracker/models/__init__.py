"""The domain's typed models, one module per aggregate."""
from .admin import AuditEntry, CalendarDay, Notification, Setting
from .base import utcnow
from .problem import (ESCALATION_LABELS, HANDLING_CLASSES, AccountabilityRecord, Action, Outcome,
                      Problem, ProblemEvent, ProblemStatus, Satisfaction, Source,
                      problem_co_departments)
from .project import (ChecklistItem, ChecklistTemplate, CheckResult, Level, Project, Stage,
                      StageChange, SupervisorAssignment)
from .report import StoredPack
from .risk import Risk, RiskCategory, RiskChange, RiskLevel, RiskStatus
from .user import ApiToken, Department, Role, User
from .visit import Attachment, QuietDayExemption, Visit, VisitKind, visit_problems

__all__ = [
    "AccountabilityRecord", "Action", "ApiToken", "Attachment", "AuditEntry", "CalendarDay",
    "CheckResult", "ChecklistItem", "ChecklistTemplate", "Department", "ESCALATION_LABELS",
    "HANDLING_CLASSES", "Level", "Notification", "Outcome", "Problem", "ProblemEvent",
    "ProblemStatus", "Project", "QuietDayExemption", "Risk", "RiskCategory", "RiskChange",
    "RiskLevel", "RiskStatus", "Role", "Satisfaction", "Setting", "Source", "Stage", "StageChange",
    "StoredPack", "SupervisorAssignment", "User", "Visit", "VisitKind", "problem_co_departments",
    "utcnow", "visit_problems",
]
