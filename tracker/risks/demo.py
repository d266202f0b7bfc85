"""Demo risk registers: a few risk points per supervised project with eight weeks of history,
written through the risk service so every level and status carries its reasons."""
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Project, Role, SupervisorAssignment, User, utcnow
from ..services import risks as service

# (category, title, description, reason it rises, reason it eases)
CATALOGUE = [
    ("land", "征地拆迁补偿未谈妥", "部分农户对补偿标准有异议，可能引发阻工。",
     "村民到工地阻工", "补偿协议全部签订"),
    ("funding", "项目资本金到位不足", "业主单位资本金到位率不足六成，后续工程款支付存在缺口。",
     "第二批资金未按期到位", "专项债资金已拨付"),
    ("tender", "招标文件设置排他性条款", "资格条件疑似量身定制，存在围标串标风险。",
     "收到投标人异议", "已修改招标文件重新公告"),
    ("safety", "深基坑支护方案未经论证", "基坑深度超过五米，专项方案尚未组织专家论证。",
     "现场发现无支护开挖", "专家论证通过并按方案施工"),
    ("wages", "农民工工资支付风险", "总包工资专户余额不足，分包班组工资发放不及时。",
     "班组反映两个月未发工资", "欠薪已全部清偿"),
    ("settlement", "竣工结算审计滞后", "结算送审资料不全，审计排期靠后，企业回款受影响。",
     "审计意见与施工方差异较大", "结算审计报告已出具"),
    ("integrity", "项目审批环节廉洁风险", "审批事项集中在个别经办人手中，存在吃拿卡要隐患。",
     "企业反映办事多次往返", "已实行帮代办和限时办结"),
]
LEVELS = ["low", "medium", "high"]


def add_demo_risks(rng: random.Random, now: datetime | None = None, weeks: int = 8) -> int:
    """Give supervised projects 0–3 risks each with re-ratings over the last `weeks` weeks.

    Returns the number of risks written. Flushes, never commits.
    """
    now = now or utcnow()
    admin = db.session.scalar(sa.select(User).where(User.role == Role.admin).order_by(User.id))
    rows = db.session.execute(
        sa.select(Project, User).join(SupervisorAssignment, sa.and_(
            SupervisorAssignment.project_id == Project.id, SupervisorAssignment.ended_at.is_(None)))
        .join(User, User.id == SupervisorAssignment.user_id).order_by(Project.id)).all()
    written = 0
    for project, supervisor in rows:
        for category, title, description, worse, better in rng.sample(CATALOGUE, rng.randint(0, 3)):
            at = now - timedelta(days=rng.randint(7, weeks * 7), hours=rng.randint(0, 8))
            level = rng.choice(LEVELS)
            risk = service.create_risk(supervisor, project, title=title, description=description,
                                       category=category, level=level, reason="日常监督中发现",
                                       at=at)
            written += 1
            for _step in range(rng.randint(0, 3)):
                at += timedelta(days=rng.randint(2, 12), hours=rng.randint(0, 6))
                if at >= now:
                    break
                rank = LEVELS.index(risk.level.value)
                if rank < 2 and rng.random() < 0.5:
                    service.change_risk(supervisor, risk, level=LEVELS[rank + 1], reason=worse,
                                        at=at)
                elif rng.random() < 0.35:
                    service.change_risk(supervisor if rng.random() < 0.8 else admin or supervisor,
                                        risk, status="closed", reason=better, at=at)
                    break
                elif rank > 0:
                    service.change_risk(supervisor, risk, level=LEVELS[rank - 1],
                                        status="mitigated", reason=better, at=at)
    db.session.flush()
    return written
