"""The dashboard over HTTP (in-process): CSRF, sessions, roles, the audit log, CSV."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Owner
from storage.models.staff import AuditLog, StaffUser
from tests.dashboard.scripted import csrf_of, make_user, register_owner, say, sign_in


def test_forged_csrf_token_fails_with_403(client, db):
    make_user(db, "admin", "admin")
    page = client.get("/dash/login")
    forged = client.post("/dash/login", data={"username": "admin", "password": "a long test password",
                                              "csrf_token": "forged" + csrf_of(page.text)[6:]})
    assert forged.status_code == 403
    assert "uid" not in client.cookies.get("umkm_session", "")
    assert sign_in(client, "admin").status_code == 303
    token = csrf_of(client.get("/dash/users").text)
    for data in ({"username": "eve", "password": "x" * 12, "role": "admin", "csrf_token": "forged"},
                 {"username": "eve", "password": "x" * 12, "role": "admin"}):
        assert client.post("/dash/users", data=data).status_code == 403
    headers = {"X-CSRF-Token": "forged", "Content-Type": "application/json"}
    assert client.post("/chat/send", json={"text": "halo"}, headers=headers).status_code == 403
    ok = client.post("/dash/users", data={"username": "eve", "password": "kopi tubruk pagi", "role": "staff",
                                          "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    with db.session() as session:
        assert session.scalars(select(StaffUser.username).order_by(StaffUser.id)).all() == ["admin", "eve"]


def test_staff_cannot_manage_users(client, db):
    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    assert client.get("/dash/users").status_code == 403
    token = csrf_of(client.get("/dash/owners").text)
    created = client.post("/dash/users", data={"username": "mallory", "password": "x" * 12, "role": "admin",
                                               "csrf_token": token})
    assert created.status_code == 403
    with db.session() as session:
        staff_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "staf"))
    assert client.post(f"/dash/users/{staff_id}/unlock", data={"csrf_token": token}).status_code == 403
    assert client.get("/dash/audit").status_code == 403
    with db.session() as session:
        assert session.scalar(select(func.count(StaffUser.id))) == 1


def test_pages_need_sign_in_and_sign_out_kills_the_copied_cookie(client, db):
    make_user(db, "staf", "staff")
    assert client.get("/dash/owners", follow_redirects=False).headers["location"].startswith("/dash/login?next=")
    sign_in(client, "staf")
    cookie = client.cookies.get("umkm_session")
    page = client.get("/dash/owners")
    assert page.status_code == 200
    client.post("/dash/logout", data={"csrf_token": csrf_of(page.text)})
    client.cookies.set("umkm_session", cookie)  # someone replays the old cookie
    assert client.get("/dash/owners", follow_redirects=False).status_code == 303


def test_wrong_password_and_lockout_show_on_the_sign_in_page(client, db):
    make_user(db, "staf", "staff")
    assert sign_in(client, "staf", "wrong").status_code == 401
    for _ in range(4):
        last = sign_in(client, "staf", "wrong")
    assert last.status_code == 429 and "dikunci" in last.text
    assert sign_in(client, "staf").status_code == 429


def test_opening_an_owner_profile_writes_the_audit_log(client, db, content):
    register_owner(db, content, "+628111000001", "Siti Aminah", "Keripik Bu Siti", permits=("nib",))
    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    with db.session() as session:
        owner_id = session.scalar(select(Owner.id))
    page = client.get(f"/dash/owners/{owner_id}")
    assert page.status_code == 200 and "Keripik Bu Siti" in page.text
    client.get(f"/dash/owners/{owner_id}")
    with db.session() as session:
        views = session.scalars(select(AuditLog).where(AuditLog.action == "view_owner")).all()
    assert [(v.who, v.subject) for v in views] == [("staf", f"owner:{owner_id}")] * 2


def test_owner_list_filters_by_area_sector_stage_and_search(client, db, content):
    register_owner(db, content, "+628111000001", "Siti Aminah", "Keripik Bu Siti", permits=("nib", "pirt"))
    register_owner(db, content, "+628111000002", "Dewi Lestari", "Sabun Dewi", sector="cosmetics",
                   products="sabun sereh", area="jakarta-timur", district="duren sawit")
    make_user(db, "staf", "staff")
    sign_in(client, "staf")

    def names(**params):
        html = client.get("/dash/owners", params=params).text
        return [n for n in ("Siti Aminah", "Dewi Lestari") if n in html]

    assert names() == ["Siti Aminah", "Dewi Lestari"]
    assert names(area="jakarta-timur") == ["Dewi Lestari"]
    assert names(sector="food") == ["Siti Aminah"]
    assert names(stage="product_permit") == ["Siti Aminah"]
    assert names(stage="registered") == ["Dewi Lestari"]
    assert names(q="sereh") == ["Dewi Lestari"]
    assert names(q="keripik", area="jakarta-timur") == []


def test_owner_csv_neutralises_spreadsheet_formulas(client, db, content):
    register_owner(db, content, "+628111000003", "=HYPERLINK(\"http://x\")", "Usaha Biasa")
    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    response = client.get("/dash/owners.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "'=HYPERLINK" in response.text and ",=HYPERLINK" not in response.text
    with db.session() as session:
        assert session.scalar(select(AuditLog.action).where(AuditLog.action == "export_owners"))


def test_dashboard_middleware_stays_off_other_routes(client):
    health = client.get("/health")
    assert health.status_code == 200 and "set-cookie" not in health.headers
    # no CSRF answer outside /dash and /chat: a POST there is the route's own business
    assert client.post("/health").status_code == 405


def test_every_page_sets_security_headers(client, db):
    make_user(db, "admin", "admin")
    sign_in(client, "admin")
    for path in ("/dash/login", "/dash/owners", "/dash/indicators", "/dash/users", "/dash/audit", "/chat/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in response.headers["content-security-policy"]


def test_interface_switches_to_english(client, db):
    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    assert "Pelaku usaha" in client.get("/dash/owners").text
    client.get("/dash/lang/en?next=/dash/owners")
    assert "Owners" in client.get("/dash/owners").text


def test_owner_profile_shows_the_legality_pathway_and_stage_from_it(client, db, content):
    register_owner(db, content, "+628111000009", "Siti", "Keripik Siti", products="keripik singkong", permits=("nib",))
    for text in ("izin saya", "ya", "sudah dapat P-IRT 206327101012331"):
        say(db, content, "+628111000009", text)
    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    with db.session() as session:
        owner_id = session.scalar(select(Owner.id))
    page = client.get(f"/dash/owners/{owner_id}").text
    assert "206327101012331" in page and "berlaku s/d" in page and "keripik singkong" in page
    assert "Punya izin produk" in page
    assert "Siti" in client.get("/dash/owners", params={"stage": "product_permit"}).text
