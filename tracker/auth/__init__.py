"""Sign-in: the Flask-Login user loader and the role-required decorator for pages."""
from functools import wraps

from flask import abort, current_app, request
from flask_babel import gettext
from flask_login import current_user, login_required

from ..extensions import db, limiter, login_manager
from ..models import Role, User
from ..models.base import N_

login_manager.login_view = "auth.login"
login_manager.login_message = N_("请先登录")
login_manager.localize_callback = gettext  # flashed in the reader's language
login_manager.login_message_category = "warning"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    # The id carries the user's session epoch: deactivation or a password reset bumps it, which
    # ends every existing session at once.
    try:
        user_id, epoch = (int(part) for part in login_id.split(":"))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return user


def roles_required(*roles: Role):
    """Page decorator: signed in, and holding one of `roles` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _account_key() -> str:
    body = request.get_json(silent=True) if request.is_json else None
    username = (body or {}).get("username") if isinstance(body, dict) else None
    username = username if isinstance(username, str) else request.form.get("username", "")
    return "account:" + username.strip().lower()[:64]


def _failed(response) -> bool:
    # The sign-in page answers 200 (the form again) on failure and 302 on success;
    # POST /api/v1/tokens answers 401 on failure.
    return response.status_code in (200, 401)


def throttle_signin(view):
    """Count failed sign-ins per account and per address (page and API together)."""
    view = limiter.shared_limit(lambda: current_app.config["SIGNIN_LIMIT_PER_ADDRESS"],
                                scope="signin-address", methods=["POST"], deduct_when=_failed,
                                error_message=N_("登录失败次数过多，请稍后再试"))(view)
    view = limiter.shared_limit(lambda: current_app.config["SIGNIN_LIMIT_PER_ACCOUNT"],
                                scope="signin-account", key_func=_account_key, methods=["POST"],
                                deduct_when=_failed,
                                error_message=N_("该账号登录失败次数过多，请 15 分钟后再试"))(view)
    return view
