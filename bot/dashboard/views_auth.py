"""Sign-in, sign-out, language, the home redirect, and user management (admins only).

Sign-in is the one page a stranger can make expensive (a password hash per request), so before
any hashing it passes, in the event loop and at no cost: a per-address and a global rate limit
(`limits`, moving windows; checked by `security.SignInGate` in front of the whole app, before
the session is even decoded) and a cap on sign-ins in flight. The hash itself runs in a pool of its
own (`auth.HASH_POOL`, one thread): a flood fills that pool and gets 429s, never the thread pool
the webhooks and pages use.
"""
from __future__ import annotations

import time


from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.dashboard import auth
from bot.dashboard.security import csrf_token, rotate_csrf
from bot.dashboard.web import db_call, load_user, render, page, safe_next, text
from bot.services import Services
from storage.models.staff import ROLES, AuditLog, StaffUser

try:
    from storage.models.handoff import Mentor
except ImportError:  # pragma: no cover - before the handoff area is merged
    Mentor = None  # type: ignore[assignment,misc]


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def routes(services: Services) -> list:
    async def home(request: Request) -> Response:
        user = await db_call(load_user, services, request)
        if user is None:
            return RedirectResponse("/dash/login", status_code=303)
        return RedirectResponse("/dash/cases" if user.is_mentor else "/dash/indicators", status_code=303)

    async def login(request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            csrf_token(request.session)
            return render(request, "login.html", next_url=next_url, error="", username="")
        client = _client(request)
        form = await request.form(max_files=0, max_fields=10)
        username, password = str(form.get("username", ""))[:256], str(form.get("password", ""))
        try:
            uid, version, lang, outcome = await auth.throttle.run(
                auth.sign_in_outcome, services.db, username, password, client)
        except auth.Busy:
            return render(request, "login.html", status_code=429, next_url=next_url,
                          error=text(request, "auth.too_many"), username=username[:64])
        if outcome != "ok":
            error = text(request, "auth.locked" if outcome == "locked" else "auth.bad_login",
                         minutes=int(auth.LOCKOUT.total_seconds() // 60))
            return render(request, "login.html", status_code=429 if outcome == "locked" else 401,
                          next_url=next_url, error=error, username=username[:64])
        keep_lang = request.session.get("lang")
        request.session.clear()  # a new session on sign-in: nothing carried over from before
        request.session.update(uid=uid, sv=version, lang=keep_lang or lang, seen=int(time.time()))
        rotate_csrf(request.session)
        return RedirectResponse(next_url, status_code=303)

    @page()
    async def logout(request: Request) -> Response:
        user = request.scope["dash_user"]

        def bump():
            with services.db.session() as session:
                row = session.get(StaffUser, user.id)
                row.session_version += 1  # every copy of this session cookie stops working
                auth.audit(session, row, "logout", f"user:{row.id}")

        await db_call(bump)
        lang = request.session.get("lang")
        request.session.clear()
        if lang:
            request.session["lang"] = lang
        return RedirectResponse("/dash/login", status_code=303)

    async def set_lang(request: Request) -> Response:
        code = request.path_params["code"]
        if code in ("id", "en"):
            request.session["lang"] = code
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)

    # --- users (admin only) ------------------------------------------------------------------------
    def _users_context():
        with services.db.session() as session:
            users = session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.username)).all()
            mentors = []
            if Mentor is not None:
                mentors = [(m.id, m.code, m.name) for m in
                           session.scalars(select(Mentor).where(Mentor.active.is_(True)).order_by(Mentor.name))]
            mentor_names = {mid: f"{name} ({code})" for mid, code, name in mentors}
            session.expunge_all()
            return list(users), mentors, mentor_names

    @page("admin")
    async def users(request: Request) -> Response:
        rows, mentors, mentor_names = await db_call(_users_context)
        return render(request, "users.html", users=rows, mentors=mentors, mentor_names=mentor_names,
                      roles=ROLES, error=request.query_params.get("error", ""),
                      done=request.query_params.get("done", ""))

    @page("admin")
    async def users_create(request: Request) -> Response:
        admin = request.scope["dash_user"]
        form = await request.form()
        mentor_raw = str(form.get("mentor_id") or "")

        def create():
            with services.db.session() as session:
                auth.create_user(session, str(form.get("username", "")), str(form.get("password", "")),
                                 str(form.get("role", "")), int(mentor_raw) if mentor_raw.isdecimal() else None,
                                 str(form.get("lang") or "id"), by=session.get(StaffUser, admin.id))

        try:
            await db_call(create)
        except auth.UserError as exc:
            rows, mentors, mentor_names = await db_call(_users_context)
            return render(request, "users.html", status_code=400, users=rows, mentors=mentors,
                          mentor_names=mentor_names, roles=ROLES, error=f"users.err_{exc.code}", done="")
        return RedirectResponse("/dash/users?done=created", status_code=303)

    @page("admin")
    async def users_action(request: Request) -> Response:
        admin = request.scope["dash_user"]
        user_id, action = request.path_params["user_id"], request.path_params["action"]
        form = await request.form()

        def change():
            with services.db.session() as session:
                target = session.get(StaffUser, user_id)
                by = session.get(StaffUser, admin.id)
                if target is None:
                    raise HTTPException(404)
                if action == "unlock":
                    auth.unlock(session, target, by)
                elif action == "password":
                    auth.set_password(session, target, str(form.get("password", "")), by)
                elif action in ("deactivate", "activate"):
                    if target.id == admin.id:
                        raise auth.UserError("self", "you cannot deactivate yourself")
                    target.active = action == "activate"
                    target.session_version += 1
                    auth.audit(session, by, f"user_{action}d", f"user:{target.id}")
                else:
                    raise HTTPException(404)

        try:
            await db_call(change)
        except auth.UserError as exc:
            rows, mentors, mentor_names = await db_call(_users_context)
            return render(request, "users.html", status_code=400, users=rows, mentors=mentors,
                          mentor_names=mentor_names, roles=ROLES, error=f"users.err_{exc.code}", done="")
        return RedirectResponse(f"/dash/users?done={action}", status_code=303)

    @page("admin")
    async def audit_log(request: Request) -> Response:
        subject = request.query_params.get("subject", "").strip()[:64]

        def load():
            with services.db.session() as session:
                query = select(AuditLog).order_by(AuditLog.id.desc()).limit(200)
                if subject:
                    query = query.where(AuditLog.subject == subject)
                rows = session.scalars(query).all()
                session.expunge_all()
                return list(rows)

        return render(request, "audit.html", rows=await db_call(load), subject=subject)

    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{code}", set_lang),
        Route("/users", users),
        Route("/users", users_create, methods=["POST"]),
        Route("/users/{user_id:int}/{action}", users_action, methods=["POST"]),
        Route("/audit", audit_log),
    ]
