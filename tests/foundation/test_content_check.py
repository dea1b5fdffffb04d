"""`umkm-bot content check` catches what would otherwise reach an owner as a crash or a blank."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.content import Content, ContentError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def content_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(REPO / "content", target)
    return target


def _check(root: Path):
    return CliRunner().invoke(main, ["content", "check", "--dir", str(root)])


def test_shipped_content_passes():
    result = _check(REPO / "content")
    assert result.exit_code == 0, result.output
    assert "content check ok" in result.output


def test_key_missing_in_english_fails(content_copy):
    path = content_copy / "texts" / "en.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('  ask_name: "What is your name?"\n', ""), encoding="utf-8")
    result = _check(content_copy)
    assert result.exit_code == 1
    assert "missing key 'registration.ask_name'" in result.output


def test_template_variable_differs_between_languages_fails(content_copy):
    path = content_copy / "templates" / "en" / "registration_summary.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("{{ business }}", "{{ business_title }}"), encoding="utf-8")
    result = _check(content_copy)
    assert result.exit_code == 1
    assert "registration_summary" in result.output and "different variables" in result.output


def test_malformed_yaml_fails(content_copy):
    (content_copy / "menu.yaml").write_text("items: [unclosed\n", encoding="utf-8")
    result = _check(content_copy)
    assert result.exit_code == 1
    assert "malformed YAML" in result.output


def test_bare_yes_key_is_rejected(content_copy):
    path = content_copy / "texts" / "id.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "extra:\n  yes: Ya\n", encoding="utf-8")
    with pytest.raises(ContentError, match="not a string"):
        Content(content_copy)


def test_duplicate_key_is_rejected(content_copy):
    path = content_copy / "texts" / "id.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "common:\n  x: y\n", encoding="utf-8")
    with pytest.raises(ContentError, match="duplicate key 'common'"):
        Content(content_copy)


def test_undefined_variable_at_render_is_an_error(content):
    with pytest.raises(Exception, match="name"):
        content.t("registration.done")


def test_code_referencing_a_missing_key_fails(content_copy, tmp_path):
    code = tmp_path / "src" / "flows"
    code.mkdir(parents=True)
    (code / "x.py").write_text('def f(turn):\n    turn.say("registration.no_such_text")\n', encoding="utf-8")
    result = Content(content_copy).check(source_roots=[code])
    assert any("registration.no_such_text" in e for e in result.errors)


def test_every_area_has_44_kecamatan_check(content_copy):
    path = content_copy / "locations" / "jakarta.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - {key: koja, name: Koja}\n", ""), encoding="utf-8")
    result = Content(content_copy).check()
    assert any("44 kecamatan" in e for e in result.errors)
