"""Events, broadcasts and the mentor roster pages: who may open them, and what they show."""
from __future__ import annotations

import pytest

from tests.dashboard.scripted import csrf_of, load_demo_roster, make_user, sign_in


@pytest.mark.parametrize("path", ["/dash/broadcasts", "/dash/broadcasts/new", "/dash/events", "/dash/mentors"])
def test_staff_open_the_programme_pages(client, db, content, path):
    make_user(db, "staf", "staff")
    load_demo_roster(db, content)
    sign_in(client, "staf")
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]


def test_mentors_cannot_broadcast(client, db, content):
    ids = load_demo_roster(db, content)
    make_user(db, "mentor1", "mentor", ids["JO-0001"])
    sign_in(client, "mentor1")
    assert client.get("/dash/broadcasts/new").status_code == 403
    token = csrf_of(client.get("/dash/cases").text)
    sent = client.post("/dash/broadcasts", data={"message": "Halo", "when": "now", "csrf_token": token})
    assert sent.status_code == 403


def test_a_broken_template_queues_nothing(client, db):
    from sqlalchemy import func, select

    from storage.models import OutboxMessage

    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    token = csrf_of(client.get("/dash/broadcasts/new").text)
    answer = client.post("/dash/broadcasts", data={"message": "Halo {{ name", "when": "now", "csrf_token": token})
    assert answer.status_code == 400
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
