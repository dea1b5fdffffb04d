"""Registering, in an older owner's words, where real traffic enters (signed Twilio webhooks and
Telegram Update JSON, through to the fake providers): a name after "bu" is no product, a question
at "Siapa nama Anda?" is no name, a permit reported done half-way through registration is noted
without leaving it, an NIB alone is never "every permit done", and LANJUT after registering shows
the permits, not a self-check. Each test checks what the owner reads."""
from __future__ import annotations

from sqlalchemy import select

from bot.clock import utcnow
from storage.models import Owner
from tests.nlu.through_channels import Chat

ALL_DONE = "Semua izin di jalur Anda sudah selesai"


def registered_chat(harness, channel: str, address: str, products: list[str]) -> Chat:
    """A registered owner (consent given, products known), and a chat with them on `channel`."""
    with harness.db.session() as s:
        s.add(Owner(channel=channel, address=address, lang="id", name="Bu Tin", business_name="Dapur Tin",
                    sector="food", in_jakarta=True, products=products, has_permits=[], consent_at=utcnow(),
                    registered_at=utcnow()))
    return Chat(harness, channel, address)


def _owner(harness, address: str) -> Owner:
    with harness.db.session() as s:
        return s.scalars(select(Owner).where(Owner.address == address)).one()


def test_whatsapp_the_owners_name_after_bu_is_never_read_as_a_product(harness, content, clock):
    # "endang" is one letter from "rendang": it was answered as rendang (a meat dish, MD route).
    chat = Chat(harness, "whatsapp", "+6281234569301")
    text = "\n".join(chat.say("slmt siang, sy bu endang jualan rengginang"))
    assert "Rengginang" in text and "P-IRT" in text
    assert "Rendang" not in text


def test_whatsapp_registering_in_own_words_a_question_is_no_name_and_an_nib_reported_is_kept(harness, content,
                                                                                             clock):
    address = "+6281234569302"
    chat = Chat(harness, "whatsapp", address)
    chat.say("assalamualaikum bu")
    assert chat.say("iya boleh")[-1] == content.t("registration.ask_name")
    # A question typed where the name is asked is never saved as the name: what it asks for (the
    # permit steps) is promised for when registration is done, and registration goes on.
    sent = chat.say("trus sy hrs ngapain dulu")
    assert content.t("registration.after.legality") in sent[0]
    assert sent[-1].endswith(content.t("registration.ask_name"))
    assert _owner(harness, address).name is None
    chat.say("Endang Suryani")
    # Half-way through registration: the NIB is reported done. Noted; registration goes on.
    sent = chat.say("udah tadi pagi nib nya jadi")
    text = "\n".join(sent)
    assert "NIB" in text and "sudah jadi" in text and ALL_DONE not in text
    assert sent[-1].endswith(content.t("registration.ask_business"))
    for answer in ("Rengginang Bu Endang", "makanan", "rengginang sm kerupuk gendar", "jakarta timur",
                   "duren sawit"):
        chat.say(answer)
    summary = "\n".join(chat.say("blm ada apa2"))  # nothing else: the NIB told earlier is kept
    assert "Izin yang dimiliki: NIB" in summary
    sent = chat.say("benar")
    assert sent[0].startswith("Terima kasih") and "Data Anda tersimpan ✅" in sent[0]
    assert "balas LANJUT" not in sent[0]  # no second next step: the permits follow at once
    # ... and then what was asked half-way: the permit steps, starting with the products' questions.
    assert "rengginang" in "\n".join(sent) and ALL_DONE not in "\n".join(sent)
    assert _owner(harness, address).has_permits == ["nib"]
    assert _owner(harness, address).name == "Endang Suryani"


def test_telegram_lanjut_after_registering_shows_the_permits_not_a_self_check(harness, content, clock):
    chat = registered_chat(harness, "telegram", "70502", products=["rempeyek"])
    text = "\n".join(chat.say("lanjut"))
    assert "rempeyek" in text and "Cek mandiri" not in text and ALL_DONE not in text


def test_telegram_an_nib_alone_is_not_every_permit_done(harness, content, clock):
    """A registered owner with no product on the pathway reports the NIB with its number: the next
    step is the products' permit, never "Selamat! Semua izin ... sudah selesai"."""
    chat = registered_chat(harness, "telegram", "70501", products=[])
    sent = chat.say("nib sy udh keluar")
    assert "13 angka" in sent[-1]
    text = "\n".join(chat.say("8120012345678"))
    assert "NIB" in text and ALL_DONE not in text
    assert content.t("legality.products_next") in text
    assert content.t("legality.ask_product") in text


def test_whatsapp_pausing_the_self_check_in_own_words_keeps_the_answers(harness, content, clock):
    chat = registered_chat(harness, "whatsapp", "+6281234569303", products=["rempeyek"])
    assert "37 pertanyaan" in "\n".join(chat.say("mau cek dapur sy udh bener blm"))
    assert "(1/37)" in chat.say("ya")[-1]
    assert "(2/37)" in chat.say("iya ada")[-1]
    text = "\n".join(chat.say("jeda dulu ya cucu sy nangis"))
    assert "dijeda" in text and "1 dari 37" in text
    assert "1 dari 37" in "\n".join(chat.say("cek mandiri"))
    assert "(2/37)" in chat.say("lanjutkan")[-1]


def test_whatsapp_an_own_reminder_set_then_moved_in_own_words_and_erasing_asks_first(harness, content, clock):
    chat = registered_chat(harness, "whatsapp", "+6281234569304", products=["rempeyek"])
    # A reminder request naming the PKP is the reminder, not the PKP answer (it was offered as a choice).
    text = "\n".join(chat.say("nak tolong ingetin ibu tgl 3 desember ada penyuluhan pkp di puskesmas"))
    assert "saya ingatkan" in text and "03-12" in text and "Maksud Anda yang mana" not in text
    # A time alone, just after: that reminder's time.
    text = "\n".join(chat.say("jam 8 pagi"))
    assert "saya pindah ke" in text and "03-12 jam 08.00" in text
    text = "\n".join(chat.say("eh yg tgl 3 itu dimajuin jd tgl 2"))
    assert "saya pindah ke" in text and "02-12 jam 08.00" in text
    listed = "\n".join(chat.say("pengingat ibu apa aja ya"))
    assert "02-12-2026: ada penyuluhan pkp di puskesmas (jam 08.00)" in listed and "03-12-2026: ada" not in listed
    chat.say("selesai")
    # Leaving the programme and erasing everything: asked first, nothing erased yet.
    text = "\n".join(chat.say("ibu mau berhenti aja dr program ini, hapus semua"))
    assert "yakin ingin menghapus SEMUA data" in text
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == "+6281234569304")).one()
        assert owner.opted_out_at is None


def test_whatsapp_a_first_conversation_of_an_older_owner_before_agreeing(harness, content, clock):
    """Ten messages typed as a 60-year-old owner (the session's own check), replayed: before, the
    cookie was "outside what I can help", the office question got the renewal answer, "blm pny nib"
    got "I need your consent first", "iya boleh nak, simpen aja" was no consent and the reminder
    was "coba, tolong ngurus nib"."""
    address = "+6281234569305"
    chat = Chat(harness, "whatsapp", address)
    chat.say("assalamualaikum nak, ibu mau tanya2 soal ijin jualan")
    text = "\n".join(chat.say("ibu bikin kue semprit sm kue kacang buat lebaran, dititip ke toko tetangga"))
    assert text.startswith("Kue kering:") and "di luar" not in text
    assert "Kue kering: Izin edar P-IRT" in chat.say("ya ibu bikin sendiri di dapur")[0]
    assert "JakEVO" in "\n".join(chat.say("yg pirt itu ngurusnya kemana nak, ibu di cipayung"))
    text = "\n".join(chat.say("kalo ibu ga bisa ke kantornya gmn"))
    assert "AJIB" in text and "perpanjangan" not in text.lower()
    assert "Langkah pertama selalu NIB" in chat.say("ibu blm pny nib jg")[0]
    chat.say("ok nak nanti ibu coba, tolong ingetin ibu senin dpn ya buat ngurus nib")
    text = "\n".join(chat.say("iya boleh nak, simpen aja"))  # agreeing: the reminder asked for is set
    assert 'saya ingatkan "ngurus nib" Senin 30-11' in text
    assert _owner(harness, address).consent_at is not None


def test_telegram_thanks_for_the_help_mid_registration_is_thanks_not_the_help_page(harness, content, clock):
    chat = Chat(harness, "telegram", "70503")
    chat.say("assalamualaikum")
    assert chat.say("yaudah sy ikut aja, simpen data sy")[-1] == content.t("registration.ask_name")
    sent = chat.say("mkasih pak atas bantuannya")  # "mkasih": thanks; "bantuan" made it the help page
    assert "Cara memakai Asisten UMKM" not in "\n".join(sent)
    assert sent[-1].endswith(content.t("registration.ask_name"))
