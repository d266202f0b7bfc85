"""Forms of the follow-through pages: the accountability record."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..models import Outcome


def outcome_choices():
    return [("", _l("（待定）"))] + Outcome.choices()


class AccountabilityForm(FlaskForm):
    subject = StringField(_l("问责对象（人员或单位）"), validators=[DataRequired(), Length(max=200)])
    outcome = SelectField(_l("处理结果"), choices=outcome_choices, default="",
                          validate_choice=True)
    decided_on = DateField(_l("决定日期"), validators=[Optional()])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=5000)])


class DecisionForm(FlaskForm):
    outcome = SelectField(_l("处理结果"), choices=outcome_choices, default="",
                          validate_choice=True)
    decided_on = DateField(_l("决定日期"), validators=[Optional()])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=5000)])
