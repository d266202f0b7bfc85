"""Forms of the project pages: the registry entry, supervisor assignment, stage move, import."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (BooleanField, DateField, DecimalField, HiddenField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..models import Level, Stage


class ProjectForm(FlaskForm):
    code = StringField(_l("项目编号"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("项目名称"), validators=[DataRequired(), Length(max=200)])
    level = SelectField(_l("项目级别"), choices=Level.choices, validators=[DataRequired()])
    category = StringField(_l("项目类别"), validators=[DataRequired(), Length(max=50)])
    investment_wan = DecimalField(_l("总投资（万元）"), places=2,
                                  validators=[InputRequired(), NumberRange(min=0)])
    responsible_unit = StringField(_l("责任单位"), validators=[Optional(), Length(max=100)])
    owner = StringField(_l("业主单位"), validators=[Optional(), Length(max=200)])
    location = StringField(_l("项目地点"), validators=[Optional(), Length(max=200)])
    # Only when registering: later changes go through the stage move.
    stage = SelectField(_l("当前阶段"), choices=Stage.choices, default=Stage.signing.value)
    supervisor_id = SelectField(_l("纪检监察员"), coerce=str, validate_choice=True)
    version = HiddenField()

    def registry_fields(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("code", "name", "level", "category", "investment_wan", "responsible_unit",
                 "owner", "location")}


class AssignForm(FlaskForm):
    user_id = SelectField(_l("纪检监察员"), coerce=str, validators=[DataRequired()])
    note = StringField(_l("说明"), validators=[Optional(), Length(max=500)])


class StageForm(FlaskForm):
    stage = SelectField(_l("进入阶段"), validators=[DataRequired()])
    changed_on = DateField(_l("变更日期"), validators=[DataRequired()])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()


class ImportForm(FlaskForm):
    file = FileField(_l("项目清单文件"), validators=[
        FileRequired(_l("请选择文件")),
        FileAllowed(["xlsx", "csv"], _l("只支持 .xlsx 或 .csv 文件"))])
    update = BooleanField(_l("更新编号已存在的项目"))
