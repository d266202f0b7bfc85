"""The English locale: every source string has its translation, and a user who switches to English
reads each role's main pages without a Chinese word in the page chrome.

Chinese is the source language; translations/en/LC_MESSAGES/messages.po is the English catalog
(`make messages` re-extracts, `make translations` compiles). The pages are filled with Latin-only
data, so any CJK character left on them comes from the product, not from the user.
"""
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
