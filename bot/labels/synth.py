"""A generated set of label photos with known findings, for tests, `umkm-bot labels eval` and the bench.

Each case is a label text (product name, ingredients, net content, producer and address, permit
number, production code, "Baik digunakan sebelum" + date; sometimes a halal logo or a claim), drawn
with Pillow in one of the Debian fonts (DejaVu, Liberation) at a chosen size, then spoiled the way
phone photos are: turned a few degrees, blurred, low contrast, JPEG-compressed. Some labels are
complete; others miss one or two items, carry a wrong or expired permit number, use "Exp" instead
of the required wording, or make a medicinal claim. Everything follows from the seed, so a failing
case can be regenerated and looked at (`umkm-bot labels eval --keep DIR`).
"""
from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed.ttf", "DejaVuSans-Bold.ttf",
              "LiberationSans-Regular.ttf", "LiberationSerif-Regular.ttf", "LiberationMono-Regular.ttf",
              "LiberationSans-Bold.ttf")
ITEMS = ("product_name", "ingredients", "net_content", "producer", "permit_number", "production_code",
         "best_before")

PRODUCTS = [
    ("KERIPIK PISANG", "pisang kepok, minyak sawit, gula pasir, garam", "150 g"),
    ("SAMBAL BAWANG", "cabai rawit, bawang merah, bawang putih, minyak kelapa, garam, gula", "200 g"),
    ("KERUPUK IKAN", "tepung tapioka, ikan tenggiri, bawang putih, garam", "250 g"),
    ("KOPI BUBUK ROBUSTA", "biji kopi robusta sangrai 100%", "100 g"),
    ("ABON SAPI", "daging sapi, gula merah, bawang merah, ketumbar, minyak goreng", "100 g"),
    ("RENGGINANG TERASI", "beras ketan, terasi udang, bawang putih, garam", "300 g"),
    ("MADU HUTAN", "madu murni", "350 g"),
    ("KUE KERING NASTAR", "tepung terigu, mentega, telur, gula halus, selai nanas", "400 g"),
    ("TEH SEREH JAHE", "daun teh hijau, sereh kering, jahe kering", "50 g"),
    ("EMPING MELINJO", "biji melinjo, garam", "250 g"),
    ("BUMBU RENDANG", "cabai merah, bawang merah, lengkuas, serai, kelapa sangrai, garam", "120 g"),
    ("SIRUP JERUK NIPIS", "gula pasir, air jeruk nipis, air", "500 ml"),
]
PRODUCERS = [
    ("UD Sari Rasa", "Jl. Melati No. 12 RT 03/RW 05, Duren Sawit, Jakarta Timur"),
    ("Dapur Bu Ani", "Jl. Kenanga Raya No. 7, Kec. Kebon Jeruk, Jakarta Barat"),
    ("CV Mekar Jaya", "Gg. Haji Naim No. 3, Kel. Cipete, Jakarta Selatan"),
    ("Rumah Kue Ibu Tini", "Jl. Pisangan Lama II No. 21, Jatinegara, Jakarta Timur"),
    ("Berkah Mandiri", "Jl. Swadaya No. 45 RT 08/RW 02, Koja, Jakarta Utara"),
]
CLAIMS = ["Menyembuhkan maag dan asam urat", "Obat alami untuk darah tinggi", "Berkhasiat mencegah penyakit"]


@dataclass
class Case:
    name: str
    lines: list[tuple[str, str]]  # (role, text); role "title" is drawn large
    expected: dict[str, bool]  # item -> present on the label
    permit_problem: str | None = None  # None (fine), "wrong_length", "expired", "absent"
    halal_logo: bool = False
    claim: bool = False
    wording_problem: bool = False  # a date written "Exp" instead of "Baik digunakan sebelum"
    render: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(self.expected.values()) and self.permit_problem is None and not self.claim


def fonts() -> list[Path]:
    found = [d / f for d in FONT_DIRS for f in FONT_FILES if (d / f).exists()]
    if not found:
        raise RuntimeError("no DejaVu/Liberation fonts (scripts/install-tesseract installs them)")
    return found


def _pirt_number(rng: random.Random, year: int) -> str:
    body = f"{rng.randint(1, 5)}{rng.randint(1, 16):02d}31{rng.randint(71, 75):02d}{rng.randint(1, 30):02d}{rng.randint(1, 999):04d}"
    return f"P-IRT No. {body}-{year % 100:02d}"


def _md_number(rng: random.Random) -> str:
    return f"BPOM RI MD {rng.randint(10**14, 10**15 - 1)}"


def make_case(rng: random.Random, index: int, today: date) -> Case:
    product, ingredients, net = rng.choice(PRODUCTS)
    producer, address = rng.choice(PRODUCERS)
    kind = index % 10
    # Which items to leave out, and which problem to plant.
    missing: set[str] = set()
    permit_problem = None
    wording = False
    claim = False
    if kind in (1, 2, 3, 4):
        missing = {ITEMS[(index // 10 + kind) % len(ITEMS)]}
    elif kind == 5:
        first = (index // 10) % len(ITEMS)
        missing = {ITEMS[first], ITEMS[(first + 3) % len(ITEMS)]}
    elif kind == 6:
        permit_problem = "wrong_length"
    elif kind == 7:
        permit_problem = "expired"
    elif kind == 8:
        wording = True
    use_md = rng.random() < 0.25
    year = today.year + rng.randint(1, 4)
    if permit_problem == "expired":
        year = today.year - rng.randint(1, 3)
    if permit_problem:
        use_md = False  # MD numbers have no year, and both 12 and 15 digits are valid
    if use_md:
        permit = _md_number(rng)
    else:
        permit = _pirt_number(rng, year)
    if permit_problem == "wrong_length":
        permit = permit[:-6] + permit[-3:]  # three digits lost
    if "permit_number" in missing:
        permit_problem = "absent"
    day = date(today.year + 1, rng.randint(1, 12), rng.randint(1, 28))
    best_before = ("Exp: " if wording else rng.choice(["Baik digunakan sebelum: ", "Baik digunakan sebelum "])) \
        + day.strftime(rng.choice(["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]))
    code = rng.choice(["Kode produksi: ", "Kode Produksi: ", "Tgl produksi: "]) + \
        (f"{rng.choice('ABCKS')}{rng.randint(1000, 9999)}" if rng.random() < 0.6 else date(today.year, rng.randint(1, 11), rng.randint(1, 28)).strftime("%d%m%y"))
    lines: list[tuple[str, str]] = []
    if "product_name" not in missing:
        lines.append(("title", product))
    if "ingredients" not in missing:
        lines.append(("text", f"Komposisi: {ingredients}"))
    if "net_content" not in missing:
        lines.append(("text", f"{rng.choice(['Berat bersih', 'Netto', 'Berat Bersih'])}: {net}" if not net.endswith("ml")
                      else f"Isi bersih: {net}"))
    if claim := (kind == 9 and rng.random() < 0.6):
        lines.append(("text", rng.choice(CLAIMS)))
    if "producer" not in missing:
        lines.append(("text", f"Diproduksi oleh: {producer}"))
        lines.append(("text", address))
    if "permit_number" not in missing:
        lines.append(("text", permit))
    if "production_code" not in missing:
        lines.append(("text", code))
    if "best_before" not in missing:
        lines.append(("text", best_before))
    expected = {item: item not in missing for item in ITEMS}
    if wording:
        expected["best_before"] = False
    halal = rng.random() < 0.25
    font = rng.choice(fonts())
    render = {
        "font": font.name,
        "size": rng.randint(20, 30),
        "rotate": round(rng.uniform(-5, 5), 1) if rng.random() < 0.7 else 0.0,
        "blur": round(rng.choice([0, 0, 0.4, 0.7, 1.0]), 1),
        "low_contrast": rng.random() < 0.25,
        "jpeg": rng.randint(35, 85),
        "width": rng.randint(700, 1100),
        "seed": rng.randint(0, 10**6),
    }
    return Case(name=f"label_{index:03d}", lines=lines, expected=expected, permit_problem=permit_problem,
                halal_logo=halal, claim=claim, wording_problem=wording, render=render)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    out, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    return out


def render(case: Case) -> bytes:
    """The case drawn and spoiled as a phone photo would be; JPEG bytes."""
    r = case.render
    rng = random.Random(r["seed"])
    font_path = next(p for p in fonts() if p.name == r["font"])
    size = r["size"]
    body = ImageFont.truetype(str(font_path), size)
    title = ImageFont.truetype(str(font_path), int(size * 1.8))
    width = 900
    if r["low_contrast"]:
        paper, ink = rng.randint(185, 210), rng.randint(95, 125)
    else:
        paper, ink = rng.randint(225, 255), rng.randint(0, 50)
    scratch = ImageDraw.Draw(Image.new("L", (10, 10)))
    margin = 50
    rows: list[tuple[str, ImageFont.FreeTypeFont]] = []
    for role, text in case.lines:
        font = title if role == "title" else body
        for part in _wrap(scratch, text, font, width - 2 * margin - (150 if case.halal_logo else 0)):
            rows.append((part, font))
    line_gap = int(size * 0.55)
    height = margin * 2 + sum(int(f.size * 1.2) + line_gap for _, f in rows)
    height = max(height, 360)
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    draw.rectangle([12, 12, width - 12, height - 12], outline=ink, width=3)
    y = margin
    for text, font in rows:
        draw.text((margin, y), text, font=font, fill=ink)
        y += int(font.size * 1.2) + line_gap
    if case.halal_logo:
        cx, cy, radius = width - 110, margin + 70, 60
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=ink, width=5)
        logo = ImageFont.truetype(str(font_path), 26)
        draw.text((cx, cy), "HALAL", font=logo, fill=ink, anchor="mm")
    # A photo of it: a table around the label, a slight turn, blur, another size, JPEG.
    table = Image.new("L", (width + 120, height + 120), max(0, paper - rng.randint(40, 90)))
    table.paste(image, (60, 60))
    image = table
    if r["rotate"]:
        image = image.rotate(r["rotate"], resample=Image.Resampling.BICUBIC, expand=True, fillcolor=int(paper * 0.6))
    if r["blur"]:
        image = image.filter(ImageFilter.GaussianBlur(r["blur"]))
    scale = r["width"] / image.width
    image = image.resize((r["width"], int(image.height * scale)), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=r["jpeg"])
    return out.getvalue()


def unreadable_photo(seed: int = 7) -> bytes:
    """A label photographed out of focus and too far away: nothing can be read."""
    rng = random.Random(seed)
    case = make_case(rng, 0, date(2026, 1, 1))
    case.render.update(width=300, blur=0)
    small = Image.open(io.BytesIO(render(case)))
    small = small.filter(ImageFilter.GaussianBlur(6)).resize((900, int(small.height * 3)))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=30)
    return out.getvalue()


def generate(count: int = 60, seed: int = 2026, today: date | None = None) -> list[Case]:
    rng = random.Random(seed)
    today = today or date.today()
    return [make_case(rng, i, today) for i in range(count)]


def write(cases: list[Case], folder: Path) -> None:
    """Images and an `expected.json` beside them (for looking at a case by eye)."""
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        (folder / f"{case.name}.jpg").write_bytes(render(case))
    (folder / "expected.json").write_text(json.dumps([asdict(c) for c in cases], indent=1, ensure_ascii=False))
