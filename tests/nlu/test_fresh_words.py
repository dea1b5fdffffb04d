"""Misses found with the fresh corpus (tests/nlu/fresh.yaml, written by a helper who never saw our
rules) and its twelve whole conversations, where real traffic enters (a signed Twilio webhook or a
real Telegram Update JSON, through to the fake providers). Each test checks what the owner reads."""
from __future__ import annotations

from bot.legality import classify
from bot.nlu.answers import thanks_only, yes_no
from bot.nlu.understand import interpret
from bot.normalize import normalize
from tests.nlu.through_channels import Chat

BABY_ROUTE = "Golongan A"  # the full-CPKB route a soap gets when "for babies" is answered yes


def test_telegram_oke_thanks_at_a_product_question_answers_nothing_and_the_question_stays(harness, content, clock):
    """"oke thanks min" at "is it for babies...?" was taken as yes and gave a wrong route (full CPKB,
    Golongan A, for a plain bath soap)."""
    chat = Chat(harness, "telegram", "7700101")
    chat.say("hai min, mau nanya")
    text = "\n".join(chat.say("sabun batang handmade itu wajib notifikasi bpom ya?"))
    assert "mandi" in text
    text = "\n".join(chat.say("oke thanks min"))
    assert "Sama-sama" in text and "mandi" in text and BABY_ROUTE not in text
    assert "bayi" in "\n".join(chat.say("ya"))  # a plain yes still answers
    text = "\n".join(chat.say("sip makasih ya"))
    assert "Sama-sama" in text and BABY_ROUTE not in text


def test_whatsapp_a_cost_question_while_a_soap_is_classified_gets_the_cosmetics_cost(harness, content, clock):
    """"biayanya brp per varian?" asked at a soap's question was "belum bisa menjawab"."""
    chat = Chat(harness, "whatsapp", "+6281234569401")
    chat.say("hai min, mau nanya")
    chat.say("sabun batang handmade itu wajib notifikasi bpom ya?")
    text = "\n".join(chat.say("biayanya brp per varian? sy ada 6 varian wangi"))
    assert "Notifikasi kosmetik" in text and "Rp" in text
    assert "P-IRT" not in text and "mandi" in text  # and the soap's question is asked again


def test_whatsapp_a_common_word_is_no_product_and_a_greeting_with_folded_hands_greets(harness, content, clock):
    """"perasaan" was fuzzed into "prasmanan" and answered with the catering route; "pagi pak 🙏"
    was read as thanks."""
    chat = Chat(harness, "whatsapp", "+6281234569402")
    text = "\n".join(chat.say("pagi pak 🙏"))
    assert "Sama-sama" not in text
    text = "\n".join(chat.say("sy gak pernah daftar perasaan"))
    assert "Katering" not in text and "SLHS" not in text


def test_telegram_faq_questions_in_words_no_example_uses(harness, content, clock):
    """The aspect a question asks (lost, side by side, inspector's visit) with the permit it names
    finds the topic, though no example is worded like it."""
    chat = Chat(harness, "telegram", "7700102")
    text = "\n".join(chat.say("kemarin map isi surat nib ibu kebakar, gmn ngurusnya lg"))
    assert "NIB" in text and "OSS" in text and "Maksud Anda" not in text
    chat2 = Chat(harness, "telegram", "7700103")
    text = "\n".join(chat2.say("halal sm pirt bs diurus bersamaan ga ya"))
    assert "halal" in text.lower() and "Maksud Anda" not in text


def test_acknowledgement_with_thanks_is_no_yes_but_yes_with_thanks_is(content):
    assert yes_no("oke makasih", content) is None and thanks_only("oke makasih", content)
    assert yes_no("iya makasih", content) == "yes" and not thanks_only("iya makasih", content)
    assert yes_no("oke", content) == "yes" and not thanks_only("oke", content)
    assert normalize("🙏", content) == "terima kasih" and "terima" not in normalize("pagi pak 🙏", content)


def test_words_the_examples_use_are_never_fuzzed_into_products(content):
    for word in ("kenapa", "sambil", "jangan", "perasaan", "ingin", "sedang"):
        assert classify.find_products(word, content) == [], word
    assert interpret("izin kripik pisang apa", content).slots.get("product") == "keripik"  # typos still work


def test_whatsapp_before_agreeing_a_story_of_no_permits_and_a_question_about_registering_a_permit(harness, content,
                                                                                                    clock):
    """A grandchild typing for her grandmother: "mbah blm punya apa2 izinnya, cm jualan di pasar"
    got "belum bisa menjawab", and "nib nya bisa sy daftarin ... kan?" was taken as agreeing to the
    data question (UU PDP: consent must be a plain yes)."""
    from sqlalchemy import select

    from storage.models import Owner

    address = "+6281234569403"
    chat = Chat(harness, "whatsapp", address)
    text = "\n".join(chat.say("sy cucunya mbah sumarni"))
    assert "boleh saya simpan data" in text  # an introduction: the welcome, not "belum paham"
    text = "\n".join(chat.say("mbah blm punya apa2 izinnya, cm jualan di pasar aja selama ini"))
    assert "NIB" in text and "gratis" in text
    text = "\n".join(chat.say("nib nya bisa sy daftarin sendiri kan"))
    assert "oss.go.id" in text and "Siapa nama Anda" not in text
    with harness.db.session() as s:
        assert s.scalars(select(Owner).where(Owner.address == address)).one().consent_at is None
    assert "Siapa nama Anda" in "\n".join(chat.say("yowes ibu daftar aja"))


def test_telegram_registering_a_place_typed_at_the_products_question_is_no_product(harness, content, clock):
    """"klaten, kec. wedi" at "Apa saja produk utama Anda?" was stored as two products; a city and a
    district outside Jakarta written together are both taken at the place question."""
    from sqlalchemy import select

    from storage.models import Owner

    chat = Chat(harness, "telegram", "7700104")
    chat.say("halo")
    chat.say("nggih, setuju")
    chat.say("tumini")
    chat.say("jamu bu tum")
    chat.say("jamu")  # the sector, in a product's word
    text = "\n".join(chat.say("klaten, kec. wedi"))
    assert "wilayah" in text.lower() and "produk utama" in text
    text = "\n".join(chat.say("jamu kunir asem, beras kencur"))
    assert "Di mana tempat produksi" in text
    text = "\n".join(chat.say("klaten, kec. wedi"))
    assert "JakOfficer melayani wilayah Jakarta" in text and "SUDAH Anda punya" in text
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == "7700104")).one()
    assert owner.products == ["Jamu kunir asem", "Beras kencur"] or [p.lower() for p in owner.products] == \
        ["jamu kunir asem", "beras kencur"]
    assert (owner.city, owner.district, owner.in_jakarta, owner.sector) == ("Klaten", "Wedi", False, "herbal")


def test_whatsapp_registering_requests_at_free_text_questions_are_not_stored_as_answers(harness, content, clock):
    """At "Usaha Anda membuat apa?" and "Apa saja produk utama Anda?", a request or a question
    ("ada pelatihan buat tukang warung kagak", "SAYA TIDAK PUNYA EMAIL BAGAIMANA") was taken as the
    sector ("warung" is a product word) or stored as products; asking to register at the data
    question ("sy mau daftar dulu biar bisa dibantu") is agreeing."""
    from sqlalchemy import select

    from storage.models import Owner

    address = "+6281234569404"
    chat = Chat(harness, "whatsapp", address)
    chat.say("pagiii bu")
    assert "Siapa nama Anda" in "\n".join(chat.say("sy mau daftar dulu biar bisa dibantu"))
    chat.say("Lestari")
    assert "membuat apa" in "\n".join(chat.say("Selai Tari"))
    text = "\n".join(chat.say("ada pelatihan buat tukang warung kagak di deket sini"))
    assert "pendaftaran ini selesai" in text and "membuat apa" in text  # the events wait; the question stays
    assert "produk utama" in "\n".join(chat.say("makanan"))
    chat.say("pirt sy udh ada dr 2022, skrg pengen cek dapur msh sesuai apa nggak")
    with harness.db.session() as s:
        assert not s.scalars(select(Owner).where(Owner.address == address)).one().products
    chat.say("SAYA TIDAK PUNYA EMAIL BAGAIMANA")
    with harness.db.session() as s:
        assert not s.scalars(select(Owner).where(Owner.address == address)).one().products
    text = "\n".join(chat.say("selai nanas, manisan pala"))
    if "produk utama" in text:  # the question that had been answered first is asked again
        text = "\n".join(chat.say("selai nanas, manisan pala"))
    assert "tempat produksi" in text
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == address)).one()
    assert owner.sector == "food" and [p.lower() for p in owner.products] == ["selai nanas", "manisan pala"]


def test_telegram_two_permits_reported_together_are_both_taken(harness, content, clock):
    """"saya sudah punya NIB dan PIRT pak" got "belum paham" (two permits named: no permit slot), and
    at the registration question "Izin apa yang SUDAH Anda punya?" the sentence was not understood."""
    from sqlalchemy import select

    from storage.models import Owner
    from storage.models.legality import PathwayStep
    from tests.nlu.test_registration_words import registered_chat

    assert interpret("saya sudah punya NIB dan PIRT pak", content).label == "permit_report"
    chat = registered_chat(harness, "telegram", "7700105", ["keripik singkong"])
    text = "\n".join(chat.say("saya sudah punya NIB dan PIRT pak"))
    assert "NIB saya catat sudah ada" in text and "P-IRT" in text and "Produknya apa" in text
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == "7700105")).one()
        nib = s.scalars(select(PathwayStep).where(PathwayStep.owner_id == owner.id,
                                                  PathwayStep.step == "nib")).one()
        assert nib.status == "selesai"

    new = Chat(harness, "telegram", "7700106")
    for line in ("halo", "setuju", "Bu Sri", "Keripik Sri", "makanan", "keripik singkong", "Jakarta Selatan"):
        new.say(line)
    assert "SUDAH Anda punya" in "\n".join(new.say("Tebet"))
    assert "periksa data Anda" in "\n".join(new.say("sy sdh punya NIB dan P-IRT pak"))
    with harness.db.session() as s:
        assert s.scalars(select(Owner).where(Owner.address == "7700106")).one().has_permits == ["nib", "pirt"]


def test_whatsapp_thanks_at_the_district_question_is_no_district_and_a_city_with_its_district_is_both(
        harness, content, clock):
    """"matur suwun nak, mugi berkah" at "Tulis nama kecamatan Anda." was stored as the district;
    "depok, kec. sawangan" still asked the district."""
    from sqlalchemy import select

    from storage.models import Owner

    for address, place in (("+6281234569405", "depok, kec. sawangan"), ("+6281234569406", None)):
        chat = Chat(harness, "whatsapp", address)
        for line in ("halo", "iya boleh nak dicatet", "Darsih", "peyek mbah darsih", "makanan",
                     "peyek kacang ijo sm peyek teri"):
            chat.say(line)
        if place:
            assert "SUDAH Anda punya" in "\n".join(chat.say(place))
        else:
            chat.say("Di luar Jakarta")
            chat.say("Kab Bogor")
            text = "\n".join(chat.say("matur suwun nak, mugi berkah"))
            assert "Sama-sama" in text and "kecamatan" in text
            assert "SUDAH Anda punya" in "\n".join(chat.say("Cileungsi"))
        with harness.db.session() as s:
            owner = s.scalars(select(Owner).where(Owner.address == address)).one()
        assert (owner.city, owner.district) == (("Depok", "Sawangan") if place else ("Kab Bogor", "Cileungsi"))


def test_telegram_a_javanese_owner_registers_and_sets_a_reminder_in_his_own_words(harness, content, clock):
    """Pak Karto writes Javanese ngoko: products given at the sector question were asked again, "nib
    durung duwe, pirt yo durung" at the permits question got an FAQ about selling first, and "tulung
    engetke senen ngarep jam 8 esuk ngurus nib" was not understood (and handed to a mentor)."""
    from sqlalchemy import select

    from storage.models import Owner

    chat = Chat(harness, "telegram", "7700107")
    for line in ("sugeng enjing", "setuju", "Sukarto", "Jahe Instan Pak Karto"):
        chat.say(line)
    assert "tempat produksi" in "\n".join(chat.say("jahe instan, kunir instan"))
    assert "SUDAH Anda punya" in "\n".join(chat.say("surakarta, kec. laweyan"))
    text = "\n".join(chat.say("nib durung duwe, pirt yo durung"))
    assert "Belum punya semuanya" in text and "Sudah benar" in text
    chat.say("benar")
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == "7700107")).one()
    assert owner.sector == "food" and [p.lower() for p in owner.products] == ["jahe instan", "kunir instan"]
    assert owner.has_permits == []
    text = "\n".join(chat.say("tulung engetke senen ngarep jam 8 esuk ngurus nib"))
    assert "Senin" in text and "08.00" in text and "ngurus nib" in text and "pendamping" not in text.lower()
