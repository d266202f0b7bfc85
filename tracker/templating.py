"""Template globals and filters: labels, dates in Asia/Shanghai, money in 万元/亿元."""
from datetime import date, datetime
from decimal import Decimal

from flask import Flask
from flask_babel import get_locale

from .calendar import TZ
from .models import (ESCALATION_LABELS, Action, Level, ProblemStatus, Role, Satisfaction, Source,
                     Stage)
from .models.problem import STATUS_COLOURS


def local_dt(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(TZ).strftime("%Y年%m月%d日 %H:%M")


def cn_date(value: date | None) -> str:
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def money(value: Decimal | None) -> str:
    """万元, shown in 亿元 from 10,000 万元 up."""
    if value is None:
        return ""
    value = Decimal(value)
    if value >= 10000:
        return f"{value / 10000:,.2f} 亿元"
    return f"{value:,.0f} 万元"


def register(app: Flask) -> None:
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(cn_date, "cn_date")
    app.add_template_filter(money, "money")
    app.jinja_env.globals.update(
        Role=Role, Stage=Stage, Level=Level, ProblemStatus=ProblemStatus, Source=Source,
        Satisfaction=Satisfaction, Action=Action, ESCALATION_LABELS=ESCALATION_LABELS,
        STATUS_COLOURS=STATUS_COLOURS, get_locale=get_locale,
    )
