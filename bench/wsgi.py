"""The app as gunicorn serves it, plus the bare JSON endpoint the load run compares against."""
from tracker import create_app

app = create_app()
app.add_url_rule("/bench/bare", "bench_bare", lambda: {"ok": True})
