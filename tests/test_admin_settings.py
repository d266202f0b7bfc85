"""Settings: typed values with defaults, validated, audited, effective at once."""
import sqlalchemy as sa
import pytest

from tracker.models import AuditEntry, Source
from tracker.services import settings


def test_defaults_before_anything_is_stored(db):
    assert settings.get("yellow_card_threshold") == 3
    assert settings.get("stale_visit_days") == 30
    assert settings.get("upload_max_mb") == 10
    assert settings.get("reminder_hour") == 8
    for source in Source:
        assert settings.default_handling_class(source) == 5


def test_a_change_is_validated_audited_and_read_back_at_once(db, admin):
    settings.set(admin, "yellow_card_threshold", "5")
    db.session.commit()
    assert settings.get("yellow_card_threshold") == 5
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "setting.change"))
    assert entry.actor_id == admin.id
    assert entry.detail == {"key": "yellow_card_threshold", "before": 3, "after": 5}


@pytest.mark.parametrize("key,value", [("reminder_hour", 24), ("reminder_hour", "八"),
                                       ("default_handling_class_visit", 3),
                                       ("upload_max_mb", 0), ("stale_visit_days", True)])
def test_bad_values_are_refused_naming_the_key(db, admin, key, value):
    with pytest.raises(settings.SettingError) as refused:
        settings.set(admin, key, value)
    assert key in refused.value.fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "setting.change")) == 0


def test_unknown_key_is_refused(db, admin):
    with pytest.raises(settings.SettingError):
        settings.set(admin, "no_such_key", 1)


def test_the_settings_page_saves_logs_and_takes_effect_without_a_restart(client, db, admin, login):
    login(admin)
    form = dict(settings.get_all(), stale_visit_days=14, default_handling_class_complaint=1)
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 302
    # The same running app reads the new values at once: the next request and the services.
    assert 'value="14"' in client.get("/admin/settings").get_data(as_text=True)
    assert settings.get("stale_visit_days") == 14
    assert settings.default_handling_class("complaint") == 1
    changes = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "setting.change")
                                 .order_by(AuditEntry.id)).all()
    assert {c.detail["key"]: (c.detail["before"], c.detail["after"]) for c in changes} == {
        "stale_visit_days": (30, 14), "default_handling_class_complaint": (5, 1)}
    assert all(c.actor_id == admin.id for c in changes)


def test_the_settings_page_refuses_bad_values_beside_the_field(client, db, admin, login):
    login(admin)
    page = client.post("/admin/settings", data=dict(settings.get_all(), reminder_hour=25,
                                                    yellow_card_threshold=""))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "必填" in text and "25" in text
    assert settings.get("reminder_hour") == 8


def test_upload_limit_in_bytes_follows_the_setting(db, admin):
    assert settings.upload_max_bytes() == 10 * 1024 * 1024
    settings.set(admin, "upload_max_mb", 2)
    assert settings.upload_max_bytes() == 2 * 1024 * 1024
