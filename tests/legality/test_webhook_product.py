"""A product question entering where real WhatsApp traffic enters: a signed Twilio webhook, answered
through the real twilio client (to the local fake provider). What the owner reads is checked."""
from __future__ import annotations

from tests.channels.conftest import fake, harness, make_harness  # noqa: F401 (fixtures)


def bodies(harness) -> list[str]:
    harness.send()
    return [m["Body"] for m in harness.fake.twilio_messages()]


def test_a_shelf_stable_dried_product_gets_pirt_not_no_permit(harness, clock):
    # DOMAIN-2: "bawang goreng" once matched "bakwan" (fried snacks) and got "no permit needed".
    form = harness.twilio_form("izin bawang goreng kemasan buatan rumah apa ya?", sender="whatsapp:+6281234567101")
    assert harness.twilio_post(form).status_code == 200
    sent = bodies(harness)
    text = "\n".join(sent)
    assert "Bawang goreng" in text and "P-IRT" in text
    assert "Tidak perlu izin" not in text and "Gorengan" not in text
    assert all(len(body) <= 600 for body in sent)


def test_a_jamu_drink_with_a_claim_is_told_it_is_traditional_medicine(harness, clock):
    form = harness.twilio_form("izin kunyit asam botolan buat pelancar haid, titip toko, apa?",
                               sender="whatsapp:+6281234567102")
    assert harness.twilio_post(form).status_code == 200
    text = "\n".join(bodies(harness))
    assert "UKOT" in text and "TR" in text and "Apakah" not in text


def test_asking_whether_a_permit_is_needed_mid_question_explains_why_it_is_asked(harness, clock, content):
    sender = "whatsapp:+6281234567103"
    harness.twilio_post(harness.twilio_form("pak ibu mau tny, sy bikin sambel roa botolan", sender=sender))
    first = bodies(harness)
    assert "Apakah" in first[-1]
    harness.twilio_post(harness.twilio_form("itu hrs ada ijinnya ga pak", sender=sender))
    sent = bodies(harness)[len(first):]
    assert "tergantung jawaban pertanyaan ini" in sent[0] and "belum paham" not in " ".join(sent)
    assert sent[-1] == first[-1]  # the same question again, nothing recorded as an answer


def test_how_a_jamu_is_made_answers_the_fresh_jamu_question_in_the_owners_words(harness, clock, content):
    """"Direbus trus dibotolin" at "made fresh and sold the same day?" is a no, not "belum paham"."""
    sender = "whatsapp:+6281234567104"
    harness.twilio_post(harness.twilio_form("ijin jamu kunir asem ibu apa ya", sender=sender))
    first = bodies(harness)
    assert "dijual langsung hari itu" in first[-1]
    harness.twilio_post(harness.twilio_form("ibu rebus trus dibotolin, tahan 2 mingguan di kulkas", sender=sender))
    sent = bodies(harness)[len(first):]
    text = "\n".join(sent)
    assert "belum paham" not in text and "dijual langsung hari itu" not in text
    assert "Apakah" in sent[-1]  # the next question, with the fresh-jamu one settled


def test_a_product_named_in_a_does_it_need_a_permit_question_is_answered_not_offered_a_choice(harness, clock):
    """"Emangnya rempeyek hrs ada pirt ya" asks which permit rempeyek needs: its own route, never
    "Maksud Anda yang mana?" between the product and a general permit question."""
    sender = "whatsapp:+6281234567105"
    harness.twilio_post(harness.twilio_form("emangnya rempeyek ibu hrs ada pirt ya", sender=sender))
    text = "\n".join(bodies(harness))
    assert "Rempeyek" in text and "P-IRT" in text
    assert "Maksud Anda yang mana" not in text and "belum paham" not in text


def test_jamu_gendong_asked_in_an_owners_words_gets_its_own_answer_once(harness, clock):
    sender = "whatsapp:+6281234567106"
    harness.twilio_post(harness.twilio_form("jamu gendong itu hrs pake ijin jg ga", sender=sender))
    sent = bodies(harness)
    text = "\n".join(sent)
    assert "tidak perlu izin edar" in text and "NIB" in text
    assert "Maksud Anda yang mana" not in text
    assert text.count("tidak perlu izin edar") == 1  # said once, not as verdict and again as reason


def test_bottled_jamu_sold_to_a_shop_gets_the_food_route_without_claims_and_no_eatery(harness, clock):
    """DOMAIN-2: a jamu drink without medicinal claims is processed food (BPOM MD). "Ke warung" is
    where it is sold, not a food stall of the owner's."""
    sender = "whatsapp:+6281234567107"
    harness.twilio_post(harness.twilio_form("kalo sy mau jual jamu botolan ke warung gmn", sender=sender))
    text = "\n".join(bodies(harness))
    assert "Minuman jamu" in text and "tanpa klaim khasiat" in text and "MD" in text
    assert "Warung makan" not in text and "SLHS" not in text


def test_plain_jamu_that_is_a_bottled_drink_without_claims_ends_on_md_not_ukot(harness, clock):
    sender = "whatsapp:+6281234567108"
    harness.twilio_post(harness.twilio_form("sy jualan jamu", sender=sender))
    seen = bodies(harness)
    assert "dijual langsung hari itu" in seen[-1]
    for answer, asked in (("ngga, dikemas", "minuman cair"), ("iya cair", "klaim khasiat"),
                          ("ga ada klaim, minuman biasa aja", "jelas halal"), ("iya", None)):
        harness.twilio_post(harness.twilio_form(answer, sender=sender))
        new = bodies(harness)[len(seen):]
        seen += new
        if asked:
            assert asked in new[-1], new
    text = "\n".join(new)
    assert "MD" in text and "UKOT" not in text


def test_the_fact_that_settles_two_branches_gets_the_route_even_at_the_data_question(harness, clock, content):
    sender = "whatsapp:+6281234567109"
    harness.twilio_post(harness.twilio_form("assalamualaikum", sender=sender))
    seen = bodies(harness)
    harness.twilio_post(harness.twilio_form("kripik pisang ibu perlu ijin apa", sender=sender))
    new = bodies(harness)[len(seen):]
    seen += new
    assert "Bila dibuat di rumah" in new[0] and "Bila dibuat dengan mesin pabrik" in new[0]
    # Not a plain yes to the data question: a fact about the snack, which settles the route.
    harness.twilio_post(harness.twilio_form("iya di rumah pake alat biasa", sender=sender))
    new = bodies(harness)[len(seen):]
    seen += new
    assert new[0].startswith("Keripik: Izin edar P-IRT") and "Bila" not in new[0]
    assert "boleh saya simpan data usaha Anda" in new[-1]  # the data question waits, unanswered
    with harness.db.session() as s:
        from sqlalchemy import select

        from storage.models import Owner

        assert s.scalars(select(Owner).where(Owner.address == "+6281234567109")).one().consent_at is None


def test_made_at_home_said_in_the_question_needs_no_branches(harness, clock):
    sender = "whatsapp:+6281234567110"
    harness.twilio_post(harness.twilio_form(
        "sy mau tanya, kl bikin keripik singkong di rumah trs dijual ke warung2 itu perlu ijin apa ya bu", sender=sender))
    text = "\n".join(bodies(harness))
    assert "Keripik: Izin edar P-IRT" in text and "mesin pabrik" not in text and "Warung makan" not in text


def test_two_products_in_sundanese_with_the_same_answer_get_it_together(harness, clock):
    sender = "whatsapp:+6281234567111"
    harness.twilio_post(harness.twilio_form("abdi ngadamel opak sareng ranginang, kedah aya izin naon?", sender=sender))
    text = "\n".join(bodies(harness))
    assert text.startswith("Opak dan Ranginang:")  # the owner's own words and "P-IRT" in text


def test_a_packaged_herbal_drink_asked_in_javanese_gets_its_route_not_the_label_rules(harness, clock):
    sender = "whatsapp:+6281234567112"
    harness.twilio_post(harness.twilio_form("mbak, kulo sadean wedang uwuh kemasan, niku kedah izin nopo nggih",
                                            sender=sender))
    text = "\n".join(bodies(harness))
    assert text.startswith("Minuman serbuk") and "P-IRT" in text and "Label pangan" not in text


def test_a_greeting_that_says_what_she_sells_and_facts_beside_a_question_are_heard(harness, clock, content):
    sender = "whatsapp:+6281234567113"
    harness.twilio_post(harness.twilio_form("permisi mbak, ibu pedagang sambel pecel di pasar", sender=sender))
    seen = bodies(harness)
    assert "Sambal" in seen[-1] and "dikalengkan" in seen[-1]  # her product's questions, not a bare welcome
    harness.twilio_post(harness.twilio_form("sambelnya ibu bungkus plastik, tahan sebulan lebih", sender=sender))
    new = bodies(harness)[len(seen):]
    assert new[0] == content.t("legality.fact_noted") and "dikalengkan" in new[-1]
    seen += new
    # Telling of her child helping her type is no fact of a sambal: nothing is "noted".
    harness.twilio_post(harness.twilio_form("ibu udh tua mbak, anak ibu yg bantuin ngetik", sender=sender))
    assert content.t("legality.fact_noted") not in bodies(harness)[len(seen):]
