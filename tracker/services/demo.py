"""The demo county (衡东县): 84 key projects worth 343.6 亿元, its departments and people, the
supervision-list templates, and three months of history driven through the workflow core."""
import random
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from .. import workflow
from ..calendar import TZ, WorkCalendar, load_calendar, local_today
from ..extensions import db
from ..models import guards
from ..risks.demo import add_demo_risks
from ..models import (ChecklistItem, ChecklistTemplate, CheckResult, Department, Level, Problem,
                      ProblemStatus, Project, Role, Source, Stage, StageChange,
                      SupervisorAssignment, User, Visit, VisitKind, utcnow, visit_problems)
from .users import create_user

# The published password of the demo accounts (demo data only).
DEMO_PASSWORD = "tracker2026"  # nosec B105
TOTAL_INVESTMENT_WAN = Decimal("3436000.00")  # 343.6 亿元, seed 004

DEPARTMENTS = [
    ("FGJ", "县发展和改革局"), ("ZRZYJ", "县自然资源局"), ("ZJJ", "县住房和城乡建设局"),
    ("CZJ", "县财政局"), ("SJJ", "县审计局"), ("GDGS", "国网衡东县供电公司"),
    ("STHJ", "县生态环境分局"), ("YJJ", "县应急管理局"), ("RSJ", "县人力资源和社会保障局"),
    ("JTJ", "县交通运输局"), ("SLJ", "县水利局"), ("SPJ", "县行政审批服务局"),
    ("SCJGJ", "县市场监督管理局"), ("GXJ", "县工业和信息化局"), ("JKQ", "衡东经济开发区管委会"),
    ("WLJ", "县文化旅游广电体育局"),
]

SUPERVISORS = [
    ("jjy_liu", "刘志强"), ("jjy_chen", "陈静"), ("jjy_wang", "王海波"), ("jjy_zhao", "赵敏"),
    ("jjy_li", "李俊"), ("jjy_zhou", "周丽华"), ("jjy_tan", "谭卫东"), ("jjy_yang", "阳晓燕"),
    ("jjy_xiao", "肖文斌"), ("jjy_he", "贺雪梅"), ("jjy_peng", "彭建国"), ("jjy_huang", "黄思远"),
]

CHECKLISTS = {
    Stage.signing: [
        "投资协议条款合法合规，权利义务对等",
        "无违规出台优惠政策、无超越权限作出承诺",
        "招商引资程序规范，项目准入评估到位",
        "签约承诺事项逐项建立台账、明确责任单位",
    ],
    Stage.approval: [
        "各项审批在法定时限内办结，无超时审批",
        "无“索拿卡要”、吃拿卡要、推诿扯皮",
        "用地供应依法依规，征地拆迁补偿到位",
        "水、电、气、路等要素保障按承诺落实",
        "“一件事一次办”、并联审批落实到位",
    ],
    Stage.construction: [
        "招标投标程序合规，无围标串标、规避招标",
        "无违法分包、转包和挂靠",
        "农民工工资按时足额支付，无欠薪",
        "安全生产责任和措施落实",
        "工程质量监管到位，材料检测合格",
        "施工进度按计划推进，滞后有说明",
        "涉企检查规范，落实企业宁静日",
    ],
    Stage.acceptance: [
        "竣工验收程序规范，资料齐全",
        "工程结算经审计，无高估冒算",
        "项目资金按时拨付，专款专用",
        "无拖欠企业账款和农民工工资",
    ],
}

# (name, level, category, responsible unit code, location)
PROJECTS = [
    ("衡东县印章产业园", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("衡东经开区标准化厂房（三期）", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("湘江衡东段防洪治理工程", "provincial", "基础设施", "SLJ", "湘江衡东段"),
    ("衡东县人民医院门急诊综合楼", "municipal", "社会民生", "ZJJ", "城关镇"),
    ("S315衡东段改扩建工程", "provincial", "基础设施", "JTJ", "大浦镇至新塘镇"),
    ("衡东县城乡供水一体化工程", "provincial", "基础设施", "SLJ", "全县"),
    ("洣水风光带建设项目", "municipal", "文旅项目", "WLJ", "城关镇洣水两岸"),
    ("衡东土菜文化产业园", "municipal", "文旅项目", "WLJ", "杨桥镇"),
    ("杨林镇农光互补光伏发电项目", "provincial", "能源项目", "FGJ", "杨林镇"),
    ("衡东县新能源汽车零部件产业园", "provincial", "产业项目", "JKQ", "衡东经开区"),
    ("草市镇200MW风电场", "provincial", "能源项目", "FGJ", "草市镇"),
    ("衡东县第一中学新校区", "municipal", "社会民生", "ZJJ", "城关镇"),
    ("衡东县城区老旧小区改造（2026年度）", "county", "城镇建设", "ZJJ", "城关镇"),
    ("衡东县污水处理厂提标扩能工程", "municipal", "生态环保", "STHJ", "城关镇"),
    ("衡东县静脉产业园", "municipal", "生态环保", "STHJ", "吴集镇"),
    ("衡东县电子信息产业园", "provincial", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县冷链物流中心", "county", "产业项目", "GXJ", "大浦镇"),
    ("衡东县中医医院康养中心", "county", "社会民生", "ZJJ", "城关镇"),
    ("衡东县全域旅游集散中心", "county", "文旅项目", "WLJ", "城关镇"),
    ("白莲镇高标准农田建设项目", "county", "农业农村", "FGJ", "白莲镇"),
    ("衡东县农产品精深加工产业园", "municipal", "产业项目", "GXJ", "新塘镇"),
    ("衡东县智慧城市一期", "county", "基础设施", "GXJ", "全县"),
    ("衡东经开区220千伏变电站", "provincial", "能源项目", "GDGS", "衡东经开区"),
    ("衡东县职业中专实训基地", "county", "社会民生", "RSJ", "城关镇"),
    ("衡东县殡仪馆迁建工程", "county", "社会民生", "ZJJ", "霞流镇"),
    ("衡东县城区停车场建设项目", "county", "城镇建设", "ZJJ", "城关镇"),
    ("衡东县应急物资储备库", "county", "社会民生", "YJJ", "城关镇"),
    ("洣水航道整治工程", "provincial", "基础设施", "JTJ", "洣水衡东段"),
    ("衡东县铝型材产业园", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县陶瓷新材料项目", "municipal", "产业项目", "GXJ", "大浦镇"),
    ("衡东县生物医药产业园", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县城东片区路网工程", "county", "基础设施", "ZJJ", "城关镇"),
    ("衡东县体育中心", "county", "社会民生", "WLJ", "城关镇"),
    ("衡东县妇幼保健院迁建", "municipal", "社会民生", "ZJJ", "城关镇"),
    ("衡东县天然气利用工程", "county", "能源项目", "FGJ", "全县"),
    ("新塘镇特色小镇建设", "county", "城镇建设", "ZJJ", "新塘镇"),
    ("衡东县油茶产业园", "county", "农业农村", "GXJ", "石湾镇"),
    ("衡东县水库除险加固工程", "municipal", "基础设施", "SLJ", "全县"),
    ("衡东县乡镇卫生院提质改造", "county", "社会民生", "ZJJ", "全县"),
    ("衡东县保障性租赁住房", "county", "城镇建设", "ZJJ", "城关镇"),
    ("衡东经开区污水管网工程", "county", "生态环保", "JKQ", "衡东经开区"),
    ("衡东县农村公路提质改造", "county", "基础设施", "JTJ", "全县"),
    ("衡东县城区供水管网改造", "county", "基础设施", "SLJ", "城关镇"),
    ("衡东县电商产业园", "county", "产业项目", "GXJ", "城关镇"),
    ("衡东县机械装备制造产业园", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("霞流镇储能电站项目", "municipal", "能源项目", "FGJ", "霞流镇"),
    ("衡东县文化艺术中心", "county", "文旅项目", "WLJ", "城关镇"),
    ("衡东县智能制造产业园", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县中小学校舍建设（2026年度）", "county", "社会民生", "ZJJ", "全县"),
    ("衡东县垃圾焚烧发电项目", "municipal", "生态环保", "STHJ", "吴集镇"),
    ("衡东县城区排水防涝工程", "county", "基础设施", "ZJJ", "城关镇"),
    ("衡东县湘江大桥维修加固", "county", "基础设施", "JTJ", "城关镇"),
    ("衡东县粮食仓储物流项目", "county", "产业项目", "FGJ", "大浦镇"),
    ("衡东县服装产业园", "county", "产业项目", "GXJ", "衡东经开区"),
    ("衡东县养老服务中心", "county", "社会民生", "RSJ", "城关镇"),
    ("衡东县城市更新示范片区", "municipal", "城镇建设", "ZJJ", "城关镇"),
    ("衡东县矿山生态修复工程", "county", "生态环保", "ZRZYJ", "石湾镇"),
    ("衡东县数字乡村建设", "county", "农业农村", "GXJ", "全县"),
    ("衡东县红色文化旅游区", "county", "文旅项目", "WLJ", "荣桓镇"),
    ("衡东县物流园二期", "county", "产业项目", "GXJ", "大浦镇"),
    ("衡东县城西片区土地整理", "county", "城镇建设", "ZRZYJ", "城关镇"),
    ("衡东县特色食品产业园", "county", "产业项目", "GXJ", "杨桥镇"),
    ("衡东县湿地公园", "county", "生态环保", "STHJ", "城关镇"),
    ("衡东县高铁站站前广场", "municipal", "基础设施", "ZJJ", "大浦镇"),
    ("衡东县消防救援站", "county", "社会民生", "YJJ", "城关镇"),
    ("衡东县林下经济示范基地", "county", "农业农村", "FGJ", "甘溪镇"),
    ("衡东县精密铸造项目", "county", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县公共实训中心", "county", "社会民生", "RSJ", "城关镇"),
    ("衡东县城乡客运一体化", "county", "基础设施", "JTJ", "全县"),
    ("衡东县新型建材产业园", "county", "产业项目", "GXJ", "吴集镇"),
    ("衡东县传统村落保护利用", "county", "文旅项目", "WLJ", "全县"),
    ("衡东县农村饮水安全巩固提升", "county", "农业农村", "SLJ", "全县"),
    ("衡东县电力线路改造升级", "county", "能源项目", "GDGS", "全县"),
    ("衡东县5G基站建设", "county", "基础设施", "GXJ", "全县"),
    ("衡东县光电显示材料项目", "municipal", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县中心城区绿道", "county", "生态环保", "ZJJ", "城关镇"),
    ("衡东县医疗器械产业园", "county", "产业项目", "JKQ", "衡东经开区"),
    ("衡东县综合档案馆", "county", "社会民生", "ZJJ", "城关镇"),
    ("衡东县茶产业提质工程", "county", "农业农村", "GXJ", "高湖镇"),
    ("衡东县应急指挥中心", "county", "社会民生", "YJJ", "城关镇"),
    ("衡东县再生资源回收利用项目", "county", "生态环保", "STHJ", "吴集镇"),
    ("衡东县消费品工业园", "county", "产业项目", "GXJ", "新塘镇"),
    ("衡东县城区学校扩容工程", "county", "社会民生", "ZJJ", "城关镇"),
    ("衡东县水上运动基地", "county", "文旅项目", "WLJ", "洣水衡东段"),
]

STAGE_MIX = ([Stage.signing] * 10 + [Stage.approval] * 16 + [Stage.construction] * 42
             + [Stage.acceptance] * 12 + [Stage.completed] * 4)

PROBLEMS = {
    Stage.signing: [
        ("协议约定的税收返还条款超出县级权限", "FGJ"),
        ("招商承诺的配套道路未列入年度计划", "ZJJ"),
        ("项目准入评估报告缺失能耗论证", "FGJ"),
    ],
    Stage.approval: [
        ("施工许可办理超过法定时限", "SPJ"),
        ("用地规划许可材料被要求重复提交", "ZRZYJ"),
        ("环评审批久拖未决", "STHJ"),
        ("征地补偿款未及时兑付，群众阻工", "ZRZYJ"),
        ("临时用电报装迟迟未接入", "GDGS"),
        ("消防设计审查反复退件", "ZJJ"),
    ],
    Stage.construction: [
        ("农民工工资未按月足额发放", "RSJ"),
        ("施工现场安全防护不到位", "YJJ"),
        ("疑似违法分包，项目经理长期不在岗", "ZJJ"),
        ("混凝土试块检测报告缺失", "ZJJ"),
        ("施工进度滞后计划两个月", "FGJ"),
        ("扬尘治理措施落实不到位", "STHJ"),
        ("多部门重复检查影响企业生产", "SCJGJ"),
        ("配套供水管网未按期接通", "SLJ"),
        ("招标文件设置排他性条款", "FGJ"),
    ],
    Stage.acceptance: [
        ("竣工结算审计滞后", "SJJ"),
        ("财政资金拨付不及时，拖欠企业工程款", "CZJ"),
        ("竣工验收资料不全", "ZJJ"),
        ("质保金逾期未退还", "CZJ"),
    ],
}

SEEN = ["项目现场施工有序，安全帽佩戴规范", "查阅了工资支付台账和考勤记录", "与业主单位座谈了解审批进展",
        "检查了质量检测报告和监理日志", "了解要素保障落实情况", "核实前期问题整改情况"]
PEOPLE = ["项目负责人", "业主单位代表", "施工单位项目经理", "监理工程师", "责任单位分管负责人", "企业负责人"]
FEEDBACK = ["已召开协调会，问题已解决", "已完成整改并提交佐证材料", "已督促施工单位落实到位",
            "已补齐相关手续", "款项已拨付到位"]


class _Clock:
    """Demo timestamps on working hours in Asia/Shanghai, never later than now."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng, self.now = rng, now

    def at(self, day: date) -> datetime:
        minutes = self.rng.randint(9 * 60, 17 * 60 + 30)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=TZ)
        return local.astimezone(TZ)


def database_is_empty() -> bool:
    return (db.session.scalar(sa.select(sa.func.count(User.id))) == 0 and
            db.session.scalar(sa.select(sa.func.count(Project.id))) == 0)


def clear() -> None:
    """Delete every row (for --force), children before parents. The append-only guard on the
    problem log is lifted for the wipe and put back in the same transaction."""
    connection = db.session.connection()
    guards.remove_event_guards(connection)
    for table in reversed(db.metadata.sorted_tables):
        if table.name != "alembic_version":
            db.session.execute(table.delete())
    guards.install_event_guards(connection)
    db.session.flush()
    db.session.expunge_all()


def demo_logins() -> str:
    dept = ", ".join(code.lower() for code, _ in DEPARTMENTS[:3])
    return (f"demo logins (password {DEMO_PASSWORD}):\n"
            f"  admin      县纪委监委 headquarters\n"
            f"  jjy_liu    项目纪检监察员 supervisor (also jjy_chen, jjy_wang …)\n"
            f"  gdgs       国网衡东县供电公司 department liaison (also {dept} …)\n"
            f"  leader     县领导 viewer")


def load(force: bool = False, today: date | None = None, seed: int = 2026) -> str:
    if force:
        clear()
    # A seeded generator: reproducible demo data, nothing secret.
    rng = random.Random(seed)  # nosec B311
    now = utcnow()
    today = today or local_today(now)
    calendar = load_calendar(db.session)
    clock = _Clock(rng, now)

    departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS}
    db.session.add_all(departments.values())
    db.session.flush()
    admin = create_user("admin", Role.admin, DEMO_PASSWORD, name="县纪委监委优化办")
    create_user("leader", Role.viewer, DEMO_PASSWORD, name="县委副书记 肖明")
    supervisors = [create_user(u, Role.supervisor, DEMO_PASSWORD, name=n) for u, n in SUPERVISORS]
    liaisons = {code: create_user(code.lower(), Role.department, DEMO_PASSWORD,
                                  name=f"{name}联络员", department_id=dept.id)
                for (code, name), dept in zip(DEPARTMENTS, departments.values())}

    templates = {}
    for stage, lines in CHECKLISTS.items():
        templates[stage] = [ChecklistTemplate(stage=stage, text=t, position=i)
                            for i, t in enumerate(lines)]
        db.session.add_all(templates[stage])
    db.session.flush()

    projects = _projects(rng, today, clock, admin, supervisors, templates)
    problems = _history(rng, today, now, clock, calendar, admin, projects, departments, liaisons)
    _transformer_story(today, now, clock, calendar, projects[0], departments, liaisons, admin)
    risks = add_demo_risks(rng, now)
    db.session.flush()
    total = db.session.scalar(sa.select(sa.func.sum(Project.investment_wan)))
    return (f"loaded the demo county: {len(projects)} key projects worth {total / 10000:.1f} 亿元, "
            f"{len(departments)} departments, {len(supervisors)} supervisors, "
            f"{problems + 1} problems, {risks} risk points\n{demo_logins()}")


def _investments(rng: random.Random, n: int) -> list[Decimal]:
    weights = [rng.lognormvariate(0, 0.9) for _ in range(n)]
    scale = TOTAL_INVESTMENT_WAN / Decimal(str(sum(weights)))
    amounts = [(Decimal(str(w)) * scale).quantize(Decimal("0.01"), ROUND_HALF_UP) for w in weights]
    amounts[-1] += TOTAL_INVESTMENT_WAN - sum(amounts)
    return amounts


def _projects(rng, today, clock, admin, supervisors, templates) -> list[Project]:
    stages = STAGE_MIX[:]
    rng.shuffle(stages)
    stages[0] = Stage.construction  # the seal industrial park is being built (seed 004)
    amounts = _investments(rng, len(PROJECTS))
    projects = []
    for i, ((name, level, category, unit, location), stage, amount) in enumerate(
            zip(PROJECTS, stages, amounts), start=1):
        project = Project(
            code=f"HD2026{i:03d}", name=name, level=Level(level), category=category,
            investment_wan=amount, responsible_unit=dict(DEPARTMENTS)[unit],
            owner=f"{name.removeprefix('衡东县').removeprefix('衡东')}建设指挥部",
            location=f"衡阳市衡东县{location}", stage=stage,
            lat=27.08 + rng.uniform(-0.08, 0.08), lon=112.95 + rng.uniform(-0.1, 0.1),
            quiet_days_apply=category == "产业项目" and stage in (Stage.acceptance, Stage.completed),
            created_at=clock.at(today - timedelta(days=400)))
        db.session.add(project)
        db.session.flush()
        supervisor = supervisors[(i - 1) % len(supervisors)]
        db.session.add(SupervisorAssignment(
            project_id=project.id, user_id=supervisor.id, assigned_by_id=admin.id,
            started_at=clock.at(today - timedelta(days=380))))
        # Stage history: signing a year ago, then each later stage.
        reached = list(Stage)[:stage.order + 1]
        day = today - timedelta(days=365)
        previous = None
        for step, to_stage in enumerate(reached):
            db.session.add(StageChange(project_id=project.id, from_stage=previous, to_stage=to_stage,
                                       changed_on=day, actor_id=admin.id, at=clock.at(day),
                                       note="纳入县重点项目" if step == 0 else "按计划进入下一阶段"))
            previous = to_stage
            day += timedelta(days=rng.randint(40, 110))
            day = min(day, today - timedelta(days=95 - step))
        for passed in reached[:-1]:  # earlier stages' lists were worked through
            for template in templates.get(passed, []):
                db.session.add(ChecklistItem(
                    project_id=project.id, template_id=template.id, stage=passed,
                    text=template.text, position=template.position, result=CheckResult.ok,
                    note="已核查", checked_by_id=supervisor.id,
                    checked_at=clock.at(today - timedelta(days=rng.randint(100, 300)))))
        if stage in templates:
            for template in templates[stage]:
                checked = rng.random() < 0.6
                db.session.add(ChecklistItem(
                    project_id=project.id, template_id=template.id, stage=stage,
                    text=template.text, position=template.position,
                    result=CheckResult.ok if checked else None,
                    note="已核查，未发现问题" if checked else "",
                    checked_at=clock.at(today - timedelta(days=rng.randint(3, 80))) if checked else None,
                    checked_by_id=supervisor.id if checked else None))
        projects.append(project)
    db.session.flush()
    return projects


def _visit(project, supervisor, day, kind, clock, summary="", people="", lat_lon=None) -> Visit:
    visit = Visit(project_id=project.id, supervisor_id=supervisor.id, visited_on=day, kind=kind,
                  stage=project.stage, people_met=people, summary=summary,
                  lat=lat_lon[0] if lat_lon else None, lon=lat_lon[1] if lat_lon else None,
                  created_at=clock.at(day))
    db.session.add(visit)
    db.session.flush()
    return visit


def _link(visit: Visit, problem: Problem, role: str, outcome: str | None = None) -> None:
    db.session.execute(visit_problems.insert().values(visit_id=visit.id, problem_id=problem.id,
                                                      role=role, outcome=outcome))


def _history(rng, today, now, clock, calendar: WorkCalendar, admin, projects, departments,
             liaisons) -> int:
    start = today - timedelta(days=90)
    supervisor_of = {p.id: p.current_assignment.user for p in projects}
    # Routine visits: about every two weeks, except for a few stale projects.
    stale = set(rng.sample([p.id for p in projects[1:]], 6))
    for project in projects:
        until = today - timedelta(days=rng.randint(35, 60)) if project.id in stale else today
        day = start + timedelta(days=rng.randint(0, 10))
        while day <= until:
            _visit(project, supervisor_of[project.id], day, VisitKind.routine, clock,
                   summary=rng.choice(SEEN), people=rng.choice(PEOPLE),
                   lat_lon=(project.lat, project.lon))
            day += timedelta(days=rng.randint(10, 18))

    count = 0
    active = [p for p in projects if p.stage in PROBLEMS]
    outcomes = (["closed"] * 45 + ["rectified"] * 10 + ["rectifying"] * 13 + ["assigned"] * 9
                + ["open"] * 8 + ["withdrawn"] * 5 + ["reopened"] * 7 + ["overdue"] * 6)
    for _ in range(150):
        project = rng.choice(active)
        supervisor = supervisor_of[project.id]
        title, dept_code = rng.choice(PROBLEMS[project.stage])
        outcome = rng.choice(outcomes)
        # Work still in hand was mostly registered lately; older problems are mostly done.
        recent = outcome in ("open", "assigned", "rectifying", "rectified")
        day = start + timedelta(days=rng.randint(79 if recent else 0, 87))
        source = rng.choice([Source.visit, Source.visit, Source.checklist, Source.complaint,
                             Source.department_report])
        problem = workflow.record(project, supervisor, title=title, source=source,
                                  description=f"{project.name}：{title}。", at=clock.at(day))
        count += 1
        if source is Source.visit:
            _link(_visit(project, supervisor, day, VisitKind.special, clock,
                         summary=f"现场发现：{title}", people=rng.choice(PEOPLE)), problem, "raised")
        if outcome == "open":
            continue
        if outcome == "withdrawn":
            _act(problem, "withdraw", admin, day + timedelta(days=2), clock, now, calendar,
                 comment="经核实为重复登记")
            continue
        handling_class = 1 if "报装" in title or "退件" in title else rng.choice([5, 5, 5, 10])
        dept = departments[dept_code]
        liaison = liaisons[dept_code]
        day += timedelta(days=rng.randint(0, 2))
        if not _act(problem, "assign", supervisor, day, clock, now, calendar,
                    department_id=dept.id, handling_class=handling_class,
                    comment="请按“1510”时限办理"):
            continue
        if outcome == "assigned":
            continue
        day += timedelta(days=rng.randint(0, 2))
        accept = {"plan": "制定专项整改方案，分步落实", "planned_on":
                  calendar.add_working_days(day, rng.randint(12, 25)).isoformat()} \
            if handling_class == 10 else {}
        if not _act(problem, "accept", liaison, day, clock, now, calendar, **accept):
            continue
        if outcome == "overdue":
            if rng.random() < 0.5:
                _act(problem, "escalate", admin, problem.due_on + timedelta(days=2), clock, now,
                     calendar, level=rng.choice([1, 2]), comment="逾期未整改，予以督办")
            continue
        if outcome == "rectifying":
            if rng.random() < 0.3:
                _act(problem, "request_extension", liaison, day + timedelta(days=1), clock, now,
                     calendar, requested_due_on=(problem.due_on + timedelta(days=10)).isoformat(),
                     comment="需协调上级部门，申请延期")
            continue
        late = rng.random() < 0.25
        due = problem.due_on
        report_day = due + timedelta(days=rng.randint(1, 6)) if late else \
            max(day, due - timedelta(days=rng.randint(0, 3)))
        if not _act(problem, "report", liaison, report_day, clock, now, calendar,
                    comment=rng.choice(FEEDBACK)):
            continue
        if outcome == "rectified":
            continue
        revisit_day = report_day + timedelta(days=rng.randint(1, 4))
        visit_at = clock.at(revisit_day)
        if visit_at > now:
            continue
        visit = _visit(project, supervisor, revisit_day, VisitKind.revisit, clock,
                       summary=f"回访：{title}", people="企业负责人")
        _link(visit, problem, "revisited", "reopen" if outcome == "reopened" else "close")
        if outcome == "reopened":
            _act(problem, "reopen", supervisor, revisit_day, clock, now, calendar,
                 comment="回访发现整改不彻底，企业不满意", satisfaction="dissatisfied")
            continue
        _act(problem, "close", supervisor, revisit_day, clock, now, calendar,
             satisfaction=rng.choice(["very_satisfied", "satisfied", "satisfied", "basic"]),
             comment="回访核实已整改到位，予以销号")
    return count


def _act(problem, action, actor, day, clock, now, calendar, **fields) -> bool:
    """Apply one action at a time on `day`, unless that is still in the future."""
    at = clock.at(day)
    if at > now:
        return False
    if problem.updated_at and at <= problem.updated_at:
        at = problem.updated_at + timedelta(minutes=30)
        if at > now:
            return False
    workflow.apply(problem, action, actor, at=at, calendar=calendar, **fields)
    return True


def _transformer_story(today, now, clock, calendar, project, departments, liaisons, admin):
    """Seed 004: the seal industrial park's transformer purchase was blocked; the commission
    brought the project HQ, the contractor and the supplier together, and it was solved."""
    supervisor = project.current_assignment.user
    start = today - timedelta(days=40)
    problem = workflow.record(
        project, supervisor, title="变压器采购受阻，影响园区通电投产", source=Source.complaint,
        description="印章产业园负责人王根生反映：园区专用变压器采购受阻，供应商迟迟不能供货，"
                    "影响厂房通电和企业按期投产。", at=clock.at(start))
    visit = _visit(project, supervisor, start, VisitKind.routine, clock,
                   summary="企业反映变压器采购受阻，现场核实供电接入方案和采购合同",
                   people="印章产业园负责人王根生、项目指挥部", lat_lon=(project.lat, project.lon))
    _link(visit, problem, "raised")
    dept = departments["GDGS"]
    liaison = liaisons["GDGS"]
    _act(problem, "assign", supervisor, start + timedelta(days=1), clock, now, calendar,
         department_id=dept.id, handling_class=10, co_department_ids=[departments["JKQ"].id],
         comment="请牵头组织项目指挥部、承建方和供应商协调解决")
    _act(problem, "accept", liaison, start + timedelta(days=3), clock, now, calendar,
         plan="组织项目指挥部、承建方和供应商三方座谈协调，明确供货时间和临时用电方案",
         planned_on=calendar.add_working_days(start + timedelta(days=3), 15).isoformat(),
         comment="已签收，三方座谈定于下周一")
    _act(problem, "report", liaison, start + timedelta(days=18), clock, now, calendar,
         comment="三方座谈后供应商已发货，变压器安装调试完毕，园区已正式通电")
    revisit_day = start + timedelta(days=21)
    revisit = _visit(project, supervisor, revisit_day, VisitKind.revisit, clock,
                     summary="跟踪回访：变压器已安装通电，企业对协调结果表示感谢",
                     people="印章产业园负责人王根生", lat_lon=(project.lat, project.lon))
    _link(revisit, problem, "revisited", "close")
    _act(problem, "close", supervisor, revisit_day, clock, now, calendar,
         satisfaction="very_satisfied", comment="回访核实已通电投产，企业非常满意，予以销号")
