"""tracker: closed-loop supervision of a county's key projects (项目纪检监察监督).

`create_app` is the factory; it reads as a recipe of register_* steps.
"""
from pathlib import Path

from flask import Flask, request, session

from config import Config, config_from_env


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.from_object(config or config_from_env())
    app.config.update(overrides)
    check_config(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_cli(app)
    return app


def check_config(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set (environment variable SECRET_KEY)")
    Path(app.instance_path).mkdir(exist_ok=True)


def register_extensions(app: Flask) -> None:
    from . import auth  # noqa: F401  (user loader)
    from .database import configure_engine
    from .extensions import api, babel, csrf, db, limiter, login_manager, migrate, talisman

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")
    from .api.common import ErrorSchema

    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app, spec_kwargs={"security": [{"bearerAuth": []}]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    limiter.init_app(app)
    talisman.init_app(
        app, force_https=app.config["FORCE_HTTPS"], strict_transport_security=app.config["HSTS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"], frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin", content_security_policy=CSP)
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)


# Scripts only from this site (no inline scripts); inline style attributes are allowed for
# Bootstrap's components; nobody may frame the app.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    """The page language the user chose (session), else for API clients their Accept-Language,
    else the deployment's TRACKER_LOCALE. Pages ignore Accept-Language: a county's users read
    Chinese whatever their browser was set up with, and switch in the menu."""
    from flask import current_app

    default = current_app.config["TRACKER_LOCALE"]
    if not request:
        return default
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if request.path.startswith("/api/"):
        asked = request.accept_languages.best_match(("zh-CN", "zh", "en"))
        return {"zh-CN": "zh_CN", "zh": "zh_CN", "en": "en"}.get(asked, default)
    return default


def register_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin_bp
    from .api import bp as api_bp
    from .auth.routes import bp as auth_bp
    from .dashboard.routes import bp as dashboard_bp
    from .extensions import api, csrf
    from .main.routes import bp as main_bp
    from .problems.routes import bp as problems_bp
    from .projects.routes import bp as projects_bp
    from .visits.routes import bp as visits_bp

    for blueprint in (auth_bp, main_bp, projects_bp, problems_bp, visits_bp, dashboard_bp,
                      admin_bp):
        app.register_blueprint(blueprint)
    from .ledger.routes import bp as ledger_bp  # department ledger (责任单位台账)

    app.register_blueprint(ledger_bp)
    from .risks.routes import bp as risks_bp  # major risk points (重大风险点)

    app.register_blueprint(risks_bp)
    from .checklists.routes import bp as checklists_bp  # supervision-list templates and lists

    app.register_blueprint(checklists_bp)
    csrf.exempt(api_bp)
    api.register_blueprint(api_bp)


def register_error_handlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from .templating import register

    register(app)


def register_cli(app: Flask) -> None:
    from .cli import register

    register(app)
