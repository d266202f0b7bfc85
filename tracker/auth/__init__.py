"""Sign-in: the Flask-Login user loader and the role-required decorator for pages."""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from ..extensions import db, login_manager
from ..models import Role, User

login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
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
