"""Score functions of the routing table (bot/nlu/rules.py). Pure: a Reading and a Context in, a
(score, slots) pair or None out; no database, so `umkm-bot nlu eval` and the bench run them as is."""
from __future__ import annotations

import importlib
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from rapidfuzz import fuzz

from bot.content import Content
from bot.nlu.reading import Reading
from bot.normalize import normalize

Scored = "tuple[float, dict] | None"


@dataclass
class Context:
    """Where the owner is, as far as scoring needs to know. `turn` is None in the offline eval."""

    content: Content
    flow: str | None = None
    step: str | None = None
    consent: bool = False
    opted_out: bool = False
    turn: Any = None
    last_about: str | None = None  # the permit of the answer just given (a glossary key), if recent


# --- global words: exact (and near-exact) phrases of content/intents.yaml -------------------------
GLOBAL_FUZZY_MIN_LEN = 5
GLOBAL_FUZZY_CUTOFF = 87


@lru_cache(maxsize=8)
def _global_table(content: Content) -> dict[str, str]:
    table: dict[str, str] = {}
    for word, phrases in (content.data("intents.yaml").get("global") or {}).items():
        for phrase in phrases:
            table.setdefault(normalize(str(phrase), content), word)
    return table


def global_word_score(reading: Reading, ctx: Context) -> Scored:
    norm = reading.norm
    if not norm or len(norm) > 40:
        return None
    table = _global_table(ctx.content)
    word = table.get(norm)
    if word is None and len(norm) >= GLOBAL_FUZZY_MIN_LEN:
        best = max(((fuzz.ratio(norm, p), w) for p, w in table.items() if len(p) >= GLOBAL_FUZZY_MIN_LEN),
                   default=(0, None))
        word = best[1] if best[0] >= GLOBAL_FUZZY_CUTOFF else None
    if word is None:
        return None
    if word == "start" and not ctx.opted_out and ctx.flow not in (None, "menu"):
        return None  # "mulai" inside a flow is an answer there; MULAI only matters to opted-out owners
    return 1.0, {"word": word}


# --- opt-out: every wording that asks us to stop messaging ----------------------------------------
@dataclass(frozen=True)
class _OptOut:
    alone: frozenset[str]
    stop_verbs: frozenset[str]
    negators: tuple[tuple[str, ...], ...]
    send_words: frozenset[str]
    reminder_words: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]


@lru_cache(maxsize=8)
def _opt_out_words(content: Content) -> _OptOut:
    data = (content.data("nlu/settings.yaml") or {}).get("opt_out") or {}

    def words(key: str) -> frozenset[str]:
        return frozenset(w for item in data.get(key) or [] for w in normalize(str(item), content).split())

    def phrase_list(key: str) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(normalize(str(p), content).split()) for p in data.get(key) or [])

    return _OptOut(words("alone"), words("stop_verbs"), phrase_list("negators"), words("send_words"),
                   words("reminder_words"), phrase_list("phrases"))


def opt_out_score(reading: Reading, ctx: Context) -> Scored:
    """A stop verb, or a negation before a messaging word, and no reminder as the object.

    "jangan kirim pesan lagi", "gak usah hubungi saya", "stop kirim", "unsub" -> stop;
    "jangan kirim pengingat cek dapur lagi" -> not here: that cancels one reminder."""
    words = reading.words
    if not words:
        return None
    w = _opt_out_words(ctx.content)
    if any(word in w.reminder_words for word in words):
        return None
    padded = f" {' '.join(words)} "
    found = any(f" {' '.join(phrase)} " in padded for phrase in w.phrases)
    messaging = any(x in w.send_words for x in words)
    for i, word in enumerate(words):
        if (word in w.alone and len(words) <= 2) or (word in w.stop_verbs and messaging):
            found = True
        for negator in w.negators:
            if word == negator[0] and _at(words, i, negator) and any(x in w.send_words for x in words[i + len(negator):i + len(negator) + 4]):
                found = True
    if not found:
        if erase_everything(reading):
            return None  # "berhenti aja dr program ini, hapus semua": erasing, which stops messages too
        # Wordings the lists miss, when the classifier is sure and the sentence is negative.
        probability = (reading.scores or {}).get("stop", 0.0)
        if probability >= 0.6 and (reading.negated or messaging):
            return 0.8 * probability, {"negated": reading.negated}
        return None
    return 0.97, {"negated": reading.negated}


def _at(words: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    return tuple(words[i:i + len(phrase)]) == phrase


# --- the labels area's photo-of-a-label entry (a hook into flows/labels.py when it exists) --------
LABEL_MODULE = "flows.labels"


@lru_cache(maxsize=1)
def _label_hooks() -> tuple[Callable, Callable] | None:
    if importlib.util.find_spec(LABEL_MODULE) is None:
        return None
    module = importlib.import_module(LABEL_MODULE)
    detect, handle = getattr(module, "detect_label_request", None), getattr(module, "handle_label_request", None)
    return (detect, handle) if detect and handle else None


def label_hook_score(reading: Reading, ctx: Context) -> Scored:
    hooks = _label_hooks()
    if hooks is None:
        return None
    found = hooks[0](reading)
    if not found:
        return None
    score, slots = found
    return min(float(score), 0.89), dict(slots)


# --- free-text interpretations: the classifier, adjusted by the slots found -----------------------
def ask_score(reading: Reading, ctx: Context) -> Scored:
    """"Mau tanya dulu", "boleh nanya sesuatu": a question announced, not yet asked. Only the
    vocabulary's ask verbs, ask-only words and fillers: the question prompt is the answer (a strong
    reading, like an entry phrase). Anything more ("mau tanya izin keripik") is the question itself."""
    from bot.nlu.reading import vocabulary

    vocab = vocabulary(ctx.content)
    words = reading.word_set
    if not words or not (words & vocab.ask_verbs) or len(reading.words) > 8:
        return 0.0, {}
    if words - vocab.ask_verbs - vocab.ask_only_words - vocab.fillers - vocab.question_tail:
        return 0.0, {}
    return ASK_ONLY_SCORE, {}


ASK_ONLY_SCORE = 0.95  # above a greeting word beside it ("permisi, mau tanya")
JOIN_SCORE = 0.9


def registration_score(reading: Reading, ctx: Context) -> Scored:
    """"ok daftar aja", "ikut deh": a join word (content/lexicon.yaml `join_words`), not negated,
    from an owner who has not registered, is a wish to register, whatever else is polite around it."""
    from bot.normalize import word_set

    from bot.nlu import answers
    from bot.nlu.reading import vocabulary

    probability = reading.scores.get("registration", 0.0)
    words, join = reading.word_set, word_set(ctx.content, "join_words")
    if not ctx.consent and not reading.negated and words & join and len(reading.words) <= 6 \
            and not words - join - answers.words_of(answers.YES, ctx.content) - vocabulary(ctx.content).fillers \
            - JOIN_AROUND:
        probability = max(probability, JOIN_SCORE)  # nothing else named ("daftar pelatihan" is an event)
    return probability, {}


JOIN_AROUND = frozenset({"saja", "deh", "dong", "sekarang", "sini", "program", "ini", "langsung", "aja"})


ACK_SCORE = 0.9


def thanks_score(reading: Reading, ctx: Context) -> Scored:
    """Thanks, and a bare acknowledgement with nothing asked ("ya", "baik", "👍"): a short kind
    answer, never "outside what I can help with". Where a question waits, the step takes it first."""
    from bot.nlu import answers
    from bot.nlu.reading import vocabulary

    probability = reading.scores.get("thanks", 0.0)
    words = reading.word_set
    if words and len(reading.words) <= 4 and not words - answers.words_of(answers.YES, ctx.content) \
            - vocabulary(ctx.content).fillers:
        return max(probability, ACK_SCORE), ({"ack": True} if probability < 0.5 else {})
    return probability, {}


NOTHING_YET_SCORE = 0.97  # a narrow pattern (negated "have", no permit named): strong evidence


def nothing_yet_score(reading: Reading, ctx: Context) -> Scored:
    """"Blm punya apa2", "belum ada izin sama sekali": no permit at all yet, and no permit named."""
    from bot.nlu.reading import vocabulary

    vocab = vocabulary(ctx.content)
    words = reading.word_set
    # "ibu blm pny nib jg": no NIB yet is no permit yet either (the NIB comes first).
    nib_only = reading.slots.get("permit") == "nib" and "number" not in reading.slots
    if not reading.negated or ("permit" in reading.slots and not nib_only) or "product" in reading.slots \
            or not words & vocab.have_words:
        return 0.0, {}
    from bot.legality import classify

    plain = vocab.have_words | vocab.nothing_words | vocab.fillers | vocab.negation \
        | classify._index(ctx.content).honorifics | ({"nib"} if nib_only else set())
    # The first clause decides: "mbah blm punya apa2 izinnya, cm jualan di pasar aja selama ini"
    # says no permit yet, and then how the owner sells.
    clause = set(_first_clause(reading.text, ctx.content))
    if clause - plain or not clause & vocab.have_words or not clause & vocab.negation:
        return 0.0, {}
    if not clause & (vocab.nothing_words | OWN_WORDS):
        return 0.0, {}  # "blm ada" alone: not yet what? (at a question, the question's own answer)
    return NOTHING_YET_SCORE, {}


CLAUSE_BREAK = re.compile(r"[,.;!?\n]| (?:tapi|tp|cuma|cm|hanya|cuman|soalnya|karena|krn) ", re.IGNORECASE)


def _first_clause(text: str, content: Content) -> list[str]:
    return normalize(CLAUSE_BREAK.split(f" {text.lower()} ", 1)[0], content).split()


OWN_WORDS = frozenset({"punya", "pegang", "memiliki"})
INTRODUCTION_SCORE = 0.8


def greeting_score(reading: Reading, ctx: Context) -> Scored:
    """A greeting, or an introduction with nothing asked ("sy cucunya mbah sumarni"): the words are
    introduction words (content/nlu/vocabulary.yaml), fillers and forms of address, and at most three
    words we do not know (a name)."""
    from bot.legality import classify
    from bot.nlu.reading import vocabulary

    score = reading.scores.get("greeting", 0.0)
    if score >= INTRODUCTION_SCORE or reading.act == "question" or reading.negated or reading.slots:
        return score, {}
    vocab = vocabulary(ctx.content)
    honorifics = classify._index(ctx.content).honorifics
    words = reading.word_set
    unknown = set(reading.unknown)
    if not words & (honorifics | vocab.introduction):
        return score, {}
    if len(unknown) > 3 or words - vocab.introduction - vocab.fillers - honorifics - unknown:
        return score, {}
    return INTRODUCTION_SCORE, {}


def classifier_score(label: str) -> Callable[[Reading, Context], Scored]:
    def score(reading: Reading, ctx: Context) -> Scored:
        return reading.scores.get(label, 0.0), {}

    score.__name__ = f"classifier_{label}"
    return score


CHECK_VERBS = frozenset({"cek", "ngecek", "dicek", "cekin", "dicekin", "ngecekin", "periksa", "periksain", "diperiksa",
                         "nilai", "dinilai", "mulai", "lanjut", "lanjutkan", "lanjutin", "uji", "check", "hasil",
                         "checklist", "penilaian"})


def bare_go_on(reading: Reading, ctx: Context) -> bool:
    """"Lanjut", "trus": go on, with nothing named, from a registered owner with no self-check to
    resume (live turns only): the next step of the permit pathway, not a new self-check."""
    if ctx.turn is None or not ctx.consent or ctx.flow not in (None, "menu") or not reading.words:
        return False
    from bot.turn import word_set
    from flows import gmp_check

    go_on = word_set(ctx.content, "more_words")
    return (" ".join(reading.words) in go_on or set(reading.words) <= go_on) \
        and gmp_check.open_check(ctx.turn) is None


def legality_score(reading: Reading, ctx: Context) -> Scored:
    probability = reading.scores.get("legality", 0.0)
    if bare_go_on(reading, ctx):
        probability = max(probability, 0.95)  # above the acknowledgement a bare "lanjut" also is
    return probability, {}


def check_score(reading: Reading, ctx: Context) -> Scored:
    """The self-check is a request ("cek cpotb saya"); "cpotb itu apa" asks what the word means."""
    probability = reading.scores.get("gmp_check", 0.0)
    if bare_go_on(reading, ctx):
        probability *= 0.3
    if reading.act == "question" and not reading.word_set & CHECK_VERBS:
        probability *= 0.4
    elif reading.act == "statement" and not reading.word_set & CHECK_VERBS:
        probability *= 0.5  # "tembok dapur saya belum diplester" tells about the kitchen; asks no check
    if reading.word_set & REMINDER_WORDS:
        probability *= 0.3  # "kabari saya tgl 5 buat cek dapur": the check is what to be reminded of
    return probability, {}


REMINDER_MODULE = "flows.reminders"


@lru_cache(maxsize=1)
def reminder_hooks() -> tuple[Callable, Callable] | None:
    """The reminders area's contract: detect_reminder_request(text) and handle_reminder_request."""
    module = importlib.import_module(REMINDER_MODULE)
    detect = getattr(module, "detect_reminder_request", None)
    handle = getattr(module, "handle_reminder_request", None)
    return (detect, handle) if detect and handle else None


def reminder_action(reading: Reading) -> str:
    words = reading.word_set
    if words & {"hapus", "batal", "batalkan", "batalin", "matikan", "matiin", "stop", "berhenti", "hentikan",
                "dimatikan", "cancel", "delete"} or (reading.negated and not words & {"lupa"}):
        return "cancel"
    if words & REMINDER_CREATE or any(w.isdigit() for w in words):
        return "create"
    return "list"  # "pengingat saya", "reminder apa aja"


REMINDER_CREATE = frozenset({"ingatkan", "ingetin", "ingatin", "kabari", "kabarin", "pasang", "buat", "buatkan", "set",
                             "jadwalkan", "elingke", "elingno", "remind", "alarm", "besok", "lusa", "minggu", "jam",
                             "tanggal", "nanti", "senin", "selasa", "rabu", "kamis", "jumat", "sabtu"})
REMINDER_WORDS = frozenset({"ingatkan", "ingetin", "ingatin", "ingat", "diingatkan", "diingetin", "pengingat", "reminder",
                            "remind", "kabari", "kabarin", "elingke", "elingno", "ingetkeun", "alarm", "jadwalkan"})


def reminder_score(reading: Reading, ctx: Context) -> Scored:
    probability = reading.scores.get("reminder", 0.0)
    if not reading.word_set & REMINDER_WORDS:
        probability *= 0.3  # "besok" alone is no reminder request
    slots = {"action": reminder_action(reading)}
    hooks = reminder_hooks()
    if hooks is not None:
        found = hooks[0](reading.text)
        if found:
            score, detected = found
            slots.update(detected or {})
            probability = max(probability, min(float(score), 0.88))
    return probability, slots


def names_a_day(reading: Reading, ctx: Context) -> bool:
    """"yg rabu itu", "yang besok", "tgl 5": the message points at a day."""
    from bot.clock import utcnow
    from bot.nlu import dates

    when = dates.find_when(reading.text, ctx.turn.now if ctx.turn is not None else utcnow())
    return when is not None and when.has_date


def reminder_in_list_score(reading: Reading, ctx: Context) -> Scored:
    """Among the owner's own reminders (the reminders menu), "yg rabu itu gajadi, hapus aja" cancels
    the one due that day, though it names no reminder."""
    if ctx.flow != "reminders" or reminder_action(reading) != "cancel" or not names_a_day(reading, ctx):
        return 0.0, {}
    return REMINDER_IN_LIST, {"action": "cancel", "what": reading.text}


REMINDER_IN_LIST = 0.93


ERASE_VERBS = frozenset({"hapus", "hapuskan", "hapusin", "dihapus", "hapusen", "delete", "erase"})
# Among the reminders, "hapus semua" is about them; with one of these it is about the owner's data.
OWNER_DATA_WORDS = frozenset({"data", "datanya", "program", "nomor", "nomornya", "akun"})
ERASE_OBJECTS = frozenset({"semua", "semuanya", "data", "datanya", "nomor", "nomornya", "everything", "all"})


def erase_everything(reading: Reading) -> bool:
    """"hapus semua", "data ibu dihapus aja": erasing the owner's data, no reminder named."""
    words = reading.word_set
    return bool(words & ERASE_VERBS and words & ERASE_OBJECTS and not words & REMINDER_WORDS)


def delete_data_score(reading: Reading, ctx: Context) -> Scored:
    """"Hapus aja" about a day ("yg rabu itu hapus aja") is never about erasing the owner's data."""
    probability = reading.scores.get("delete_data", 0.0)
    if erase_everything(reading) and (ctx.flow != "reminders" or reading.word_set & OWNER_DATA_WORDS):
        probability = max(probability, 0.9)  # asked to confirm before anything is erased
    # The date reader runs only when erasing is in question at all (it would run on every message).
    if probability > 0.1 and "data" not in reading.word_set and names_a_day(reading, ctx):
        probability *= 0.3
    return probability, {}


def forgot(reading: Reading, ctx: Context) -> bool:
    from bot.nlu.reading import vocabulary

    return bool(reading.word_set & vocabulary(ctx.content).forgot)


def report_score(reading: Reading, ctx: Context) -> Scored:
    probability = reading.scores.get("permit_report", 0.0)
    if forgot(reading, ctx) and "number" not in reading.slots:
        probability *= 0.3  # "punya nib tapi lupa nomernya": a question about the number, not a report
    if "permit" not in reading.slots and "permits" not in reading.slots:
        probability *= 0.4
    if reading.act == "question" and "number" not in reading.slots:
        probability *= 0.5  # "kalau notifikasi sudah terbit, berlaku sampai kapan" asks, not reports
        if reading.words and reading.words[0] in CONDITIONAL:
            probability *= 0.5  # "kalau ... sudah ...": a hypothetical, not news
    if reading.act == "report":
        probability += 0.4 * reading.scores.get("faq", 0.0)  # "lagi ngurus sertifikat halal" tells
    slots = {k: reading.slots[k] for k in ("permit", "permits", "number") if k in reading.slots}
    return probability, slots


PERMIT_QUESTION_WORDS = frozenset({"izin", "perlu", "butuh", "wajib", "harus", "kudu", "pirt", "bpom", "md", "izinnya"})
# Words that make an unknown word a product someone asks a permit for ("izin sepatu apa?", "sepatu halal?").
PERMIT_TOPIC_WORDS = PERMIT_QUESTION_WORDS | {"halal"}
CONDITIONAL = frozenset({"kalau", "jika", "bila", "apabila", "seandainya", "misal", "misalnya", "if", "nek", "lamun"})
LABEL_WORDS = frozenset({"label", "kemasan", "etiket", "kemasannya", "labelnya"})


def label_words(reading: Reading) -> set[str]:
    """Label words outside the product's name ("bawang goreng kemasan" is a product, not a label;
    so is "wedang uwuh kemasan": packaged, said right after the product)."""
    words = reading.model_text.split()
    return {w for i, w in enumerate(words) if w in LABEL_WORDS
            and not (w == "kemasan" and i > 0 and words[i - 1] == "_produk_")}


MAY_WORDS = frozenset({"boleh", "bisa", "dapat"})


def asks_permit(reading: Reading, ctx: Context) -> bool:
    """Permit words ("perlu izin apa"), or whether it may be sold ("boleh dijual ga";
    content/nlu/vocabulary.yaml `sale_words`)."""
    from bot.nlu.reading import vocabulary

    words = reading.word_set
    return bool(words & PERMIT_QUESTION_WORDS
                or (words & MAY_WORDS and words & vocabulary(ctx.content).sale_words))


def known_product_permit_question(reading: Reading, ctx: Context) -> bool:
    """A permit question about a product the rules know ("izin kunyit asam botol buat pelancar haid apa?")."""
    return "product" in reading.slots and asks_permit(reading, ctx) \
        and reading.act == "question" and not label_words(reading)


def asks_particular(reading: Reading, ctx: Context) -> bool:
    """The message asks something particular about a permit: what it costs, where, how long, how to
    sell online ("rempeyek di shopee harus pirt?"). Without such words, a permit question naming a
    product asks which permit the product needs ("emangnya rempeyek hrs ada pirt ya"): its own route."""
    from bot.legality import faq

    return bool(reading.word_set & faq.matcher(ctx.content).particular_words)


def own_topic(reading: Reading, ctx: Context) -> bool:
    """The named product has an FAQ answer of its own ("jamu gendong perlu izin?")."""
    from bot.legality import faq

    return reading.slots.get("product") in faq.matcher(ctx.content).topic_ids


def product_score(reading: Reading, ctx: Context) -> Scored:
    probability = reading.scores.get("product_question", 0.0)
    if "product" not in reading.slots:
        probability *= 0.5  # no product we know ("izin sepatu apa" is out of scope, said kindly)
    if label_words(reading):
        probability *= 0.3  # "apa yang harus ada di label sambal saya" asks about the label
    elif known_product_permit_question(reading, ctx):
        # "madu klanceng perlu izin bpom?", "izin bolu yang cuma awet 3 hari apa?": the product and its
        # facts settle it, whatever unfamiliar words ("pelancar haid") the classifier stumbles on.
        # Facts about the product in the message ("buatan rumah", "pelancar haid") make it more so.
        faq_share = 0.6 if reading.slots.get("facts") else 0.4
        if own_topic(reading, ctx) and not asks_particular(reading, ctx):
            probability, faq_share = 0.5 * probability, 0.2  # its own FAQ answer says it best
        probability += faq_share * reading.scores.get("faq", 0.0) + 0.7 * reading.scores.get("out_of_scope", 0.0)
    elif "product" in reading.slots and asks_permit(reading, ctx):
        probability += 0.4 * reading.scores.get("faq", 0.0)
    elif sells_known_product(reading, ctx) and reading.act == "statement":
        # "ibu bikin kue semprit..., dititip ke toko tetangga": what the words around drew away
        # ("permisi mbak, ibu pedagang sambel pecel": a greeting too, but what she sells says more)
        probability += 0.7 * (reading.scores.get("out_of_scope", 0.0) + reading.scores.get("greeting", 0.0))
    slots = {k: reading.slots[k] for k in ("product", "products", "facts") if k in reading.slots}
    return probability, slots


def faq_score(reading: Reading, ctx: Context) -> Scored:
    probability = reading.scores.get("faq", 0.0)
    if permit_named_question(reading, ctx) and "product" not in reading.slots:
        probability += 0.6 * reading.scores.get("out_of_scope", 0.0)  # what the words around it drew away
    if reading.word_set & REMINDER_WORDS and reading.act != "question":
        probability *= 0.5  # "tolong ingetin ibu tgl 3 ada penyuluhan pkp": the reminder, not the PKP FAQ
    product = reading.scores.get("product_question", 0.0)
    if forgot(reading, ctx) and "permit" in reading.slots:
        probability += reading.scores.get("permit_report", 0.0)  # the lost-number question
    if label_words(reading):
        probability += 0.7 * product
    elif "product" in reading.slots and asks_permit(reading, ctx):
        if own_topic(reading, ctx) and not asks_particular(reading, ctx):
            probability += product  # "jamu gendong perlu izin?": the product's own FAQ answer
        else:
            probability *= 0.6 if asks_particular(reading, ctx) else 0.35
    if reading.act == "question" and "number" not in reading.slots:
        probability += 0.5 * reading.scores.get("permit_report", 0.0)
    if reading.act in ("question", "statement") and not reading.word_set & CHECK_VERBS:
        probability += 0.6 * reading.scores.get("gmp_check", 0.0)
    if reading.act == "report":
        probability *= 0.6
    if unknown_product(reading):
        probability *= 0.4
    if ask_score(reading, ctx)[0]:
        probability *= 0.3  # "boleh nanya gak": a question announced, no topic to answer yet
    elif probability < FAQ_MATCHED and reading.act == "question" and "product" not in reading.slots:
        # The classifier wavers ("pirt sy udh mau habis gmn"), the FAQ matcher is sure of a topic.
        from bot.legality import faq

        status = faq.matcher(ctx.content).match(" ".join(reading.words) or reading.text).status
        if status == "answer" or (status == "choose" and permit_named_question(reading, ctx)):
            probability = FAQ_MATCHED  # (naming a permit, close topics of it: the owner picks one)
    follow = follow_up(reading, ctx)
    return probability, ({"follow_up": follow} if follow else {})


FAQ_MATCHED = 0.5  # an FAQ question by its topic alone: above the threshold, below a sure classifier


def follow_up(reading: Reading, ctx: Context) -> str | None:
    """The permit a short follow-up question is about: the last answer's, when the message names
    no permit and no product of its own ("itu ngurusnya dimana?", "kl ke kelurahan bisa ga")."""
    from bot.nlu.reading import vocabulary

    if not ctx.last_about or "permit" in reading.slots or "product" in reading.slots \
            or reading.word_set & vocabulary(ctx.content).other:
        return None  # ("izin2 lainnya juga mahal?" asks about the others)
    return ctx.last_about


def unknown_product(reading: Reading) -> bool:
    """A permit question about something that is no product we know ("jual sepatu perlu izin apa")."""
    if "product" in reading.slots or "permit" in reading.slots or not reading.unknown:
        return False
    words, unknown = reading.words, set(reading.unknown)
    return any(w in unknown and ((i > 0 and words[i - 1] in PRODUCT_BEFORE)
                                 or (i + 1 < len(words) and words[i + 1] in PRODUCT_AFTER))
               for i, w in enumerate(words))


OUT_OF_SCOPE_WORDS = frozenset({"modal", "pinjam", "pinjem", "pinjaman", "pinjol", "kredit", "kur", "hibah", "bansos",
                                "utang", "hutang", "cicilan", "bunga", "loan", "sembako", "lowongan", "pajak"})
# "jual sepatu", "izin sepatu", "sepatu perlu izin": where a product name sits in a permit question.
PRODUCT_BEFORE = frozenset({"jual", "jualan", "izin", "usaha", "produk", "bikin", "buat", "dagang", "produksi"})
PRODUCT_AFTER = frozenset({"perlu", "wajib", "butuh", "harus", "izin", "izinnya", "kudu"})


def out_of_scope_score(reading: Reading, ctx: Context) -> Scored:
    probability = reading.scores.get("out_of_scope", 0.0)
    if reading.word_set & OUT_OF_SCOPE_WORDS and "permit" not in reading.slots:
        probability += 0.4  # loans, capital, aid: never ours
    if unknown_product(reading):
        # "izin sepatu apa?": whatever permit question the classifier hears, the product is not ours.
        probability += 0.6 * sum(reading.scores.get(label, 0.0) for label in ("faq", "product_question", "legality"))
    if known_product_permit_question(reading, ctx) or permit_named_question(reading, ctx) or sells_known_product(reading, ctx):
        probability *= 0.3  # a product we know, or a permit we know, asked about: ours
    return probability, {"unknown": " ".join(reading.unknown[:4])} if reading.unknown else {}


def sells_known_product(reading: Reading, ctx: Context) -> bool:
    """"ibu bikin kue semprit, dititip ke toko tetangga": telling what one makes or sells, of a
    product we know, is never out of scope, whatever else the sentence holds."""
    from bot.nlu.reading import vocabulary

    return "product" in reading.slots and bool(reading.word_set & vocabulary(ctx.content).sell_words)


def permit_named_question(reading: Reading, ctx: Context) -> bool:
    """"jual online di fb aja perlu pirt jg?": a question naming a permit and asking whether it is needed."""
    return "permit" in reading.slots and reading.act == "question" and asks_permit(reading, ctx)


@lru_cache(maxsize=64)
def permit_word(key: str, content: Content) -> str | None:
    """How a permit (a glossary key: "nib", "pirt") is written, as the FAQ reads it."""
    from bot.legality import rules as legality_rules

    forms = (legality_rules.glossary(content).get(key) or {}).get("forms") or []
    return normalize(str(forms[0]), content) if forms else None


def about_of(keys, content: Content) -> str | None:
    """The permit an answer was about: the first of its `about` keys that a follow-up question can
    be about (content/nlu/settings.yaml `follow_up_about`)."""
    cfg = content.data("nlu/settings.yaml") or {}
    allowed = cfg.get("follow_up_about") or []
    if len(set(keys) & set(cfg.get("follow_up_one_of") or [])) > 1:
        return None  # about several products' permits: a follow-up must say which
    return next((k for k in keys if k in allowed), None)


def faq_words(reading: Reading, matcher, content: Content) -> str:
    """The words as the FAQ examples would write them: an ending the examples do not use is taken
    off when the stem is theirs ("gratisan" -> "gratis", "bayarin" -> "bayar"; vocabulary.yaml
    `faq_endings`)."""
    from bot.nlu.reading import vocabulary

    endings = vocabulary(content).faq_endings
    examples = matcher._vocab_set
    words = []
    for word in reading.words:
        if word not in examples:
            for ending in endings:
                stem = word[: -len(ending)]
                if word.endswith(ending) and len(stem) >= 3 and stem in examples:
                    word = stem
                    break
        words.append(word)
    return " ".join(words)


TOPIC_SURE = 0.6
# The FAQ matcher and the topic classifier blended when neither is sure alone (`_faq_topic`): the
# classifier's probability counts TOPIC_BLEND * 100 points; topics from BLEND_CHOOSE are offered.
TOPIC_BLEND = 0.5
BLEND_CHOOSE = 50
TOPIC_AGREE = 0.5


def faq_topic(reading: Reading, content: Content, follow: str | None = None) -> tuple[str, list[str]]:
    """Which FAQ topic, as `_faq_topic` finds it; but a question of only vague words that follows
    no answer ("bayar ga?", "brp lama jadinya", content/legality/matching.yaml `vague_words`) is
    never answered about one permit picked by guess: ("vague", [topics]) lets the owner choose
    between the closest topics of different permits."""
    status, topics = _faq_topic(reading, content, follow)
    if status != "answer":
        # "self declare itu gratis bener? bahannya cm bawang merah sm minyak sawit": the story
        # beside the question drowns it; a clause that is a clear question on its own is answered.
        status, topics = _clause_answer(reading, content, follow) or (status, topics)
    if status != "answer" or follow or "permit" in reading.slots or "product" in reading.slots:
        return status, topics
    from bot.legality import faq

    matcher = faq.matcher(content)
    text = faq_words(reading, matcher, content) or reading.text
    query, scored = matcher.scores(text)
    chosen = faq.topic_by_key(content, topics[0])
    vague = set(str(w) for w in (content.data("legality/matching.yaml") or {}).get("vague_words") or [])
    if matcher.entities_in(query) or not query or set(query.split()) - vague or chosen is None \
            or about_of(sorted(chosen.about), content) is None:
        return status, topics  # a word of its own ("kantor", "produk") says what it is about
    picks, permits = [], set()
    for topic, score in scored:
        permit = about_of(sorted(topic.about), content)
        if permit is None or permit in permits or score < matcher.ask_floor - VAGUE_MARGIN:
            continue
        permits.add(permit)
        picks.append(topic.key)
        if len(picks) == matcher.ask_top:
            break
    if topics[0] in picks:
        picks.remove(topics[0])
    picks.insert(0, topics[0])
    return ("vague", picks[: matcher.ask_top]) if len(picks) >= 2 else (status, topics)


def _clause_answer(reading: Reading, content: Content, follow: str | None) -> tuple[str, list[str]] | None:
    from bot.nlu.reading import read_text

    clauses = [c.strip() for c in CLAUSE_BREAK.split(f" {reading.text} ") if len(c.split()) >= 2]
    if len(clauses) < 2:
        return None
    for clause in clauses:
        status, topics = _faq_topic(read_text(clause, content), content, follow)
        if status == "answer":
            return status, topics
    return None


VAGUE_MARGIN = 10  # how far under the ask floor a topic of another permit is still offered


def _faq_topic(reading: Reading, content: Content, follow: str | None = None) -> tuple[str, list[str]]:
    """Which FAQ topic: ("answer", [topic]) / ("choose", [topics]) / ("none", []).

    The FAQ matcher (bot/legality/faq.py) first; when it is not sure, the topic classifier
    (bot/nlu/model.py topic_model) decides between its candidates, or alone when it is sure.
    `follow`: the permit of the answer just given (see `follow_up`); the question is also read as
    if it named that permit, and that reading wins when it is a clear answer scoring at least as
    well as the words alone."""
    from bot.legality import faq
    from bot.nlu import model

    matcher = faq.matcher(content)
    # The words as read: glued suffixes stripped ("pirtne" -> "pirt"), so the permit is named.
    text = faq_words(reading, matcher, content) or reading.text
    result = matcher.match(text)
    name = permit_word(follow, content) if follow else None
    if name and matcher.entities_in(result.query or matcher.prepare(text)):
        name = None  # the message names what it asks about ("apa itu sehati"): no follow-up
    if name:
        followed = matcher.match(f"{text} {name}")
        # A plain answer about another permit is a guess: the message named none, the context did.
        guessed = result.status == "answer" and follow not in result.best.about \
            and about_of(sorted(result.best.about), content) is not None
        if followed.status == "answer" and (result.status != "answer" or guessed or followed.score >= result.score):
            return "answer", [followed.best.key]
        if guessed or (result.status != "answer" and followed.status != "none"):
            result, text = followed, f"{text} {name}"  # the topics close to it, about that permit
    if result.status == "answer":
        return "answer", [result.best.key]
    probabilities = model.topic_model(content).probabilities(matcher.prepare(text))
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    (top, p1), (_, p2) = ranked[0], ranked[1]
    candidates = [t.key for t, _ in result.candidates]
    if result.status == "choose" and len(candidates) == 1:
        return "answer", candidates  # one close topic: answer it (a one-option menu is no choice)
    if p1 >= TOPIC_SURE and p1 - p2 >= 0.2:
        return "answer", [top]
    if result.status == "choose" and candidates and candidates[0] == top and p1 >= TOPIC_AGREE and p1 - p2 >= 0.3:
        return "answer", [top]  # the matcher's best and the classifier's best agree, clearly ahead
    if not matcher.looks_like_legality_question(text):
        return ("choose", candidates) if result.status == "choose" else ("none", [])
    # Neither is sure alone: the two views together offer the closest topics to choose from (the
    # matcher's points plus the classifier's probability in points). Never an answer on their own:
    # on the sealed corpus (tests/nlu/sealed.yaml) answering from the blend gave more wrong answers
    # than right ones.
    _, scored = matcher.scores(text)
    both = sorted(((score + TOPIC_BLEND * 100 * probabilities.get(topic.key, 0.0), topic.key)
                   for topic, score in scored), reverse=True)
    close = [k for score, k in both[: matcher.ask_top] if score >= BLEND_CHOOSE]
    if len(close) >= 2:
        return "choose", close
    return "none", []  # one topic only just close is a guess: never answered
