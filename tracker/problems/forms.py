"""Forms of the problem pages: recording a problem, and the fields each workflow action needs."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..models import Action, Source, Stage


class ProblemForm(FlaskForm):
    title = StringField(_l("问题"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("问题描述"), validators=[Optional(), Length(max=5000)])
    source = SelectField(_l("问题来源"), choices=Source.choices, default=Source.other.value)
    stage = SelectField(_l("所属阶段"), choices=Stage.choices)
    handling_class = SelectField(
        _l("建议办理时限（1510）"),
        choices=[("", _l("交办时确定")), ("1", _l("1个工作日（即办）")),
                 ("5", _l("5个工作日（一般问题）")), ("10", _l("10个工作日（疑难问题）"))],
        validators=[Optional()])
    submit = SubmitField(_l("登记问题"))


# The fields each action's form asks for, in order (the workflow checks them and names each
# bad one). `comment` is labelled by what it means for that action.
ACTION_FIELDS: dict[Action, list[str]] = {
    Action.assign: ["department_id", "handling_class", "co_department_ids", "comment"],
    Action.accept: ["plan", "planned_on", "comment"],
    Action.report: ["comment", "evidence"],
    Action.close: ["satisfaction", "comment"],
    Action.reopen: ["comment", "satisfaction_optional"],
    Action.withdraw: ["comment"],
    Action.escalate: ["level", "comment"],
    Action.request_extension: ["requested_due_on", "comment"],
    Action.decide_extension: ["approve", "comment"],
    Action.set_due: ["due_on", "comment"],
    Action.transfer: ["department_id", "comment"],
    Action.instruct: ["comment"],
    Action.comment: ["comment"],
}

COMMENT_LABELS = {
    Action.assign: (_l("交办要求"), False),
    Action.accept: (_l("签收说明"), False),
    Action.report: (_l("整改情况反馈"), True),
    Action.close: (_l("回访情况"), False),
    Action.reopen: (_l("退回原因"), True),
    Action.withdraw: (_l("撤销原因"), True),
    Action.escalate: (_l("升级说明"), False),
    Action.request_extension: (_l("延期理由"), True),
    Action.decide_extension: (_l("审批意见"), False),
    Action.set_due: (_l("调整原因"), True),
    Action.transfer: (_l("转办说明"), False),
    Action.instruct: (_l("批示内容"), True),
    Action.comment: (_l("留言"), True),
}

# Irreversible or weighty actions ask before they are sent.
CONFIRM = {
    Action.close: _l("确认销号？销号后只有管理员可以重新打开。"),
    Action.withdraw: _l("确认撤销该问题？撤销后不能恢复。"),
    Action.escalate: _l("确认升级督办等级？"),
    Action.reopen: _l("确认退回重新整改？"),
    Action.decide_extension: _l("确认提交延期审批结果？"),
}

BUTTON_STYLES = {
    Action.assign: "primary", Action.accept: "primary", Action.report: "primary",
    Action.close: "success", Action.reopen: "warning", Action.withdraw: "outline-danger",
    Action.escalate: "outline-danger", Action.request_extension: "outline-secondary",
    Action.decide_extension: "outline-primary", Action.set_due: "outline-secondary",
    Action.transfer: "outline-secondary", Action.instruct: "outline-dark",
    Action.comment: "outline-secondary",
}

FORM_KEYS = ("version", "comment", "department_id", "handling_class", "plan", "planned_on",
             "satisfaction", "requested_due_on", "approve", "level", "due_on")


def action_fields_from(form) -> dict:
    """The submitted fields of an action form, as the workflow takes them; blanks left out."""
    fields = {k: form.get(k) for k in FORM_KEYS if form.get(k) not in (None, "")}
    co_ids = [v for v in form.getlist("co_department_ids") if v]
    if co_ids:
        fields["co_department_ids"] = co_ids
    if "version" in fields:
        try:
            fields["version"] = int(fields["version"])
        except ValueError:
            fields.pop("version")
    return fields

