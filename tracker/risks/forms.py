"""Forms of the risk pages; choices are filled per request so labels follow the locale."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..extensions import db
from ..models import Department, RiskCategory, RiskLevel, RiskStatus, Stage


def department_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(db.select(Department.id, Department.name)
                              .where(Department.active).order_by(Department.code)).all()
    return [("", _l("（不涉及具体单位）"))] + [(str(i), n) for i, n in rows]


class RiskForm(FlaskForm):
    """Register a risk point on a project."""

    title = StringField(_l("风险点"), validators=[DataRequired(_l("请填写风险点")), Length(max=200)])
    description = TextAreaField(_l("具体情况"), validators=[Optional(), Length(max=5000)])
    stage = SelectField(_l("所处阶段"))
    category = SelectField(_l("风险类别"))
    level = SelectField(_l("风险等级"))
    department_id = SelectField(_l("涉及单位"), validators=[Optional()])
    reason = StringField(_l("登记说明"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = Stage.choices()
        self.category.choices = RiskCategory.choices()
        self.level.choices = RiskLevel.choices()
        self.department_id.choices = department_choices()


class EditRiskForm(RiskForm):
    """Edit a risk; a change of level or status needs the reason."""

    status = SelectField(_l("状态"))
    reason = StringField(_l("调整理由"), validators=[Optional(), Length(max=5000)],
                         description=_l("调整风险等级或状态时必填"))
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = RiskStatus.choices()


class RateForm(FlaskForm):
    """Re-rate a risk from the project page: level, status and why."""

    level = SelectField(_l("风险等级"))
    status = SelectField(_l("状态"))
    reason = StringField(_l("调整理由"), validators=[Optional(), Length(max=5000)])
    version = IntegerField(validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = RiskLevel.choices()
        self.status.choices = RiskStatus.choices()


class MaterialiseForm(FlaskForm):
    """The risk happened: open a problem linked to it."""

    title = StringField(_l("问题"), validators=[DataRequired(_l("请填写问题")), Length(max=200)])
    description = TextAreaField(_l("问题描述"), validators=[Optional(), Length(max=5000)])
