"""The data question (consent) in an older owner's own words, where real traffic enters: a signed
Twilio webhook or a real Telegram Update JSON, through the pipeline to the fake providers.

Each test is a miss seen when typing as a 60-year-old owner: a wish read as "yes, store my data",
a worry about computers answered with the consent text again, details written before agreeing
answered five times with the same reminder, a product question at the data question called an
unknown product, and "ya boleh deh disimpen" taken as a yes to a question about the product."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Owner
from tests.nlu.through_channels import telegram as _telegram, whatsapp as _whatsapp

NOT_UNDERSTOOD = ("belum paham", "belum bisa menjawab")


def _owner(harness, address: str) -> Owner:
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == address)).one()
        s.expunge(owner)
        return owner


def _new(read: list[str], before: int) -> str:
    text = "\n".join(read[before:])
    assert read[before:], "no answer"
    assert all(len(t) <= 450 for t in read[before:]), [len(t) for t in read[before:]]
    return text


def test_whatsapp_wanting_a_person_at_the_data_question_is_no_consent(harness, content, clock):
    sender = "whatsapp:+6281234569101"
    read = _whatsapp(harness, "halo", sender)
    assert content.t("registration.welcome") in read
    before = len(read)
    read = _whatsapp(harness, "mau ngomong sama orang aja", sender)
    said = _new(read, before)
    assert "pendamping" in said and "persetujuan" in said  # the wish heard, the data question kept
    assert content.t("registration.ask_name") not in read
    assert _owner(harness, "+6281234569101").consent_at is None
    before = len(read)
    read = _whatsapp(harness, "ada yg bs bantuin ga mbak", sender)
    said = _new(read, before)
    assert "pendamping" in said and not any(p in said for p in NOT_UNDERSTOOD)
    assert _owner(harness, "+6281234569101").consent_at is None


def test_telegram_a_worry_about_computers_gets_no_computer_needed(harness, content, clock):
    read = _telegram(harness, "assalamualaikum", 70901)
    before = len(read)
    read = _telegram(harness, "ibu gak ngerti komputer", 70901)
    said = _new(read, before)
    assert "Tidak perlu komputer" in said and "JakOfficer" in said
    assert content.t("registration.consent_explain") not in said
    before = len(read)
    read = _telegram(harness, "sy gaptek bgt nak", 70901)  # again, other words: not the same text twice
    said = _new(read, before)
    assert read[before] != read[before - 1]
    assert _owner(harness, "70901").consent_at is None


def test_whatsapp_details_before_agreeing_get_a_new_answer_each_time_then_1_agrees(harness, content, clock):
    sender = "whatsapp:+6281234569102"
    read = _whatsapp(harness, "permisi", sender)
    answers = []
    for text in ("Ratna Sari", "usaha sy di jaksel", "rumahan aja"):
        before = len(read)
        read = _whatsapp(harness, text, sender)
        answers.append(_new(read, before))
    assert content.t("registration.consent_details") in answers[0]  # why nothing is noted yet
    assert all(a != b for a, b in zip(answers, answers[1:])), answers  # never the same twice in a row
    assert any("pendamping" in a for a in answers)
    assert not any(p in "\n".join(answers) for p in NOT_UNDERSTOOD)
    owner = _owner(harness, "+6281234569102")
    assert owner.consent_at is None and owner.name is None  # nothing written before consent (UU PDP)
    before = len(read)
    read = _whatsapp(harness, "1", sender)
    assert _new(read, before) == content.t("registration.ask_name")
    assert _owner(harness, "+6281234569102").consent_at is not None


def test_whatsapp_a_product_question_at_the_data_question_gets_its_own_questions(harness, content, clock):
    sender = "whatsapp:+6281234569103"
    read = _whatsapp(harness, "halo", sender)
    before = len(read)
    read = _whatsapp(harness, "sambel roa botolan ibu perlu ijin apa", sender)
    said = _new(read, before)
    assert "Sambal" in said and "botolan" not in said  # never "an unknown product 'botolan'"
    assert "disterilkan" in said  # the classification question
    # Agreeing to the data in her own words is consent, not a "yes, it is sterilised".
    before = len(read)
    read = _whatsapp(harness, "ya boleh deh disimpen", sender)
    said = _new(read, before)
    assert _owner(harness, "+6281234569103").consent_at is not None
    assert content.t("registration.ask_name") in said


def test_telegram_is_a_permit_compulsory_is_answered_plainly_with_the_first_step(harness, content, clock):
    """An owner afraid of permits asks whether they are compulsory, and what happens without one."""
    read = _telegram(harness, "klo ketauan jualan ga ada ijin dihukum ga", 70902)
    said = _new(read, 0)
    assert not any(p in said for p in NOT_UNDERSTOOD)
    assert "wajib punya izin edar" in said and "gratis di oss.go.id" in said
    assert "kurang dari 7 hari" in said  # when no permit is needed, said in the same breath
    before = len(read)
    read = _telegram(harness, "apa untungnya sih ngurus ijin itu", 70902)
    said = _new(read, before)
    # The same answer right after it: a short pointer, never the long text twice in a row.
    assert "wajib punya izin edar" not in said and said


def test_whatsapp_registration_answers_in_own_words_are_taken(harness, content, clock):
    """Products joined with "sama", and "no permit at all yet" at the permits question, are answers."""
    sender = "whatsapp:+6281234569104"
    for text in ("pagi mbak", "iya boleh", "Bu Endang", "Dapur Endang", "makanan",
                 "kripik singkong balado sama rengginang", "jakarta timur", "duren sawit"):
        read = _whatsapp(harness, text, sender)
    assert content.t("registration.ask_permits") in read[-1]
    before = len(read)
    read = _whatsapp(harness, "blm ada ijin apa2", sender)
    said = _new(read, before)
    assert "Sudah benar?" in said  # the summary: the answer was taken, not asked again
    assert content.t("registration.ask_permits") not in said
    owner = _owner(harness, "+6281234569104")
    assert owner.has_permits == [] and owner.products == ["kripik singkong balado", "rengginang"]


def test_whatsapp_a_vague_question_with_nothing_before_it_asks_which_permit(harness, content, clock):
    """"Bayar ga?" as a first message: never the cost of one permit picked by guess."""
    sender = "whatsapp:+6281234569105"
    read = _whatsapp(harness, "itu bayar gak ya pak", sender)
    said = _new(read, 0)
    assert said.startswith(content.t("legality.faq_choose"))
    assert "Biaya NIB" in said and "Biaya P-IRT" in said and "pendamping" in said.lower()
    before = len(read)
    read = _whatsapp(harness, "yg nib", sender)
    said = _new(read, before)
    assert "NIB" in said and "gratis" in said
    # Naming the permit answers at once.
    before = len(read)
    read = _whatsapp(harness, "kalo halal bayar gak", sender)
    assert "SEHATI" in _new(read, before)


def test_whatsapp_a_yes_that_tells_a_story_is_no_consent_and_a_question_is_no_name(harness, content, clock):
    """Consent is a plain yes (UU PDP): "iya bikinnya di dapur sendiri..." answers something else.
    And a worry typed at "Siapa nama Anda?" is answered, never saved as the owner's name."""
    sender = "whatsapp:+6281234569106"
    read = _whatsapp(harness, "assalamualaikum", sender)
    before = len(read)
    read = _whatsapp(harness, "iya bikinnya di dapur sendiri pake kompor biasa", sender)
    said = _new(read, before)
    assert _owner(harness, "+6281234569106").consent_at is None
    assert content.t("registration.ask_name") not in said
    before = len(read)
    read = _whatsapp(harness, "bolehlah sy didaftar", sender)  # asking to be registered is agreeing
    assert _new(read, before) == content.t("registration.ask_name")
    before = len(read)
    read = _whatsapp(harness, "ngurusnya ribet gak, ibu cuma lulusan sd", sender)
    said = _new(read, before)
    assert "Tidak perlu sekolah tinggi" in said and "oss.go.id" in said
    assert said.endswith(content.t("registration.ask_name"))  # the question again, after the answer
    assert _owner(harness, "+6281234569106").name is None
    before = len(read)
    read = _whatsapp(harness, "Warsih", sender)
    assert _owner(harness, "+6281234569106").name == "Warsih"
