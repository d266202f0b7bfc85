"""Template globals and filters: labels, dates in Asia/Shanghai, money in 万元/亿元."""
from datetime import date, datetime
from decimal import Decimal

from flask import Flask
from flask_babel import get_locale

from .calendar import TZ
from .models import (ESCALATION_LABELS, Action, Level, ProblemStatus, Role, Satisfaction, Source,
                     Stage)
from .models.problem import STATUS_COLOURS
from .paging import count_label


def _english() -> bool:
    """The English locale shows ISO dates and CNY amounts instead of 年月日 and 万元/亿元."""
    locale = get_locale()
    return locale is not None and locale.language == "en"


def local_dt(value: datetime | None) -> str:
    if value is None:
        return ""
    if _english():
        return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    return value.astimezone(TZ).strftime("%Y年%m月%d日 %H:%M")


def cn_date(value: date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # an ISO date kept in an event's JSON data
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if _english():
        return value.isoformat()
    return f"{value.year}年{value.month}月{value.day}日"


def short_date(value: date | None) -> str:
    """A date without its year in Chinese (11月29日), the ISO date in English."""
    if value is None:
        return ""
    if _english():
        return value.isoformat()
    return f"{value.month}月{value.day}日"


def money(value: Decimal | None) -> str:
    """万元, shown in 亿元 from 10,000 万元 up."""
    if value is None:
        return ""
    value = Decimal(value)
    if _english():  # 1 万元 = 10,000 CNY; 1 亿元 = 100 million CNY
        if value >= 100000:
            return f"CNY {value / 100000:,.2f} billion"
        if value >= 100:
            return f"CNY {value / 100:,.1f} million"
        return f"CNY {value * 10000:,.0f}"
    if value >= 10000:
        return f"{value / 10000:,.2f} 亿元"
    return f"{value:,.0f} 万元"


def register(app: Flask) -> None:
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(cn_date, "cn_date")
    app.add_template_filter(short_date, "short_date")
    app.add_template_filter(money, "money")
    app.add_template_filter(count_label, "count_label")
    app.jinja_env.globals.update(
        Role=Role, Stage=Stage, Level=Level, ProblemStatus=ProblemStatus, Source=Source,
        Satisfaction=Satisfaction, Action=Action, ESCALATION_LABELS=ESCALATION_LABELS,
        STATUS_COLOURS=STATUS_COLOURS, get_locale=get_locale,
    )
