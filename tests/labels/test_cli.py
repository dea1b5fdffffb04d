"""`umkm-bot labels check PHOTO --json`: the same findings for staff and scripts."""
from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import main
from tests.labels.helpers import label_photo


def test_check_json_lists_items_permit_and_readable(tmp_path):
    photo = tmp_path / "label.jpg"
    photo.write_bytes(label_photo(drop=("Kode produksi",), replace={"P-IRT": "P-IRT No. 2063175010123-23"}))
    result = CliRunner().invoke(main, ["labels", "check", str(photo), "--product", "keripik pisang", "--route", "pirt",
                                       "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["readable"] is True and data["verdict"] == "needs_fixes"
    items = {i["key"]: i for i in data["items"]}
    assert items["production_code"]["found"] is False
    assert items["ingredients"]["found"] is True and "Komposisi" in items["ingredients"]["text"]
    assert data["route"] == "pirt" and data["product"] == "keripik pisang"
    assert data["permit"]["kind"] == "pirt" and data["permit"]["problem"] == "expired"
    assert data["permit"]["expiry_year"] == 2023


def test_check_prints_the_owner_answer_and_the_words(tmp_path):
    photo = tmp_path / "label.jpg"
    photo.write_bytes(label_photo())
    result = CliRunner().invoke(main, ["labels", "check", str(photo)])
    assert result.exit_code == 0, result.output
    assert "Sepertinya lengkap, pendamping bisa memastikan" in result.output
    assert "KERIPIK PISANG" in result.output


def test_wrong_permit_kind_for_the_route(tmp_path):
    photo = tmp_path / "label.jpg"
    photo.write_bytes(label_photo(replace={"P-IRT": "BPOM RI MD 234567890123456"}))
    result = CliRunner().invoke(main, ["labels", "check", str(photo), "--route", "pirt", "--json"])
    data = json.loads(result.output)
    assert (data["permit"]["kind"], data["permit"]["problem"]) == ("md", "wrong_kind")
