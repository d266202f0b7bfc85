"""Sign-in, sign-out, password change and the language switch."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..services import users
from . import throttle_signin
from .forms import ChangePasswordForm, LoginForm

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """`next` only if it is a path on this site (no scheme, no host, no //evil.example)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@throttle_signin
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data,
                                  ip=request.remote_addr or "")
        db.session.commit()
        if user is None:
            flash(_("用户名或密码错误，或账号已停用"), "danger")
        else:
            session.clear()  # a fresh session at sign-in
            login_user(user, remember=form.remember.data)
            if user.must_change_password:
                flash(_("请先修改初始密码"), "warning")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("当前密码不正确"))
        else:
            user = current_user._get_current_object()
            users.change_password(user, form.new.data)
            db.session.commit()
            login_user(user)  # the epoch moved on: keep this session, end the others
            flash(_("密码已修改"), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in ("zh_CN", "en"):
        session["locale"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
