"""Owner registration (JakPreneur P1 Pendaftaran).

Purpose: consent first (UU PDP 27/2022), then the few facts the legality pathway needs. Every
answer is saved on the owner at once, so the flow resumes where it stopped, even days later.
Entry words: DAFTAR, UBAH DATA, a greeting or first message from a new owner, the menu.

Steps (in order; `_next_missing` picks the first unanswered one):
    consent  -> name -> business -> sector -> products -> city -> [city_other] -> district
             -> permits -> confirm -> (done)            confirm --"ubah"--> edit -> <field> -> confirm

    Bot:   Halo! Saya Asisten UMKM ... Apakah Anda setuju?  1. Setuju 2. Tidak setuju
    Owner: 1
    Bot:   Siapa nama Anda?
    Owner: siti aminah
    Bot:   Apa nama usaha Anda? ...
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

from bot import locations, names
from bot.choices import Option, match_option
from bot.clock import as_utc
from bot.nlu.answers import says_thanks
from bot.normalize import normalize, word_set
from bot.turn import Turn
from flows.base import NOT_UNDERSTOOD, Flow, Step

SECTOR_ALIASES = {
    "food": ["makanan", "minuman", "pangan", "kue", "keripik", "snack", "sambal", "kuliner", "food", "drink"],
    "cosmetics": ["kosmetik", "sabun", "lulur", "lotion", "skincare", "kecantikan", "cosmetic"],
    "herbal": ["jamu", "herbal", "obat tradisional", "minyak gosok", "param", "obat herbal"],
    "other": ["lain", "lainnya", "other"],
}
PERMITS = ["nib", "pirt", "bpom", "halal", "pkp"]
PERMIT_ALIASES = {
    "nib": ["nib", "nomor induk berusaha", "oss"],
    "pirt": ["pirt", "spp irt", "sppirt", "izin pangan"],
    "bpom": ["bpom", "md", "na", "tr", "izin edar", "notifikasi"],
    "halal": ["halal", "sertifikat halal"],
    "pkp": ["pkp", "penyuluhan", "sertifikat pkp", "keamanan pangan"],
    "none": ["belum", "belum ada", "tidak ada", "belum punya", "none", "nothing"],
}
FIELD_STEPS = {"name": "name", "business": "business", "sector": "sector", "products": "products",
               "place": "city", "permits": "permits"}
MAX_PRODUCTS = 10
NAME_WORDS, BUSINESS_WORDS = 6, 8  # longer is a story or a question, not a name
# "kripik singkong sama rengginang", "peyek ma kue bawang": owners join products with sama / ma / sm.
_SPLIT_PRODUCTS = re.compile(r"\s*(?:,|;|\n|/|&|\bdan\b|\band\b|\bsama\b|\bama\b|\bsm\b|\bma\b|\bserta\b"
                             r"|\bplus\b|\+)\s*", re.IGNORECASE)
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


# --- helpers -------------------------------------------------------------------------------------
def _clean_name(text: str, limit: int, proper_noun: bool = True) -> str | None:
    value = " ".join(text.split())
    if not (2 <= len(value) <= limit) or not _HAS_LETTER.search(value):
        return None
    # "siti aminah" is how people type on a phone, not how they write their name.
    return value.title() if proper_noun and value.islower() else value


def _sector_options(turn: Turn) -> list[Option]:
    return [turn.option(key, f"registration.sector_{key}", SECTOR_ALIASES[key]) for key in SECTOR_ALIASES]


def _permit_options(turn: Turn) -> list[Option]:
    options = [turn.option(key, f"registration.permit_{key}", PERMIT_ALIASES[key]) for key in PERMITS]
    options.append(turn.option("none", "registration.permit_none", PERMIT_ALIASES["none"]))
    return options


def _city_options(turn: Turn) -> list[Option]:
    options = [Option(a.key, a.name, a.aliases) for a in locations.areas(turn.content)]
    options.append(turn.option("outside", "registration.city_outside", ["luar jakarta", "luar kota", "daerah"]))
    return options


def _district_options(turn: Turn) -> list[Option]:
    area = locations.area_by_key(turn.content, turn.owner.city)
    return [Option(k.key, k.name, k.aliases) for k in area.kecamatan] if area else []


# Permits the owner said were done while registering ("udah tadi pagi nib nya jadi" at "Apa nama
# usaha Anda?"): noted, and added to the answer of the permits step.
TOLD_KEY = "permits_told"
# A permit kind of a progress report -> the registration's permit key.
REPORT_KINDS = {"nib": "nib", "pirt": "pirt", "md": "bpom", "notif": "bpom", "tr": "bpom", "halal": "halal",
                "pkp": "pkp"}


def note_permit_report(turn: Turn) -> bool:
    """A permit reported done in the middle of registration is noted, and registration goes on:
    the pathway, and any "all done", wait until the owner's products are known."""
    state = turn.state
    if state.flow != "registration" or state.step in (None, "consent", "permits") or turn.owner.consent_at is None:
        return False
    from flows.legality import reported_done, reported_done_kinds

    kinds = [REPORT_KINDS[k] for k in reported_done_kinds(turn) or [reported_done(turn) or ""] if k in REPORT_KINDS]
    kinds = list(dict.fromkeys(kinds))
    if not kinds:
        return False
    told = list(turn.data.get(TOLD_KEY) or [])
    turn.data[TOLD_KEY] = told + [k for k in kinds if k not in told]
    labels = [o.label for o in _permit_options(turn) if o.key in kinds]
    turn.say("registration.permit_noted", permit=turn.t("legality.and_join").join(labels))
    return True


def _next_missing(turn: Turn) -> str | None:
    owner = turn.owner
    if owner.consent_at is None:
        return "consent"
    for step, value in (("name", owner.name), ("business", owner.business_name), ("sector", owner.sector),
                        ("products", owner.products), ("city", owner.city)):
        if not value:
            return step
    if not owner.district:
        return "district" if owner.in_jakarta else ("district" if owner.city else "city")
    if owner.has_permits is None:
        return "permits"
    return None


def _advance(turn: Turn, remember: bool = True) -> None:
    """After an answer: back to the summary when editing, else the next unanswered step."""
    if turn.data.get("editing"):
        turn.goto("confirm")
        return
    turn.goto(_next_missing(turn) or "confirm", remember=remember)


def summary_values(turn: Turn) -> dict:
    owner, none = turn.owner, turn.t("registration.none_value")
    labels = {o.key: o.label for o in _permit_options(turn)}
    sector = turn.t(f"registration.sector_{owner.sector}") if owner.sector else none
    place = ", ".join(filter(None, [locations.name_of(turn.content, owner.district),
                                    locations.name_of(turn.content, owner.city)])) or none
    permits = owner.has_permits
    return {
        "name": owner.name or none,
        "business": owner.business_name or none,
        "sector": sector,
        "products": ", ".join(owner.products or []) or none,
        "place": place,
        "permits": (", ".join(labels[p] for p in permits) or labels["none"]) if permits is not None else none,
    }


# --- steps ---------------------------------------------------------------------------------------
def ask_consent(turn: Turn) -> None:
    options = [turn.option("yes", "registration.consent_agree", ["ya", "setuju", "iya", "boleh", "agree"]),
               turn.option("no", "registration.consent_decline", ["tidak", "tidak setuju", "tidak mau"])]
    if _consent_shown_lately(turn):
        turn.say("again.consent", options=options)  # the owner read the long text a moment ago
        return
    turn.say_template("consent", options=options)
    turn.data[CONSENT_SHOWN] = turn.now.isoformat()


CONSENT_SHOWN = "consent_shown_at"  # kept across flows (bot/turn.py STICKY_KEYS)
CONSENT_FRESH = timedelta(hours=24)  # the long text again after a day: it may have been forgotten


def _consent_shown_lately(turn: Turn) -> bool:
    shown = turn.data.get(CONSENT_SHOWN)
    if not shown:
        return False
    try:
        return turn.now - as_utc(datetime.fromisoformat(shown)) < CONSENT_FRESH
    except ValueError:
        return False


def agrees_outright(turn: Turn) -> bool:
    """"Ya udh setuju" with the consent text read lately: the owner gave the consent in words."""
    words = set(turn.norm.split())
    return bool(words & word_set(turn.content, "agree_words")) and not words & word_set(turn.content, "no_words") \
        and _consent_shown_lately(turn)


def handle_consent(turn: Turn):
    from bot.legality import numbers
    from bot.nlu.reading import vocabulary

    words = turn.norm.split()
    if set(words) & word_set(turn.content, "join_words") and not set(words) & word_set(turn.content, "no_words") \
            and not turn.looks_like_question() and numbers.find_kind(turn.text, turn.content) is None:
        # "yowes ibu daftar aja": asking to register is agreeing; never send the consent text again.
        # Registering a permit ("nib nya bisa sy daftarin pake hp kan?") is a question, no consent.
        return _consent_given(turn)
    if _worried_about_computers(turn):
        key = "registration.consent_no_computer"
        if turn.t(key) in turn.previous_out():  # said a moment ago: the short version
            key += "_again"
        turn.say(key, options=_consent_options(turn))
        return None
    # "tidak tahu" / "gak ngerti" asks for an explanation and never declines; a longer message that
    # carries a question of its own ("ndak ngerti oss, mahal ga?") is left to the understanding step
    if turn.knows_not() and len(words) <= 4:
        turn.say("registration.consent_explain", options=[turn.option("yes", "registration.consent_agree"),
                                                          turn.option("no", "registration.consent_decline")])
        return None
    answer = turn.yes_no()
    if answer is None:
        choice = turn.choose([turn.option("yes", "registration.consent_agree"),
                              turn.option("no", "registration.consent_decline")])
        answer = None if choice is None else choice.key == "yes"
    if answer is None:
        return NOT_UNDERSTOOD
    if answer and _says_more(turn):
        # "iya bikinnya di dapur sendiri pake kompor biasa" answers something else: consent must be
        # unambiguous (UU PDP), so the data question waits for a plain yes.
        return NOT_UNDERSTOOD
    if answer:
        return _consent_given(turn)
    if len(words) > 1 and set(words) & vocabulary(turn.content).have_words:
        # "blm punya apa2" tells about the permits; it does not refuse the data question
        return NOT_UNDERSTOOD
    turn.owner.consent_declined_at = turn.now
    turn.end_flow()
    turn.say("registration.consent_declined")
    return None


def _says_more(turn: Turn) -> bool:
    """A yes followed by two or more words of its own, none of them about agreeing."""
    from bot.nlu.answers import meaningful, words_of
    from bot.nlu.reading import vocabulary

    plain = words_of("yes", turn.content) | words_of("fine", turn.content) | vocabulary(turn.content).fillers \
        | word_set(turn.content, "agree_words") | word_set(turn.content, "join_words")
    return len([w for w in meaningful(turn.text, turn.content) if w not in plain]) >= 2


def _consent_options(turn: Turn) -> list:
    return [turn.option("yes", "registration.consent_agree"), turn.option("no", "registration.consent_decline")]


def _worried_about_computers(turn: Turn) -> bool:
    """"ibu gak ngerti komputer", "sy gaptek": a tech word with a no, a don't-know or a worry word."""
    words = set(turn.norm.split())
    if not words & word_set(turn.content, "tech_words"):
        return False
    worried = word_set(turn.content, "tech_worry_words") | word_set(turn.content, "no_words")
    return bool(words & worried) or turn.knows_not()


def consent_missed(turn: Turn, misses: int) -> bool:
    """The data question got no answer again: say something new each time, never the same twice.

    A question gets the usual "not understood" and the short question again (False: the pipeline
    says it). Details written before agreeing ("Bu Ratna", "jaksel") are not noted: the owner hears
    why, and the simplest way to answer (1 or 2). After that, that a person can help."""
    if turn.looks_like_question():
        return False
    key = "registration.consent_details" if misses % 2 == 1 else "registration.consent_person"
    turn.say(key, options=_consent_options(turn))
    return True


def _consent_given(turn: Turn):
    turn.owner.consent_at = turn.now
    turn.owner.consent_declined_at = None
    pending = turn.data.pop("resume", None)
    if pending:  # the request that was waiting for consent ("cek dapur"): do it now
        from bot.nlu.act import resume

        resume(turn, pending)
        return None
    _advance(turn, remember=False)  # KEMBALI never leads back to the consent question
    return None


def ask_name(turn: Turn) -> None:
    turn.say("registration.ask_name")


def _no_name(turn: Turn, most_words: int) -> bool:
    """A question ("ngurusnya ribet gak, ibu cuma lulusan sd"), an answer word ("yaudah ibu mau daftar
    deh") or a long story is no name: the step is asked again, the message read as what it is."""
    from bot.nlu.answers import yes_no as yes_no_answer
    from bot.nlu.reading import read_text

    if turn.looks_like_question() or len(turn.norm.split()) > most_words:
        return True
    if says_thanks(turn.text, turn.content):
        return True  # "mkasih pak atas bantuannya" thanks; no name has thanks in it
    if yes_no_answer(turn.text, turn.content, allow_unknown=True) is not None:
        return True
    return read_text(turn.text, turn.content).act == "question"


def handle_name(turn: Turn):
    value = None if _no_name(turn, NAME_WORDS) else _clean_name(turn.text, 80)
    if value is None:
        return NOT_UNDERSTOOD
    turn.owner.name = value
    _advance(turn)
    return None


def ask_business(turn: Turn) -> None:
    turn.say("registration.ask_business")


def handle_business(turn: Turn):
    value = None if _no_name(turn, BUSINESS_WORDS) else _clean_name(turn.text, 120)
    if value is None:
        return NOT_UNDERSTOOD
    turn.owner.business_name = value
    _advance(turn)
    return None


def _sector_of_products(turn: Turn, text: str) -> str | None:
    """The sector of the first product the text names (content/legality/products.yaml), if any."""
    from bot.legality import classify

    groups = classify.find_products(text, turn.content)
    if not groups:
        return None
    sector, _facts = classify.base_facts(turn.content, groups[0][0].key)
    return sector if sector in SECTOR_ALIASES else None


def ask_sector(turn: Turn) -> None:
    turn.say("registration.ask_sector", options=_sector_options(turn))


def handle_sector(turn: Turn):
    choice = turn.choose(_sector_options(turn))
    sector = choice.key if choice is not None else \
        (None if _asks_something_else(turn) else _sector_of_products(turn, turn.text))
    if sector is None:
        return NOT_UNDERSTOOD
    turn.owner.sector = sector
    if choice is None and not turn.owner.products:
        # "jahe instan, kunir instan": the products themselves answer, so they are not asked again
        turn.owner.products = _products_from(turn.text) or None
    _advance(turn)
    return None


def _products_from(text: str) -> list[str]:
    products: list[str] = []
    for part in _SPLIT_PRODUCTS.split(text):
        value = _clean_name(part.strip(" .-"), 60, proper_noun=False)
        if value and value.lower() not in (p.lower() for p in products):
            products.append(value)
    return products[:MAX_PRODUCTS]


def ask_products(turn: Turn) -> None:
    turn.say("registration.ask_products")


def handle_products(turn: Turn):
    if turn.looks_like_question():
        return NOT_UNDERSTOOD
    if _names_a_place(turn):
        # "sukoharjo, kartasura" answered ahead: never stored as products; the place is asked next
        turn.say("registration.place_not_products")
        return None
    if _asks_something_else(turn):
        return NOT_UNDERSTOOD  # "ada pelatihan buat tukang warung kagak": read as what it is
    products = _products_from(turn.text)
    if not products:
        return NOT_UNDERSTOOD
    turn.owner.products = products
    _advance(turn)
    return None


def ask_city(turn: Turn) -> None:
    turn.say("registration.ask_city", options=_city_options(turn))


def handle_city(turn: Turn):
    owner = turn.owner
    kecamatan = locations.match_kecamatan(turn.text, turn.content)
    choice = turn.choose(_city_options(turn))
    if choice is None and kecamatan is not None:
        # "kb jeruk" answers both questions at once.
        owner.city, owner.district, owner.in_jakarta = kecamatan.area_key, kecamatan.key, True
        _advance(turn)
        return None
    if choice is None:
        area = locations.match_area(turn.text, turn.content)
        choice = Option(area.key, area.name) if area else None
    if choice is None:
        city = _city_around_jakarta(turn)
        both = None if city else _city_and_district(turn)
        if both:
            owner.in_jakarta, (owner.city, owner.district) = False, both
            turn.say("registration.outside_jakarta_note")
            _advance(turn)
            return None
        if city is None:
            return NOT_UNDERSTOOD
        # "bekasi", "di depok bu": outside Jakarta, and the city is already said; "depok, kec.
        # sawangan" says the district too.
        both = _city_and_district(turn)
        owner.in_jakarta, owner.city, owner.district = False, city, both[1] if both else None
        turn.say("registration.outside_jakarta_note")
        if both:
            _advance(turn)
        else:
            turn.goto("district")
        return None
    if choice.key == "outside":
        owner.in_jakarta, owner.city, owner.district = False, None, None
        turn.goto("city_other")
        return None
    owner.city, owner.district, owner.in_jakarta = choice.key, None, True
    turn.goto("district")
    return None


# What the understanding step may read a free-text answer as, that is no list of products.
NOT_AN_ANSWER = frozenset({"faq", "events", "gmp_check", "reminder", "mentor", "permit_report", "legality",
                           "nothing_yet", "stop", "delete_data", "my_data", "help", "menu", "thanks"})


def _asks_something_else(turn: Turn) -> bool:
    """A request or a question with no product named ("pirt sy udh ada dr 2022, skrg pengen cek
    dapur", "SAYA TIDAK PUNYA EMAIL BAGAIMANA"): not the products asked for."""
    from bot.legality import classify
    from bot.nlu.understand import interpret

    understood = turn.understanding or interpret(turn.text, turn.content)
    if understood.label in NOT_AN_ANSWER:
        return True  # "ada pelatihan buat tukang warung kagak": events, though "warung" is a product word
    return understood.reading.act == "question" and not classify.find_products(turn.text, turn.content)


def _names_a_place(turn: Turn) -> bool:
    """A place ("kec. wedi", "kota bandung", "kb jeruk"), not a product, and no product named."""
    from bot.legality import classify

    words = set(turn.norm.split())
    marked = bool(words & word_set(turn.content, "place_words"))
    known = locations.match_kecamatan(turn.text, turn.content) is not None or _city_around_jakarta(turn) is not None
    return (marked or known) and not classify.find_products(turn.text, turn.content)


def _city_and_district(turn: Turn) -> tuple[str, str] | None:
    """"sukoharjo, kartasura", "klaten kec. wedi", "kota bandung, kec coblong": a city and a
    district outside Jakarta written together (a Jakarta place is matched before this)."""
    from bot.legality import classify

    if classify.find_products(turn.text, turn.content):
        return None  # "jamu kunir asem, beras kencur": products typed late, no place
    marks, district_marks = _place_marks(turn.content)
    text = marks.sub(" ", f" {turn.text.lower()} ")
    parts = [" ".join(p.split()) for p in district_marks.split(text) if p.strip()]
    if len(parts) != 2 or turn.looks_like_question():
        return None
    city, district = (_clean_name(p, 64) for p in parts)
    return (city, district) if city and district else None


@lru_cache(maxsize=8)
def _place_marks(content) -> tuple[re.Pattern, re.Pattern]:
    """From content/lexicon.yaml: the words that mark a place ("kota", "kab.", "desa"), dropped, and
    the ones that start the district ("kec", "kecamatan"), where a city and its district are split."""
    lex = content.data("lexicon.yaml") or {}
    districts = [str(w) for w in lex.get("district_words") or []]
    others = [str(w) for w in lex.get("place_words") or [] if str(w) not in districts]

    def alternatives(words: list[str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    marks = re.compile(rf"\b(?:{alternatives(others)})\.?\s", re.IGNORECASE)
    district_marks = re.compile(rf"[,/]|\s(?:{alternatives(districts)})\.?\s", re.IGNORECASE)
    return marks, district_marks


def _city_around_jakarta(turn: Turn) -> str | None:
    """A city around Jakarta named in the answer (content/nlu/vocabulary.yaml `bodetabek`)."""
    from bot.nlu.reading import read_text

    place = read_text(turn.text, turn.content).slots.get("place", "")
    if not place.startswith("bodetabek:"):
        return None
    return place.split(":", 1)[1].title()


def ask_city_other(turn: Turn) -> None:
    turn.say("registration.ask_city_other")


def _not_a_place(turn: Turn) -> bool:
    """Thanks, a yes or no, a question or a request typed where a place name is asked
    ("matur suwun nak, mugi berkah", "mbah udh punya nib dr kelurahan"): no place."""
    from bot.nlu.answers import yes_no as yes_no_answer

    if turn.looks_like_question() or says_thanks(turn.text, turn.content):
        return True
    return yes_no_answer(turn.text, turn.content) is not None or _asks_something_else(turn)


def handle_city_other(turn: Turn):
    value = None if _not_a_place(turn) else _clean_name(turn.text, 64)
    if value is None:
        return NOT_UNDERSTOOD
    turn.owner.city = value
    turn.say("registration.outside_jakarta_note")
    turn.goto("district")
    return None


def ask_district(turn: Turn) -> None:
    if turn.owner.in_jakarta:
        turn.say("registration.ask_district", options=_district_options(turn))
    else:
        turn.say("registration.ask_district_other")


def handle_district(turn: Turn):
    owner = turn.owner
    if not owner.in_jakarta:
        value = None if _not_a_place(turn) else _clean_name(turn.text, 64)
        if value is None:
            return NOT_UNDERSTOOD
        owner.district = value
        _advance(turn)
        return None
    area = locations.area_by_key(turn.content, owner.city)
    choice = turn.choose(_district_options(turn))
    kecamatan = None
    if choice is None:
        kecamatan = locations.match_kecamatan(turn.text, turn.content, area)
        if kecamatan is None:
            return NOT_UNDERSTOOD
    owner.district = choice.key if choice else kecamatan.key
    _advance(turn)
    return None


def ask_permits(turn: Turn) -> None:
    turn.say("registration.ask_permits", options=_permit_options(turn))


def _parse_permits(turn: Turn) -> list[str] | None:
    from bot.nlu.reading import read_text
    from bot.nlu.scoring import Context, nothing_yet_score

    if nothing_yet_score(read_text(turn.text, turn.content), Context(turn.content))[0]:
        return []  # "blm ada ijin apa2": none of them, in the owner's words
    options = _permit_options(turn)
    picked: list[str] = []
    numbers = [int(w) for w in turn.norm.split() if w.isdecimal()]
    if numbers:
        if any(not 1 <= n <= len(options) for n in numbers):
            return None
        picked = [options[n - 1].key for n in numbers]
    else:
        for part in _SPLIT_PRODUCTS.split(turn.text):
            if not part.strip():
                continue
            choice = match_option(part, options, turn.content)
            if choice is None:
                return _permits_in_words(turn)
            picked.append(choice.key)
    if "none" in picked:
        return [] if len(set(picked)) == 1 else None
    return [p for p in PERMITS if p in picked]


def _permits_in_words(turn: Turn) -> list[str] | None:
    """"sy sdh punya NIB dan P-IRT pak": the permits a sentence names as held; "nib durung duwe,
    pirt yo durung": none (each clause naming one says not yet); else None."""
    from bot.legality import numbers as permit_numbers
    from bot.nlu.scoring import CLAUSE_BREAK

    if turn.looks_like_question():
        return None
    no_words = word_set(turn.content, "no_words")
    held, lacking = [], []
    for clause in CLAUSE_BREAK.split(f" {turn.text} "):
        kinds = [REPORT_KINDS[k] for k in permit_numbers.find_kinds(clause, turn.content) if k in REPORT_KINDS]
        negated = bool(set(normalize(clause, turn.content).split()) & no_words)
        (lacking if negated else held).extend(kinds)
    if held:
        return [p for p in PERMITS if p in held]
    return [] if lacking else None


def handle_permits(turn: Turn):
    permits = _parse_permits(turn)
    if permits is None:
        return NOT_UNDERSTOOD
    told = [p for p in turn.data.pop(TOLD_KEY, None) or [] if p in PERMITS]
    turn.owner.has_permits = [p for p in PERMITS if p in permits or p in told]
    _advance(turn)
    return None


def _confirm_options(turn: Turn) -> list[Option]:
    return [turn.option("ok", "registration.confirm_ok", ["benar", "sudah benar", "simpan", "ya", "betul"]),
            turn.option("edit", "registration.confirm_edit", ["ubah", "ganti", "salah", "tidak", "edit"])]


def ask_confirm(turn: Turn) -> None:
    turn.say_template("registration_summary", options=_confirm_options(turn), **summary_values(turn))


def handle_confirm(turn: Turn):
    choice = turn.choose(_confirm_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "edit":
        turn.goto("edit")
        return None
    missing = _next_missing(turn)
    if missing:
        turn.data.pop("editing", None)
        turn.goto(missing)
        return None
    first_time = turn.owner.registered_at is None
    if first_time:
        turn.owner.registered_at = turn.now
    from bot.nlu.act import AFTER_KEY, resume

    asked = turn.data.get(AFTER_KEY)
    turn.end_flow()
    if first_time and asked:
        # What the owner asked for half-way through registering, now that it is done.
        turn.say("registration.done_then", name=names.called(turn.owner.name, turn.content))
        resume(turn, asked)
    elif first_time:
        turn.say("registration.done", name=names.called(turn.owner.name, turn.content))
    else:
        turn.say("registration.updated")
    return None


def _field_options(turn: Turn) -> list[Option]:
    return [turn.option(key, f"registration.field_{key}") for key in FIELD_STEPS]


def ask_edit(turn: Turn) -> None:
    turn.say("registration.ask_edit_field", options=_field_options(turn))


def handle_edit(turn: Turn):
    choice = turn.choose(_field_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    turn.data["editing"] = True
    turn.goto(FIELD_STEPS[choice.key])
    return None


def start(turn: Turn) -> None:
    missing = _next_missing(turn)
    if missing == "consent":
        if turn.owner.imported_at is not None and turn.owner.name:
            # On an office's list already: only consent and what the list lacked are asked.
            turn.say("registration.welcome_imported", name=turn.owner.name)
        elif not _consent_shown_lately(turn):
            turn.say("registration.welcome")
        turn.goto("consent", remember=False)
    elif missing is None:
        turn.goto("confirm", remember=False)
    else:
        if turn.owner.name:
            turn.say("registration.resume")
        turn.goto(missing, remember=False)


def on_cancel(turn: Turn) -> None:
    turn.say("registration.paused")


FLOW = Flow(
    name="registration",
    steps={
        "consent": Step(ask_consent, handle_consent, on_miss=consent_missed, answers_first=_worried_about_computers),
        "name": Step(ask_name, handle_name),
        "business": Step(ask_business, handle_business),
        "sector": Step(ask_sector, handle_sector),
        "products": Step(ask_products, handle_products),
        "city": Step(ask_city, handle_city),
        "city_other": Step(ask_city_other, handle_city_other),
        "district": Step(ask_district, handle_district),
        "permits": Step(ask_permits, handle_permits, reads_statements=True,
                        answers_first=lambda turn: _permits_in_words(turn) is not None),
        "confirm": Step(ask_confirm, handle_confirm),
        "edit": Step(ask_edit, handle_edit),
    },
    start=start,
    on_cancel=on_cancel,
    requires_consent=False,
    description="Owner registration with consent (P1 Pendaftaran).",
)
