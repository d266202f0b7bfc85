"""Flask extensions, created unbound and bound in the application factory."""
import enum

import sqlalchemy as sa
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Enums are stored as short strings checked by explicit CHECK constraints, so the
    # schema is the same on SQLite and PostgreSQL (no native PostgreSQL ENUM types).
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            enum.Enum: sa.Enum(enum.Enum, native_enum=False, length=24, create_constraint=False),
        },
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


class TrackerApi(Api):
    def _register_error_handlers(self):
        """tracker.errors answers errors for pages and API alike (the envelope under /api)."""


api = TrackerApi()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = Talisman()
