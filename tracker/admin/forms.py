"""Administration forms: people, departments, the holiday calendar, settings, audit filters."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (DateField, EmailField, IntegerField, PasswordField, SelectField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import (DataRequired, Email, InputRequired, Length, NumberRange, Optional,
                                ValidationError)

import sqlalchemy as sa

from ..extensions import db
from ..models import Role, User
from ..services.users import password_problem


def _int_or_none(value):
    """A select's id, or None when empty, not a number, or beyond any id column."""
    try:
        number = int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and 0 < number < 2**31 else None


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("角色"), choices=[], validators=[DataRequired()])
    department_id = SelectField(_l("所属单位（责任单位用户）"), coerce=_int_or_none, choices=[],
                                validate_choice=False)
    email = EmailField(_l("电子邮箱"), validators=[Optional(), Email(), Length(max=200)])
    phone = StringField(_l("手机号"), validators=[Optional(), Length(max=32)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("保存"))

    def __init__(self, departments, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = Role.choices()
        self.department_id.choices = [(None, _l("（无）"))] + [(d.id, f"{d.name}（{d.code}）")
                                                             for d in departments]

    def validate_username(self, field):
        if db.session.scalar(sa.select(User.id).where(User.username == (field.data or "").strip())):
            raise ValidationError(_l("用户名已存在"))

    def validate_password(self, field):
        if (problem := password_problem(field.data or "")) is not None:
            raise ValidationError(problem)

    def validate_department_id(self, field):
        if self.role.data == Role.department.value and field.data is None:
            raise ValidationError(_l("责任单位用户须选择单位"))
        if self.role.data != Role.department.value and field.data is not None:
            raise ValidationError(_l("只有责任单位用户属于单位"))


class EditUserForm(UserForm):
    username = None
    password = None


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("临时密码（留空则自动生成）"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("重置密码"))

    def validate_password(self, field):
        if field.data and (problem := password_problem(field.data)) is not None:
            raise ValidationError(problem)


class DeactivateForm(FlaskForm):
    reassign_to = SelectField(_l("项目改派给"), coerce=_int_or_none, choices=[],
                              validate_choice=False)
    note = StringField(_l("说明"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("确认停用"))


class DepartmentForm(FlaskForm):
    code = StringField(_l("代码"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("新建单位"))


class RenameForm(FlaskForm):
    name = StringField(_l("新名称"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("更名"))


class MergeForm(FlaskForm):
    survivor_id = SelectField(_l("并入（存续单位）"), coerce=_int_or_none, choices=[],
                              validate_choice=False, validators=[DataRequired()])
    comment = StringField(_l("说明"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("确认合并"))


class YearForm(FlaskForm):
    days_off = TextAreaField(_l("放假日期"), validators=[Length(max=20000)])
    days_worked = TextAreaField(_l("调休上班日期"), validators=[Length(max=20000)])
    submit = SubmitField(_l("保存全年安排"))


class ImportForm(FlaskForm):
    file = FileField(_l("节假日表（.xlsx 或 .csv）"), validators=[FileRequired()])
    submit = SubmitField(_l("导入"))


class AdjustDueForm(FlaskForm):
    due_on = DateField(_l("新期限"), validators=[DataRequired()])
    comment = StringField(_l("理由"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("调整期限"))


class SettingsForm(FlaskForm):
    """Fields are added per setting key at runtime (see routes.settings)."""

    submit = SubmitField(_l("保存设置"))


def settings_form_class(specs):
    """A SettingsForm with one IntegerField per setting spec."""
    attrs = {}
    for spec in specs.values():
        validators = [InputRequired(message=_l("必填")), NumberRange(spec.minimum, spec.maximum)]
        if spec.allowed:
            attrs[spec.key] = SelectField(spec.label, coerce=int,
                                          choices=[(a, str(a)) for a in spec.allowed])
        else:
            attrs[spec.key] = IntegerField(spec.label, validators=validators)
    return type("BoundSettingsForm", (SettingsForm,), attrs)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    actor_id = SelectField(_l("操作人"), coerce=_int_or_none, choices=[], validate_choice=False)
    category = SelectField(_l("类别"), choices=[], validate_choice=False)
    object_type = SelectField(_l("对象类型"), choices=[], validate_choice=False)
    object_id = IntegerField(_l("对象编号"), validators=[Optional(), NumberRange(1, 2**62)])
    date_from = DateField(_l("起始日期"), validators=[Optional()])
    date_to = DateField(_l("截止日期"), validators=[Optional()])
