"""The phone-first visit form: the visit, new problems, revisit outcomes and files in one post.

The form parses and shapes the input; tracker.services.visits decides what is valid, and its
errors come back named like these fields (`revisits-0-comment`) so each shows beside its field.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (Form, FieldList, FormField, HiddenField, MultipleFileField, RadioField,
                     SelectField, StringField, SubmitField, TextAreaField)
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, Optional

from ..models import QuietDayExemption, Satisfaction, VisitKind

# the 1510 classes in the same words as the problem and checklist pages
HANDLING_CHOICES = [("", _l("（暂不建议）")), ("1", _l("1个工作日（即办）")),
                    ("5", _l("5个工作日（一般问题）")), ("10", _l("10个工作日（疑难问题，先书面答复）"))]


class NewProblemForm(Form):
    title = StringField(_l("问题标题"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("问题描述"), validators=[Optional(), Length(max=5000)],
                                render_kw={"rows": 2})
    handling_class = SelectField(_l("建议办理类别"), choices=HANDLING_CHOICES, default="")


class RevisitForm(Form):
    problem_id = HiddenField()
    outcome = RadioField(_l("回访结果"), default="",
                         choices=[("", _l("本次未核查")), ("close", _l("整改到位，销号")),
                                  ("reopen", _l("未整改到位，重新整改"))])
    satisfaction = SelectField(_l("企业满意度"), default="",
                               choices=[("", _l("请选择"))] + Satisfaction.choices())
    comment = TextAreaField(_l("回访情况 / 重新整改原因"), validators=[Length(max=5000)],
                            render_kw={"rows": 2})


class VisitForm(FlaskForm):
    project_id = SelectField(_l("项目"), coerce=int, validators=[InputRequired(_l("请选择项目"))])
    visited_on = DateField(_l("走访日期"), validators=[InputRequired(_l("请填写走访日期"))])
    kind = RadioField(_l("走访类型"), choices=VisitKind.choices(), default=VisitKind.routine.value,
                      validators=[InputRequired(_l("请选择走访类型"))])
    people_met = StringField(_l("见到的人员"), validators=[Length(max=2000)],
                             render_kw={"placeholder": _l("如：项目经理张某、业主代表李某"),
                                        "autocomplete": "off"})
    summary = TextAreaField(_l("走访情况"), validators=[Length(max=5000)],
                            render_kw={"rows": 4, "placeholder": _l("看到了什么、了解到什么")})
    lat = StringField(_l("纬度"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    lon = StringField(_l("经度"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    quiet_day_exemption = RadioField(_l("企业宁静日例外情形"), choices=QuietDayExemption.choices(),
                                     validators=[Optional()])
    new_problems = FieldList(FormField(NewProblemForm), min_entries=1, max_entries=20)
    revisits = FieldList(FormField(RevisitForm), max_entries=200)
    photos = MultipleFileField(_l("拍照"), render_kw={"accept": "image/*",
                                                      "capture": "environment"})
    documents = MultipleFileField(_l("选择照片或 PDF 文件"),
                                  render_kw={"accept": "image/*,application/pdf"})
    submit = SubmitField(_l("保存走访记录"))


class AttachForm(FlaskForm):
    files = MultipleFileField(_l("补充照片或文件"), render_kw={"accept": "image/*,application/pdf"})
    submit = SubmitField(_l("上传"))
