"""Search over the message log and cases: substring, owner, area and dates, always inside what the
searcher may see; on PostgreSQL the trigram indexes exist and serve the query."""
from __future__ import annotations

from datetime import date

from sqlalchemy import text

from bot.dashboard.scope import Viewer, case_visibility, owner_visibility, viewer_for
from bot.dashboard.search import SearchQuery, search_cases, search_messages
from storage.models.staff import StaffUser
from tests.dashboard.scripted import ask_for_mentor, load_demo_roster, make_user, register_owner, say

WEST, EAST = "+628120000061", "+628120000062"


def _world(db, content):
    ids = load_demo_roster(db, content)
    register_owner(db, content, WEST, "Siti Aminah", "Keripik Bu Siti", area="jakarta-barat", district="kebon jeruk")
    register_owner(db, content, EAST, "Rina Wati", "Bolu Rina", area="jakarta-timur", district="duren sawit")
    say(db, content, WEST, "label kemasan keripik saya 100% benar?")
    say(db, content, EAST, "label bolu saya harus ada apa saja")
    ask_for_mentor(db, content, EAST)
    return ids


def _viewer(db, user_id) -> Viewer:
    with db.session() as session:
        user = session.get(StaffUser, user_id)
        session.expunge(user)
    with db.session() as session:
        return viewer_for(session, user)


def test_messages_are_found_by_fragment_and_only_in_the_searchers_area(db, content, clock):
    ids = _world(db, content)
    staff = _viewer(db, make_user(db, "staf", "staff"))
    west_mentor = _viewer(db, make_user(db, "budi", "mentor", ids["JO-0001"]))
    query = SearchQuery(text="LABEL")
    with db.session() as session:
        everyone = search_messages(session, query, owner_visibility(staff))
        assert {r["owner"] for r in everyone if r["direction"] == "in"} == {"Siti Aminah", "Rina Wati"}
        west = search_messages(session, query, owner_visibility(west_mentor))
        assert {r["owner"] for r in west} == {"Siti Aminah"}
        # a literal % is a character, not a wildcard
        assert [r["text"] for r in search_messages(session, SearchQuery(text="100%"), None)] == [
            "label kemasan keripik saya 100% benar?"]
        assert search_messages(session, SearchQuery(text="label", owner="bolu"), None)[0]["owner"] == "Rina Wati"
        assert search_messages(session, SearchQuery(text="label", area="jakarta-timur"), None)[0]["city"] == "jakarta-timur"
        assert search_messages(session, SearchQuery(text="label", since=date(2026, 11, 24)), None) == []
        assert search_messages(session, SearchQuery(text="label", until=date(2026, 11, 23)), None)
        cases = search_cases(session, SearchQuery(text="pendamping"), case_visibility(staff))
        assert [c["owner"] for c in cases] == ["Rina Wati"]
        assert search_cases(session, SearchQuery(text="pendamping"), case_visibility(west_mentor)) == []


def test_query_parameters_are_cleaned(content):
    query = SearchQuery.from_params({"q": "  pirt\x00  kapan ", "what": "drop table", "since": "2026-13-45",
                                     "until": "01/11/2026"})
    assert query.text == "pirt kapan" and query.what == "messages" and query.since is None
    assert query.until == date(2026, 11, 1) and not query.empty


def test_postgres_has_the_trigram_indexes_and_uses_them(pg_db):
    with pg_db.engine.connect() as conn:
        names = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'")).scalars())
        assert names == {"ix_message_log_text_trgm", "ix_tickets_reason_trgm", "ix_owners_name_trgm",
                         "ix_owners_business_name_trgm"}
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(conn.execute(text("EXPLAIN SELECT id FROM message_log WHERE text ILIKE '%pirt%'")).scalars())
    assert "ix_message_log_text_trgm" in plan
