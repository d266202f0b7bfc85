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
