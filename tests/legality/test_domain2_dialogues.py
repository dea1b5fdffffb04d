"""DOMAIN-2 through the real pipeline: the jamu-drink claims question, the new steps (SLHS, lab
testing, trademark, cosmetics production certificate or maklon), whitening and fresh-food answers,
and product questions whose facts are all in the first message."""
from __future__ import annotations

from sqlalchemy import select

from storage.models.legality import LegalityProduct
from tests.dialogue_runner import Conversation
from tests.legality.test_flow import registered, steps


def texts(replies) -> str:
    return "\n".join(r.text for r in replies)


def read_all(conv: Conversation, replies) -> str:
    """The reply and, while it ends with "Ketik LANJUT...", what LANJUT brings (the message budget)."""
    parts = [texts(replies)]
    hint = conv.content.t("common.more_hint", "id")
    for _ in range(5):
        if not parts[-1].rstrip().endswith(hint):
            break
        parts.append(texts(conv.send("LANJUT")))
    assert not parts[-1].rstrip().endswith(hint), "LANJUT never reached the end"
    return "\n".join(parts)


def product_row(db) -> LegalityProduct:
    with db.session() as session:
        return session.scalars(select(LegalityProduct)).one()


def stranger(db, content, user: str = "+628129990001") -> Conversation:
    return Conversation(db=db, content=content, channel="whatsapp", user=user, lang="id")


def test_a_bottled_jamu_drink_asks_about_claims_and_without_one_it_is_processed_food(db, content, clock):
    conv = registered(db, content, products=["kunyit asam botol"], has_permits=["nib"])
    assert "dijual langsung hari itu" in texts(conv.send("izin saya"))
    claims = texts(conv.send("tidak"))
    assert "klaim khasiat obat" in claims and "meredakan nyeri haid" in claims
    conv.send("tidak")  # no medicinal claim
    route = texts(conv.send("ya"))  # made at home with simple tools
    assert "BPOM MD" in route and "minuman botanikal" in route and "Uji laboratorium produk" in route
    assert (product_row(db).route, product_row(db).halal_route) == ("md", "halal_sd")


def test_a_jamu_drink_sold_with_a_medicinal_claim_is_traditional_medicine(db, content, clock):
    conv = registered(db, content, products=["beras kencur botol"], has_permits=["nib"])
    conv.send("izin saya")
    conv.send("tidak")  # packaged for shops
    route = texts(conv.send("ya"))  # sold with a medicinal claim
    assert "UKOT" in route and "TR" in route and "obat tradisional (TR), bukan pangan" in route
    assert product_row(db).route == "ukot"


def test_a_claim_and_packaging_in_the_first_message_are_not_asked_again(db, content, clock):
    replies = stranger(db, content).send("izin beras kencur buat pelancar haid, dikemas untuk toko apa?")
    text = texts(replies)
    assert "UKOT" in text and "klaim khasiat" in text
    assert "Apakah" not in text  # nothing asked: the message gave every fact


def test_every_fact_in_the_first_message_means_no_question(db, content, clock):
    text = texts(stranger(db, content).send("izin rendang kering buatan sendiri bahannya halal apa?"))
    assert "P-IRT" in text and "Apakah" not in text
    text = texts(stranger(db, content, user="+628129990002").send("izin bolu yang cuma awet 3 hari apa?"))
    assert "Tidak perlu izin edar" in text and "7 hari" not in text.split("karena")[0]
    assert "lebih dari 7 hari di suhu ruang" not in text  # the shelf-life question is not asked


def test_catering_gets_the_slhs_step_and_may_plan_halal(db, content, clock):
    conv = registered(db, content, products=["nasi kotak"], has_permits=["nib"])
    text = read_all(conv, conv.send("izin saya"))
    assert "SLHS" in text and "Dinas Kesehatan" in text
    assert "Langkah berikutnya" in text and "Sertifikat Laik Higiene Sanitasi" in text
    assert set(steps(db)) == {"nib", "slhs", "halal_reg"}


def test_factory_food_goes_through_lab_testing_and_ends_with_the_trademark(db, content, clock):
    conv = registered(db, content, products=["keripik"], has_permits=["nib"])
    conv.send("izin saya")
    text = read_all(conv, conv.send("tidak"))  # made with factory machines
    assert "BPOM MD" in text
    text = text[text.index("Langkahnya:"):]  # the list of steps
    assert text.index("Uji laboratorium produk") < text.index("Izin edar BPOM MD") < text.index("Pendaftaran merek")
    assert {"uji_lab", "md", "merek"} <= set(steps(db))


def test_cosmetics_name_the_production_certificate_and_maklon_the_recommendation(db, content, clock):
    conv = registered(db, content, products=["lulur", "skincare maklon"], has_permits=["nib"])
    text = read_all(conv, conv.send("izin saya"))
    assert "Sertifikat Produksi Kosmetika" in text
    assert "Rekomendasi Pemohon Notifikasi (maklon)" in text
    assert {"prod_kosmetik", "rekom_maklon", "uji_lab", "notif"} <= set(steps(db))


def test_whitening_cosmetics_warn_about_banned_agents(db, content, clock):
    text = texts(stranger(db, content).send("izin krim pemutih apa?"))
    assert "merkuri" in text and "hidrokuinon" in text and "tretinoin" in text


def test_fresh_food_is_named_outside_bpom_with_where_it_belongs(db, content, clock):
    conv = stranger(db, content)
    assert "NKV" in texts(conv.send("izin jual telur apa?"))
    assert "PSAT" in texts(conv.send("izin jual beras apa?"))
    assert "KKP" in texts(conv.send("izin jual ikan segar apa?"))


def test_domain2_questions_that_found_nothing_or_the_wrong_rule_are_answered(db, content, clock):
    conv = stranger(db, content)
    assert texts(conv.send("warung makan bisa self declare?")).startswith("Bisa.")
    assert "14 hari kerja" in texts(conv.send("notifikasi kosmetik berapa lama jadinya"))
    assert "SLHS" in texts(conv.send("air minum isi ulang perlu izin apa"))
    assert "Dinas Kesehatan" in texts(conv.send("SLHS apa"))
    assert "merek.dgip.go.id" in texts(conv.send("cara daftar merek"))
    assert "uji laboratorium" in texts(conv.send("perlu uji lab untuk bpom"))


def test_an_answer_in_the_owners_own_words_settles_the_question_and_extra_facts(db, content, clock):
    conv = registered(db, content, products=["bolu"], has_permits=["nib"])
    assert "lebih dari 7 hari" in texts(conv.send("izin saya"))
    text = texts(conv.send("cuma awet 3 hari"))  # no yes/no word: the days answer the shelf-life question
    assert "Maaf" not in text and "lebih dari 7 hari" not in text and "bahannya jelas halal" in text
    conv.send("ya")
    assert (product_row(db).route, product_row(db).answers["shelf_life"]) == ("food_none", False)
    conv2 = registered(db, content, products=["rendang"], has_permits=["nib"], user="+628120000002")
    assert "beku" in texts(conv2.send("izin saya"))
    text = texts(conv2.send("gak, tapi awet sebulan"))  # answers frozen/canned AND gives the shelf life
    assert "lebih dari 7 hari" not in text and "alat sederhana" in text
