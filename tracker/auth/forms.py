"""Sign-in and password forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..services.users import password_problem


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("记住我（14天）"))
    submit = SubmitField(_l("登录"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=200)])
    new = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("再次输入新密码"),
                            validators=[DataRequired(), EqualTo("new", message=_l("两次输入不一致"))])
    submit = SubmitField(_l("修改密码"))

    def validate_new(self, field):
        if (problem := password_problem(field.data)) is not None:
            raise ValidationError(problem)
