"""The web dashboard for mentors and program staff (issue 8).

Pieces, each small:
- `auth`: users, argon2 password hashes, sign-in with lockout, the audit log.
- `security`: the session secret, CSRF on every POST, security headers. These wrap only the
  dashboard's own sub-apps (mounted at /dash and /chat by bot/routes/dashboard.py), so the
  channel webhooks never see a session or a CSRF check.
- `texts`: the interface's words (content/web/<lang>.yaml), Indonesian first, English available.
- `scope`: what a signed-in person may see (a mentor only their area).
- `owners`, `indicators`: the queries behind the pages; `charts`: server-side SVG charts.
- `views_*`: the pages. Templates in bot/dashboard/templates, CSS/JS in bot/dashboard/static.
"""
