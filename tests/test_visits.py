"""Field visits: a supervisor logs a visit from the phone form — new problems, revisit outcomes
and photos in one submission, all or nothing — and the history pages read it back."""
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from tracker.calendar import local_today
from tracker.models import (Attachment, AuditEntry, Problem, ProblemEvent, ProblemStatus, Source,
                            Visit, visit_problems)
from tracker.services import visits as visit_service

S = ProblemStatus


def jpeg(size=(800, 600), colour="green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def last_day_of_month_with(day: int) -> date:
    """The latest date not after today whose day of the month is `day`."""
    today = local_today()
    candidate = today.replace(day=day) if today.day >= day else \
        (today.replace(day=1) - timedelta(days=1)).replace(day=day)
    return candidate


@pytest.fixture
def site(make_user, make_project, make_department, make_problem):
    """A supervisor's project with two problems awaiting revisit and one still being rectified."""
    supervisor = make_user("supervisor", name="王监察")
    dept = make_department(name="住建局")
    project = make_project(supervisor=supervisor, name="城南污水处理厂", lat=27.08, lon=112.95)
    fixed = make_problem(project, S.rectified, department=dept, title="工地围挡缺失")
    not_fixed = make_problem(project, S.rectified, department=dept, title="农民工工资未按月发放")
    busy = make_problem(project, S.rectifying, department=dept, title="安全网破损")
    return dict(supervisor=supervisor, project=project, fixed=fixed, not_fixed=not_fixed,
                busy=busy, dept=dept)


def form_data(site, **overrides) -> dict:
    data = {
        "project_id": str(site["project"].id),
        "visited_on": local_today().isoformat(),
        "kind": "revisit",
        "people_met": "项目经理张某",
        "summary": "现场查看围挡和工资发放台账",
        "lat": "27.0801", "lon": "112.9502",
        "new_problems-0-title": "",
        "revisits-0-problem_id": str(site["fixed"].id),
        "revisits-0-outcome": "close",
        "revisits-0-satisfaction": "satisfied",
        "revisits-0-comment": "围挡已恢复",
        "revisits-1-problem_id": str(site["not_fixed"].id),
        "revisits-1-outcome": "reopen",
        "revisits-1-satisfaction": "dissatisfied",
        "revisits-1-comment": "10月工资仍未发放",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts(db):
    return {
        "visits": db.session.scalar(sa.select(sa.func.count(Visit.id))),
        "problems": db.session.scalar(sa.select(sa.func.count(Problem.id))),
        "events": db.session.scalar(sa.select(sa.func.count(ProblemEvent.id))),
        "links": db.session.scalar(sa.select(sa.func.count()).select_from(visit_problems)),
        "attachments": db.session.scalar(sa.select(sa.func.count(Attachment.id))),
    }


def stored_files(app) -> list:
    from pathlib import Path
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_form_offers_own_projects_and_the_problems_awaiting_revisit(db, site, login, client,
                                                                     make_project, make_user):
    other = make_project(supervisor=make_user("supervisor"), name="别人的项目")
    login(site["supervisor"])
    page = client.get("/visits/new").get_data(as_text=True)  # one project: chosen already
    assert "城南污水处理厂" in page and "别人的项目" not in page
    assert "工地围挡缺失" in page and "农民工工资未按月发放" in page
    assert "安全网破损" not in page  # still being rectified: nothing to revisit
    assert 'capture="environment"' in page and 'accept="image/*,application/pdf"' in page
    assert "<script>" not in page.replace("<script src=", "")
    # Someone else's project cannot be chosen, even by hand.
    response = client.post("/visits/new", data=form_data(site, project_id=str(other.id)))
    assert response.status_code == 400
    assert counts(db)["visits"] == 0


def test_one_submission_logs_visit_new_problem_closes_and_reopens(app, db, site, login, client):
    login(site["supervisor"])
    data = form_data(site, **{"new_problems-0-title": "深基坑未设置警示标志",
                              "new_problems-0-description": "东侧基坑",
                              "new_problems-0-handling_class": "5"})
    data["photos"] = [(io.BytesIO(jpeg()), "现场1.jpg"), (io.BytesIO(jpeg(colour="blue")), "现场2.jpg")]
    response = client.post("/visits/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    visit = db.session.scalars(sa.select(Visit)).one()
    assert response.headers["Location"].endswith(f"/visits/{visit.id}?saved=1")
    assert visit.supervisor_id == site["supervisor"].id and visit.stage == site["project"].stage
    assert visit.far_from_site is False and visit.lat == pytest.approx(27.0801)

    fixed, not_fixed = db.session.get(Problem, site["fixed"].id), db.session.get(Problem, site["not_fixed"].id)
    assert fixed.status is S.closed and fixed.satisfaction.value == "satisfied"
    assert not_fixed.status is S.rectifying
    reopen = db.session.scalars(sa.select(ProblemEvent).where(
        ProblemEvent.problem_id == not_fixed.id).order_by(ProblemEvent.id.desc())).first()
    assert reopen.action.value == "reopen" and reopen.comment == "10月工资仍未发放"
    assert reopen.actor_id == site["supervisor"].id

    new = visit.raised_problems
    assert [p.title for p in new] == ["深基坑未设置警示标志"]
    assert new[0].source is Source.visit and new[0].handling_class == 5 and new[0].status is S.open
    assert {p.id for p in visit.revisited_problems} == {fixed.id, not_fixed.id}
    assert visit_service.revisit_outcomes([visit]) == {(visit.id, fixed.id): "close",
                                                       (visit.id, not_fixed.id): "reopen"}
    assert len(visit.attachments) == 2 and len(stored_files(app)) == 4  # 2 files + 2 thumbnails
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "visit.create")).one()
    assert entry.object_id == visit.id and entry.detail["revisited"] == {
        str(fixed.id): "closed", str(not_fixed.id): "rectifying"}

    page = client.get(f"/visits/{visit.id}?saved=1").get_data(as_text=True)
    assert "data-visit-saved" in page and "深基坑未设置警示标志" in page and "已销号" in page


def test_a_reopen_without_reason_writes_nothing(app, db, site, login, client):
    login(site["supervisor"])
    before = counts(db)
    data = form_data(site, **{"revisits-1-comment": "",
                              "new_problems-0-title": "新问题不应落库"})
    data["photos"] = [(io.BytesIO(jpeg()), "现场.jpg")]
    response = client.post("/visits/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    # The message sits beside the reason field of that problem, and the typed text comes back.
    assert re.search(r'id="revisits-1-comment"[^>]*>\s*</textarea>\s*<div class="invalid-feedback d-block">'
                     r'重新整改须说明原因', page)
    assert "新问题不应落库" in page and "照片和文件未保存" in page
    assert counts(db) == before
    assert db.session.get(Problem, site["fixed"].id).status is S.rectified  # not closed either
    assert stored_files(app) == []


def test_close_with_dissatisfied_rating_is_refused_beside_the_rating(db, site, login, client):
    login(site["supervisor"])
    before = counts(db)
    response = client.post("/visits/new", data=form_data(site, **{
        "revisits-0-satisfaction": "dissatisfied"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'id="revisits-0-satisfaction".*?</select>\s*<div[^>]*data-fail-hint>.*?</div>\s*'
                     r'<div class="invalid-feedback d-block">[^<]*不能销号', page, re.S)
    assert counts(db) == before


def test_a_problem_closed_meanwhile_refuses_the_whole_visit(db, site, login, client, admin):
    """The form was opened, then headquarters closed one of its problems: nothing is written."""
    login(site["supervisor"])
    before = counts(db)
    from tracker import workflow
    workflow.apply(db.session.get(Problem, site["fixed"].id), "close", admin, satisfaction="basic")
    db.session.commit()
    response = client.post("/visits/new", data=form_data(site))
    assert response.status_code == 400
    assert "不在待回访" in response.get_data(as_text=True)
    after = counts(db)
    assert after["visits"] == before["visits"] and after["links"] == before["links"]
    assert db.session.get(Problem, site["not_fixed"].id).status is S.rectified


def test_every_bad_field_is_named_at_once(db, site, login, client):
    login(site["supervisor"])
    response = client.post("/visits/new", data=form_data(site, **{
        "summary": "", "lat": "999", "revisits-0-satisfaction": "",
        "new_problems-0-description": "只写了描述"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for message in ("请填写走访情况", "纬度无效", "销号须填写企业满意度", "请填写问题标题",
                    "走访记录未保存"):
        assert message in page
    assert counts(db)["visits"] == 0


def test_quiet_day_visit_needs_an_exemption_which_is_kept(db, site, login, client):
    project = site["project"]
    project.quiet_days_apply = True
    db.session.commit()
    login(site["supervisor"])
    quiet_day = last_day_of_month_with(10)
    data = form_data(site, visited_on=quiet_day.isoformat())
    page = client.get(f"/visits/new?project_id={project.id}").get_data(as_text=True)
    assert "企业宁静日" in page
    response = client.post("/visits/new", data=data)
    assert response.status_code == 400
    assert "须选择例外情形" in response.get_data(as_text=True)
    response = client.post("/visits/new", data={**data, "quiet_day_exemption": "complaint"})
    assert response.status_code == 302
    visit = db.session.scalars(sa.select(Visit)).one()
    assert visit.quiet_day_exemption.value == "complaint"
    # Outside the 6th–25th no exemption is asked for (and none is stored).
    ordinary = last_day_of_month_with(3)
    response = client.post("/visits/new", data=form_data(
        site, visited_on=ordinary.isoformat(), kind="routine", **{
            "revisits-0-outcome": "", "revisits-1-outcome": ""}))
    assert response.status_code == 302
    latest = db.session.scalars(sa.select(Visit).order_by(Visit.id.desc())).first()
    assert latest.quiet_day_exemption is None


def test_visit_far_from_the_project_is_flagged_for_headquarters(db, site, login, client, admin):
    login(site["supervisor"])
    # ~5.5 km north of the project's recorded position
    response = client.post("/visits/new", data=form_data(site, lat="27.13", lon="112.95"))
    assert response.status_code == 302
    visit = db.session.scalars(sa.select(Visit)).one()
    assert visit.far_from_site is True
    assert visit_service.distance_m(27.13, 112.95, 27.08, 112.95) == pytest.approx(5560, rel=0.01)
    assert "约 5.6 公里" in client.get(f"/visits/{visit.id}").get_data(as_text=True)
    client.post("/logout")
    login(admin)
    page = client.get("/visits/activity").get_data(as_text=True)
    assert "登记位置远离项目地点的走访" in page and f"/visits/{visit.id}" in page
    assert "远离项目地点" in client.get("/visits/?far=1").get_data(as_text=True)


def test_visit_date_in_the_future_is_refused(db, site, login, client):
    login(site["supervisor"])
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = client.post("/visits/new", data=form_data(site, visited_on=tomorrow))
    assert response.status_code == 400 and "走访日期不能晚于今天" in response.get_data(as_text=True)


def test_who_may_log_and_see_visits(db, site, login, client, make_user, make_department):
    viewer = make_user("viewer")
    dept_user = make_user("department", department=site["dept"])
    login(site["supervisor"])
    assert client.post("/visits/new", data=form_data(site)).status_code == 302
    visit_id = db.session.scalar(sa.select(Visit.id))
    client.post("/logout")

    login(viewer)
    assert client.get("/visits/new").status_code == 403
    assert client.get(f"/visits/{visit_id}").status_code == 200
    client.post("/logout")
    login(dept_user)
    assert client.get(f"/visits/{visit_id}").status_code == 403
    client.post("/logout")
    stranger = make_user("supervisor")
    login(stranger)
    assert client.get(f"/visits/{visit_id}").status_code == 404
    assert "城南污水处理厂" not in client.get("/visits/").get_data(as_text=True)


def test_my_visits_lists_only_mine(db, site, login, client, make_project, make_user):
    login(site["supervisor"])
    client.post("/visits/new", data=form_data(site, summary="我的走访记录甲"))
    other_sup = make_user("supervisor")
    other = make_project(supervisor=other_sup)
    db.session.add(Visit(project_id=other.id, supervisor_id=other_sup.id, visited_on=local_today(),
                         kind="routine", stage=other.stage, summary="别人的走访记录乙"))
    db.session.commit()
    page = client.get("/visits/").get_data(as_text=True)
    assert "我的走访" in page and "我的走访记录甲" in page and "别人的走访记录乙" not in page


def test_project_timeline_panel(db, site, login, client, admin):
    login(site["supervisor"])
    client.post("/visits/new", data=form_data(site, **{"new_problems-0-title": "新发现的问题"}))
    panel = visit_service.project_timeline(site["project"])
    assert len(panel) == 1
    from tracker.visits.panels import visits_panel
    context = visits_panel(site["project"], site["supervisor"])
    assert context["can_log"] and context["awaiting_revisit"] == 0
    assert visits_panel(site["project"], admin)["can_log"]
    page = client.get(f"/projects/{site['project'].id}").get_data(as_text=True)
    if 'id="visits-panel"' in page:  # the project page includes the panel (projects area)
        assert "新发现的问题" in page and "工地围挡缺失" in page


def test_headquarters_weekly_activity_and_stale_projects(db, make_user, make_project, login,
                                                         client, admin):
    today = local_today()
    monday = today - timedelta(days=today.weekday())
    a, b = make_user("supervisor", name="甲监察"), make_user("supervisor", name="乙监察")
    pa, pb = make_project(supervisor=a, name="常走项目"), make_project(supervisor=b, name="久未走访项目")
    never = make_project(supervisor=b, name="从未走访项目")
    for day, who, project in [(monday, a, pa), (monday + timedelta(days=min(today.weekday(), 6)), a, pa),
                              (monday - timedelta(days=1), a, pa),      # Sunday: the week before
                              (monday - timedelta(days=7), b, pa),
                              (today - timedelta(days=45), b, pb)]:
        db.session.add(Visit(project_id=project.id, supervisor_id=who.id, visited_on=day,
                             kind="routine", stage=project.stage, summary="例行走访"))
    db.session.commit()

    weekly = visit_service.visits_per_supervisor_per_week(weeks=8, today=today)
    rows = {user.name: (per_week, total) for user, per_week, total in weekly.rows}
    assert weekly.weeks[-1] == monday and len(weekly.weeks) == 8
    assert rows["甲监察"][0] == {monday: 2, monday - timedelta(days=7): 1}
    assert rows["乙监察"][0].get(monday - timedelta(days=7)) == 1
    stale = {row.project.name: row for row in visit_service.projects_without_recent_visit(today=today)}
    assert set(stale) == {"久未走访项目", "从未走访项目"}
    assert stale["久未走访项目"].days_since == 45 and stale["从未走访项目"].last_visit_on is None

    login(admin)
    page = client.get("/visits/activity").get_data(as_text=True)
    assert "甲监察" in page and "从未走访" in page and "久未走访项目" in page
    client.post("/logout")
    login(a)
    assert client.get("/visits/activity").status_code == 403


def test_pages_run_a_bounded_number_of_queries(db, site, login, client, make_problem):
    from sqlalchemy import event
    login(site["supervisor"])
    for n in range(2):
        client.post("/visits/new", data=form_data(site, summary=f"第{n}次", **{
            "revisits-0-outcome": "", "revisits-1-outcome": "",
            "new_problems-0-title": f"问题{n}"}))

    def queries_for(url):
        seen = []
        engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = queries_for("/visits/")
    for n in range(2, 8):
        client.post("/visits/new", data=form_data(site, summary=f"第{n}次", **{
            "revisits-0-outcome": "", "revisits-1-outcome": "",
            "new_problems-0-title": f"问题{n}"}))
    assert queries_for("/visits/") == few


def test_the_visit_re_rates_a_risk_point_or_writes_nothing(db, site, login, client):
    from tracker.models import Risk, RiskChange
    from tracker.services import risks
    risk = risks.create_risk(site["supervisor"], site["project"], title="土方外运可能引发纠纷",
                             category="land", level="medium")
    db.session.commit()
    login(site["supervisor"])
    page = client.get(f"/visits/new?project_id={site['project'].id}").get_data(as_text=True)
    assert f'name="risks-{risk.id}-level"' in page and "土方外运可能引发纠纷" in page
    changes_before = db.session.scalar(sa.select(sa.func.count(RiskChange.id)))

    raised = {f"risks-{risk.id}-level": "high", f"risks-{risk.id}-status": "watching",
              f"risks-{risk.id}-version": str(risk.version)}
    response = client.post("/visits/new", data=form_data(site, **raised))  # no reason given
    assert response.status_code == 400
    assert re.search(rf'is-invalid" id="risks-{risk.id}-reason"', response.get_data(as_text=True))
    assert counts(db)["visits"] == 0
    assert db.session.scalar(sa.select(sa.func.count(RiskChange.id))) == changes_before

    response = client.post("/visits/new", data=form_data(site, **raised, **{
        f"risks-{risk.id}-reason": "村民阻工，外运受阻"}))
    assert response.status_code == 302
    visit = db.session.scalars(sa.select(Visit)).one()
    assert db.session.get(Risk, risk.id).level.value == "high"
    change = db.session.scalars(sa.select(RiskChange).order_by(RiskChange.id.desc())).first()
    assert change.visit_id == visit.id and change.reason == "村民阻工，外运受阻"
