"""The English locale: every source string has its translation, a user who switches to English
reads each role's main pages without a Chinese word in the page chrome, and is refused (on a page
or through the API) in English, while the audit keeps the refusal in Chinese. A static guard keeps
Chinese literals in the services, the API, the workflow and the error handlers inside gettext.

Chinese is the source language; translations/en/LC_MESSAGES/messages.po is the English catalog
(`make messages` re-extracts, `make translations` compiles). The pages are filled with Latin-only
data, so any CJK character left on them comes from the product, not from the user.
"""
import ast
import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tracker import workflow

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
# The same keywords as `make messages`: N_ marks labels that are translated where they are shown.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None, "NP_": ((1, "c"), 2)}
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")
LANGUAGE_TOGGLE = "中文"  # the way back to Chinese is named in Chinese, as language menus do


def _catalog():
    with PO.open("rb") as f:
        return read_po(f)


def _source_messages() -> dict[tuple, str]:
    """Every translatable (context, string) in the code and templates, with where it first occurs."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((context, msgid), f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module", autouse=True)
def compiled_catalog():
    """The app reads the compiled .mo (git-ignored; `make test` compiles it): compile it when stale."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        with MO.open("wb") as f:
            write_mo(f, _catalog())


def test_english_catalog_covers_every_source_string():
    catalog = _catalog()
    translated = {(m.context, m.id): m for m in catalog if m.id}
    missing = {key: where for key, where in _source_messages().items()
               if key not in translated or not translated[key].string}
    assert not missing, f"{len(missing)} strings have no English translation (run `make messages` " \
                        f"and translate them): {list(missing.items())[:20]}"
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are not used by the app"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check() if errors]
    assert not problems, f"placeholders differ between source and translation: {problems[:10]}"
    left_chinese = [m.id for m in catalog if m.id and CJK.search(m.string)
                    and "放假" not in m.string]  # the holiday import's column values stay Chinese
    assert not left_chinese, left_chinese


@pytest.fixture
def county(db, make_department, make_user, make_project):
    """A small county with Latin-only names and texts, one problem at each step of the loop."""
    dept = make_department(code="PWR", name="Power Supply Company")
    admin = make_user("admin", username="hq", name="Head Office")
    supervisor = make_user("supervisor", username="liu", name="Liu Zhiqiang")
    liaison = make_user("department", username="pwr", department=dept, name="Power Liaison")
    leader = make_user("viewer", username="leader", name="County Leader")
    project = make_project(supervisor, code="HD001", name="Riverside Industrial Park",
                           category="Industry", owner="Riverside Development Co.",
                           location="East Bank")

    def problem(title, steps):
        p = workflow.record(project, supervisor, title=title, description="Seen on site.")
        fields = {"assign": {"department_id": dept.id, "handling_class": 5,
                             "comment": "Please fix it."},
                  "accept": {"comment": "On it."},
                  "report": {"comment": "Fixed, photos attached."}}
        for action in steps:
            actor = liaison if action in ("accept", "report") else supervisor
            workflow.apply(p, action, actor, **fields[action])
        return p

    problems = {"open": problem("Fence missing at the pit", []),
                "assigned": problem("Permit delayed", ["assign"]),
                "rectifying": problem("Wages paid late", ["assign", "accept"]),
                "rectified": problem("Dust on the access road", ["assign", "accept", "report"])}
    workflow.apply(problems["assigned"], "escalate", admin, level=1, comment="Too slow.")
    db.session.commit()
    return {"admin": admin, "supervisor": supervisor, "department": liaison, "viewer": leader,
            "project": project, "problems": problems}


def _in_english(client, user):
    response = client.post("/login", data={"username": user.username, "password": "secret-pass-1"})
    assert response.status_code == 302
    assert client.post("/lang/en").status_code == 302
    return client


def _chinese_left(html: str) -> list[str]:
    """The CJK runs in what a reader sees: text, titles, labels, placeholders and confirmations."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    html = html.replace(f">{LANGUAGE_TOGGLE}<", "><")
    return sorted(set(re.findall(r"[^<>\"]{0,12}" + CJK.pattern + r"[^<>\"]{0,12}", html)))


ROLE_PAGES = {
    "supervisor": [("/", "My work"), ("/projects/", "Key projects"),
                   ("/projects/{project}", "Supervision list"),
                   ("/problems/?status=rectified", "Awaiting revisit"),
                   ("/problems/{rectified}", "Revisit findings"),
                   ("/visits/new", "Save visit")],
    "department": [("/", "To accept"), ("/problems/", "Problem list"),
                   ("/problems/{assigned}", "Accept"), ("/problems/{rectifying}", "Report back")],
    "viewer": [("/dashboard/", "Closure rate"), ("/problems/{open}", "Leader instruction"),
               ("/projects/{project}", "Major risk points")],
    "admin": [("/", "My work"), ("/admin/users", "New user"), ("/problems/", "Filter problems"),
              ("/problems/{open}", "Assign"),
              ("/problems/{assigned}", "Escalation level 1 · Reminder")],  # 提醒, the level
}


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_main_pages_of_each_role_read_in_english(client, county, role):
    _in_english(client, county[role])
    ids = {"project": county["project"].id, **{k: p.id for k, p in county["problems"].items()}}
    for path, expected in ROLE_PAGES[role]:
        url = path.format(**ids)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert '<html lang="en">' in html, url
        assert expected in html, f"{url}: {expected!r} not shown"
        nav = re.search(r"<nav\b.*?</nav>", html, flags=re.S).group(0)
        assert not _chinese_left(nav), f"{url} navigation: {_chinese_left(nav)}"
        assert not _chinese_left(html), f"{url}: {_chinese_left(html)}"


def test_language_follows_the_user_and_the_configured_default(app, client, county):
    supervisor = county["supervisor"]
    client.post("/login", data={"username": supervisor.username, "password": "secret-pass-1"})
    assert "我的工作" in client.get("/").get_data(as_text=True)  # Chinese unless chosen otherwise
    _in_english(client, supervisor)
    page = client.get("/").get_data(as_text=True)
    assert "My work" in page and "我的工作" not in page
    client.post("/lang/zh_CN")
    assert "我的工作" in client.get("/").get_data(as_text=True)

    app.config["TRACKER_LOCALE"] = "en"  # TRACKER_LOCALE=en: English for everyone by default
    fresh = app.test_client()
    page = fresh.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Please sign in first" in page and '<html lang="en">' in page
    assert not _chinese_left(page), _chinese_left(page)


# ---------------------------------------------------------------- refusals in the reader's language

def _alert(page: str) -> str:
    """The text of the problem page's refusal (the #action-error alert)."""
    found = re.search(r'<div[^>]*id="action-error"[^>]*>(.*?)</div>', page, flags=re.S)
    assert found, "no refusal shown"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip())


def test_a_refused_action_on_a_page_reads_in_english(app, client, county):
    """An English-reading supervisor closes a problem the enterprise is unhappy with, and a
    liaison reports back without saying what was done: each is told why, in English."""
    rectified, rectifying = county["problems"]["rectified"], county["problems"]["rectifying"]
    _in_english(client, county["supervisor"])
    page = client.post(f"/problems/{rectified.id}/actions/close",
                       data={"satisfaction": "dissatisfied", "comment": "Still dusty."})
    assert page.status_code == 400
    refusal = _alert(page.get_data(as_text=True))
    assert "the revisit failed: the problem cannot be closed" in refusal, refusal
    assert not CJK.search(refusal), refusal

    liaison = _in_english(app.test_client(), county["department"])
    page = liaison.post(f"/problems/{rectifying.id}/actions/report", data={"comment": ""})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    refusal = _alert(text)
    assert refusal.endswith("comment: Required"), refusal
    assert not CJK.search(refusal) and not _chinese_left(text), _chinese_left(text)

    # Someone else's move: refused (403), in English too.
    page = liaison.post(f"/problems/{rectified.id}/actions/close",
                        data={"satisfaction": "satisfied"})
    assert page.status_code == 403
    refusal = _alert(page.get_data(as_text=True))
    assert 'You may not take the action "Close" on this problem' in refusal, refusal
    assert not CJK.search(refusal), refusal


def test_api_refusals_read_in_english_and_are_audited_in_chinese(app, client, db, county,
                                                                   token_for):
    """With TRACKER_LOCALE=en the API's error envelope is English: a 400 naming each field, a 409
    for a move the state does not allow. The audit trail keeps the refusal in the source language,
    whoever was refused."""
    import sqlalchemy as sa

    from tracker.models import AuditEntry

    app.config["TRACKER_LOCALE"] = "en"
    headers = token_for(county["supervisor"])
    problem = county["problems"]["open"]
    url = f"/api/v1/problems/{problem.id}/transitions"

    invalid = client.post(url, headers=headers, json={"action": "assign"})
    assert invalid.status_code == 400
    error = invalid.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"department_id": "Required", "handling_class": "Required"}
    assert error["message"] == "department_id: Required; handling_class: Required"

    illegal = client.post(url, headers=headers,
                          json={"action": "close", "satisfaction": "satisfied"})
    assert illegal.status_code == 409
    error = illegal.get_json()["error"]
    assert error["code"] == "illegal_move"
    assert error["message"] == 'The problem is "Registered": "Close" is not possible'

    duplicate = client.post("/api/v1/departments", headers=token_for(county["admin"]),
                            json={"code": "PWR", "name": "Another Power Company"})
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["message"] == "This department code already exists"
    for answer in (invalid, illegal, duplicate):
        body = answer.get_json()["error"]
        assert not CJK.search(body["message"] + "".join(body["fields"].values())), body

    audited = db.session.scalars(sa.select(AuditEntry.detail).where(AuditEntry.action == "refused")
                                 .order_by(AuditEntry.id)).all()
    assert [d["message"] for d in audited] == ["问题处于“待交办”状态，不能“销号”", "单位代码已存在"]


# ---------------------------------------------------------------- a guard over the messages' source

# Where refusal, validation and error messages are built. The demo and benchmark data sets are data.
GUARDED = sorted({*ROOT.glob("tracker/services/*.py"), *ROOT.glob("tracker/api/*.py"),
                  ROOT / "tracker/workflow.py", ROOT / "tracker/errors.py"}
                 - {ROOT / "tracker/services/demo.py", ROOT / "tracker/services/bench.py"})
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "_l", "lazy_gettext", "N_", "NP_"}
# Chinese in the code that is data, not a message. Keyed by (file, a top-level or enclosing
# function name, or the literal itself with {} for an f-string's fields), each with its reason.
CHINESE_DATA = {
    ("tracker/services/importer.py", "COLUMNS"): "the import file's headers (CONTRACT.md)",
    ("tracker/services/importer.py", "template_workbook"):
        "the import template is a Chinese spreadsheet in the import format",
    ("tracker/services/importer.py", "导入纳入重点项目"): "stored: a stage change's note",
    ("tracker/services/importer.py", "导入指派"): "stored: a supervisor assignment's note",
    ("tracker/services/importer.py", "导入更新"): "stored: the note of the changes an update makes",
    ("tracker/services/projects.py", "LEVEL_WORDS"): "the Chinese level names the import accepts",
    ("tracker/services/projects.py", "STAGE_WORDS"): "the Chinese stage names the import accepts",
    ("tracker/services/projects.py", "\u3000"): "the ideographic space, normalised away in input",
    ("tracker/services/projects.py", "万元"): "the unit people type after an amount",
    ("tracker/services/projects.py", "纳入重点项目"): "stored: the first stage change's note",
    ("tracker/services/holidays.py", "_DATE"): "dates as Chinese people write them (年月日)",
    ("tracker/services/holidays.py", "_LINE_RE"): "date ranges written with 至 or 到",
    ("tracker/services/holidays.py", "OFF_WORDS"): "the holiday import's accepted values",
    ("tracker/services/holidays.py", "WORK_WORDS"): "the holiday import's accepted values",
    ("tracker/services/holidays.py", "HEADERS"): "the holiday import's accepted headers",
    ("tracker/services/holidays.py", "TEMPLATE_ROWS"): "the holiday import template",
    ("tracker/services/departments.py", "“{}”并入“{}”"):
        "stored: the transfer reason on each problem's event and in the audit",
    ("tracker/services/people.py", "{}停用，项目改派"): "stored: the reassignment's note",
    ("tracker/services/risks.py", "登记风险点"): "stored: the first risk change's reason",
    ("tracker/services/uploads.py", "附件"): "stored: the name of a file that came without one",
    ("tracker/services/reminders.py", "_fmt"): "dates in the stored reminder texts",
    ("tracker/services/reminders.py", "_message"): "stored: each notification's text",
    ("tracker/services/reminders.py", "email_pending"):
        "the e-mail around the stored reminder texts, in their language",
    ("tracker/services/ledger.py", "HEADERS"):
        "the Excel ledger is a Chinese document, like the weekly pack's (reports/exports.py)",
    ("tracker/services/ledger.py", "ledger_workbook"): "the Excel ledger, as above",
    ("tracker/api/__init__.py", "bp"): "the OpenAPI document names the domain in Chinese",
    ("tracker/api/problems.py", "Record a problem on a project (待交办)"):
        "the OpenAPI document names the state by its Chinese name",
    ("tracker/api/projects.py", "总投资, 万元, a decimal string"): "the OpenAPI document's unit",
    ("tracker/api/projects.py", "万元; a decimal string or number, not negative"):
        "the OpenAPI document's unit",
    ("tracker/api/visits.py", "required to close; 不满意 or worse cannot close"):
        "the OpenAPI document names the rating by its Chinese name",
    ("tracker/api/visits.py", "required on 企业宁静日"): "the OpenAPI document names the rule",
}
AUDITED_REFUSALS = {"NotAllowed", "IllegalMove", "StaleVersion"}


def _name(node) -> str | None:
    return getattr(node, "id", None) or getattr(node, "attr", None)


def _scan(path: Path):
    """(line, text, names it sits in) of each CJK literal not inside a gettext call, and the
    problems of how messages are made: `_()` at import time, audited refusals not lazy."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = {node.body[0].value for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}

    def ancestors(node):
        while node in parent:
            node = parent[node]
            yield node

    def wrapped(node) -> bool:
        return any(isinstance(a, ast.Call) and _name(a.func) in GETTEXT for a in ancestors(node))

    def names(node) -> set[str]:
        found = set()
        for a in ancestors(node):
            if isinstance(a, (ast.FunctionDef, ast.ClassDef)):
                found.add(a.name)
            if isinstance(a, ast.Assign) and parent.get(a) is tree:
                found |= {t.id for t in a.targets if isinstance(t, ast.Name)}
        return found

    literals, misuse = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and not isinstance(parent.get(node), ast.JoinedStr) and node not in docstrings):
            text = node.value
        else:
            text = None
        if text is not None and CJK.search(text) and not wrapped(node):
            literals.append((node.lineno, text, names(node) | {text}))
        if not isinstance(node, ast.Call):
            continue
        if _name(node.func) in ("_", "gettext") and not any(
                isinstance(a, (ast.FunctionDef, ast.Lambda)) for a in ancestors(node)):
            misuse.append((node.lineno, "gettext at import time: use _l or N_"))
        message = (node.args[0] if _name(node.func) in AUDITED_REFUSALS and node.args else
                   next((k.value for k in node.keywords if k.arg == "description"), None)
                   if _name(node.func) == "abort" else None)
        if message is not None and not isinstance(message, (ast.Name, ast.Attribute)) and not (
                isinstance(message, ast.Call) and _name(message.func) == "_l"):
            misuse.append((node.lineno, "an audited refusal's message must be lazy: _l(...)"))
    return literals, misuse


def test_messages_are_built_for_translation():
    """Every Chinese literal where messages are built goes through gettext, or is data named in
    CHINESE_DATA with its reason; refusals that are audited (403/409) carry a lazy message, so
    the audit keeps the source language while the reader gets theirs."""
    untranslated, misused, used = [], [], set()
    for path in GUARDED:
        rel = path.relative_to(ROOT).as_posix()
        literals, misuse = _scan(path)
        if (rel, "*") in CHINESE_DATA:  # the whole file, for the reason given
            used |= {(rel, "*")} if literals or misuse else set()
            continue
        for line, text, names in literals:
            keys = {(rel, name) for name in names} & CHINESE_DATA.keys()
            used |= keys
            if not keys:
                untranslated.append(f"{rel}:{line}: {text!r}")
        misused += [f"{rel}:{line}: {why}" for line, why in misuse]
    assert not untranslated, "Chinese outside gettext (wrap it, or name it in CHINESE_DATA):\n" \
                             + "\n".join(untranslated)
    assert not misused, "\n".join(misused)
    stale = CHINESE_DATA.keys() - used
    assert not stale, f"CHINESE_DATA names what is no longer there: {stale}"


def test_an_api_client_asks_for_its_language(client, county, token_for):
    """A script that sends Accept-Language: en gets English errors from a Chinese deployment;
    one that asks for nothing, or for Chinese, gets Chinese. Pages do not follow the browser."""
    headers = token_for(county["supervisor"])
    url = f"/api/v1/problems/{county['problems']['open'].id}/transitions"
    english = client.post(url, headers={**headers, "Accept-Language": "en-US,en;q=0.9"},
                          json={"action": "assign"}).get_json()["error"]
    assert english["fields"] == {"department_id": "Required", "handling_class": "Required"}
    for asked in ({}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}):
        chinese = client.post(url, headers={**headers, **asked},
                              json={"action": "assign"}).get_json()["error"]
        assert chinese["fields"] == {"department_id": "必填", "handling_class": "必填"}
    page = client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in page
