"""Owners' own words, where real traffic enters: a signed Twilio webhook or a real Telegram Update
JSON, through the pipeline and the real twilio / python-telegram-bot clients to the local fake
providers. Each test checks what the owner reads (the lead's misses as a 60-year-old owner, and
the new answers: costs, jamu claims, the home kitchen, product facts, selling, reminders)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from bot.clock import utcnow
from bot.legality import classify, pathway
from storage.models import Owner
from storage.models.legality import LegalityProduct
from storage.models.reminders import Reminder
from tests.nlu.through_channels import telegram as _telegram, whatsapp as _whatsapp

NOT_UNDERSTOOD = ("belum paham", "belum bisa menjawab")


def _register(db, channel: str, address: str, **fields) -> None:
    with db.session() as s:
        s.add(Owner(channel=channel, address=address, lang="id", name="Bu Wati", business_name="Jamu Wati",
                    sector="food", in_jakarta=True, products=fields.pop("products", ["kunyit asam"]),
                    has_permits=["nib"], consent_at=utcnow(), registered_at=utcnow(), **fields))


def _understood(texts: list[str]) -> None:
    joined = "\n".join(texts).lower()
    assert not any(phrase in joined for phrase in NOT_UNDERSTOOD), joined
    assert all(len(t) <= 450 for t in texts), [len(t) for t in texts]


def test_whatsapp_a_worried_new_owner_asking_if_pirt_costs_money_is_told_it_is_usually_free(harness, content, clock):
    sent = _whatsapp(harness, "kalo pirt itu bayar ga, ibu ga punya duit banyak", "whatsapp:+6281234568001")
    _understood(sent)
    assert "P-IRT" in sent[0] and "umumnya gratis" in sent[0] and "pemda kabupaten/kota" in sent[0]
    assert "Tanyakan ke pendamping" in sent[0]  # a `verify` fact carries the mentor caveat
    assert content.t("registration.welcome") not in sent  # answered first, no consent text
    assert sent[-1] == content.t("nlu.first_contact.invite")
    # Another cost, other words, the same owner: all the permits' costs at once.
    sent = _whatsapp(harness, "trus ngurus izin2 lainnya juga mahal ga bu", "whatsapp:+6281234568001")[2:]
    _understood(sent)
    assert "Banyak yang gratis" in sent[0] and "NIB" in sent[0] and "50%" in sent[0]


def test_telegram_a_cure_claim_on_jamu_is_answered_with_what_may_be_written(harness, clock):
    _register(harness.db, "telegram", "70301")
    sent = _telegram(harness, "jamu beras kencur ibu bisa nyembuhin masuk angin, boleh ditulis gitu?", 70301)
    _understood(sent)
    assert "Jangan tulis 'menyembuhkan'" in sent[0]
    assert "Secara tradisional digunakan untuk" in sent[0] and "TR" in sent[0]
    assert "terakhir kami cek" in "\n".join(sent)  # a `verify` fact: the date and the mentor caveat
    before = len(sent)
    # A claim on a food label (not jamu) gets the food rule instead.
    sent = _telegram(harness, "rengginang sy boleh ditulis bikin sehat jantung ga di kemasannya", 70301)[before:]
    _understood(sent)
    assert "tidak boleh memuat klaim kesehatan" in sent[0]


def test_whatsapp_a_product_fact_without_a_question_updates_a_registered_owners_pathway(harness, content, clock):
    _register(harness.db, "whatsapp", "+6281234568002")
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == "+6281234568002")).one()
        bottled = classify.decide(content, "jamu_cair", {"fresh_direct": False, "medicinal_claim": False,
                                                          "home_tools": True})
        assert bottled.route == "md"
        pathway.add_product(s, owner, "kunyit asam botol", bottled, content, utcnow())
    sent = _whatsapp(harness, "kunir asemnya tahan seminggu doang dikulkas", "whatsapp:+6281234568002")
    _understood(sent)
    text = "\n".join(sent)
    assert "saya catat untuk kunyit asam botol" in text and "berubah" in text
    assert "Tidak perlu izin edar P-IRT" in text and "kurang dari 7 hari" in text
    with harness.db.session() as s:
        product = s.scalars(select(LegalityProduct)).one()
        assert product.route == "food_none" and product.answers["shelf_life"] is False


def test_whatsapp_a_new_owner_telling_a_shelf_life_hears_what_it_means_for_the_permit(harness, content, clock):
    sent = _whatsapp(harness, "bolu kukus buatan sy cuma tahan 2 hari bu", "whatsapp:+6281234568003")
    _understood(sent)
    text = "\n".join(sent)
    assert text.startswith(content.t("legality.fact_noted"))
    assert "Tidak perlu izin edar P-IRT" in text and "kurang dari 7 hari" in text
    assert text.count("DAFTAR") == 1  # one invitation, not two


def test_telegram_a_reminder_for_the_5th_is_set_and_no_self_check_starts(harness, clock):
    _register(harness.db, "telegram", "70302")  # Monday 23-11-2026 09:00 WIB
    sent = _telegram(harness, "tlg kabarin sy tgl 5 buat cek dapur", 70302)
    _understood(sent)
    assert sent == ['Baik, saya ingatkan "cek dapur" Sabtu 05-12 jam 09.00 👍']
    assert not any("37 pertanyaan" in t for t in sent)
    with harness.db.session() as s:
        reminder = s.scalars(select(Reminder)).one()
        assert reminder.due_at.replace(tzinfo=timezone.utc) == datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)


def test_whatsapp_a_small_kitchen_with_an_earth_floor_gets_practical_advice(harness, clock):
    _register(harness.db, "whatsapp", "+6281234568004")
    sent = _whatsapp(harness, "dapur sy kecil bgt, lantainya tanah, gmn", "whatsapp:+6281234568004")
    _understood(sent)
    assert len(sent) == 1
    assert "lantai tanah belum memenuhi" in sent[0] and "plester semen" in sent[0]
    assert "Mulai dari lantai" in sent[0]  # one next step
    sent = _whatsapp(harness, "trus kalo ada kecoa sama kucing suka masuk dapur gmn bu", "whatsapp:+6281234568004")[1:]
    _understood(sent)
    assert "Hewan peliharaan" in sent[0] and "kasa" in sent[0]


def test_telegram_selling_in_a_minimarket_and_setting_an_expiry_date_are_answered(harness, clock):
    sent = _telegram(harness, "bu kalo mau naro produk di alfamart harus punya apa aja", 70303)
    _understood(sent)
    assert "izin edar" in sent[0] and "barcode" in sent[0]
    sent = _telegram(harness, "tanggal kadaluarsa di label itu sy sendiri yg nentuin?", 70303)[2:]
    _understood(sent)
    assert "tanggal kedaluwarsa" in sent[0] and "7 hari" in sent[0]


def test_telegram_a_product_fact_puts_a_registered_product_into_the_pathway(harness, clock):
    _register(harness.db, "telegram", "70304", products=["kunyit asam", "keripik tempe"])
    sent = _telegram(harness, "kunir asemnya tahan seminggu doang dikulkas", 70304)
    _understood(sent)
    text = "\n".join(sent)
    assert "saya catat kunyit asam di jalur izin Anda" in text and "kurang dari 7 hari" in text
    with harness.db.session() as s:
        product = s.scalars(select(LegalityProduct)).one()
        assert (product.name, product.route, product.answers["shelf_life"]) == ("kunyit asam", "food_none", False)
    # IZIN SAYA goes on with the other registered product only: kunyit asam is settled.
    sent = _telegram(harness, "izin saya", 70304)[len(sent):]
    assert "keripik tempe" in sent[0] and not any("kunyit" in t.lower() for t in sent), sent
