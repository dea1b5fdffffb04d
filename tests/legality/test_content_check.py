"""`umkm-bot content check` verifies every legality fact has sources and last_reviewed."""
from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from bot.legality import rules as legality_rules


def test_the_legality_content_passes_its_own_check(content):
    assert legality_rules.check_legality_content(content) == []


def test_facts_domain_marks_uncertain_carry_verify(content):
    steps = legality_rules.steps(content)
    assert "documents" in steps["nib"]["verify"]  # NPWP for the NIB: sources disagree
    assert "validity" in steps["md"]["verify"]
    assert "validity" in steps["tr"]["verify"]
    assert "prerequisites" in steps["halal_sd"]["verify"]  # turnover ceiling may have been raised
    assert content.data("legality/steps.yaml")["halal_deadline"]["verify"] is True


def test_cli_content_check_passes_on_the_repository():
    result = CliRunner().invoke(main, ["content", "check"])
    assert result.exit_code == 0, result.output


def test_cli_content_check_fails_on_a_fact_without_source_or_date(content_copy):
    def break_step(data):
        del data["steps"]["pirt"]["last_reviewed"]
        data["steps"]["nib"]["sources"] = []

    content_copy("legality/steps.yaml", break_step)
    content_copy("faq/halal.yaml", lambda d: d["entries"][0].update(sources=["made_up"]))
    content_copy("glossary.yaml", lambda d: d["terms"]["pkp"].pop("sources"))
    result = CliRunner().invoke(main, ["content", "check", "--dir", str(content_copy.root)])
    assert result.exit_code != 0
    assert "step pirt: last_reviewed must be a date" in result.output
    assert "step nib: no sources" in result.output
    assert "faq: halal_how: unknown source 'made_up'" in result.output
    assert "glossary.yaml: pkp: no sources" in result.output


def test_content_check_fails_when_a_product_cannot_be_decided_in_time(content_copy):
    content = content_copy("legality/products.yaml", lambda d: d.update(max_questions=1))
    errors = legality_rules.check_legality_content(content)
    assert any("product sambal: cannot decide" in e for e in errors)


def test_cli_lets_staff_try_a_product_and_a_question():
    runner = CliRunner()
    result = runner.invoke(main, ["legality", "classify", "nuget beku"])
    assert result.exit_code == 0 and "route=md (frozen)" in result.output
    result = runner.invoke(main, ["legality", "faq", "pirt brp lama berlaku?"])
    assert result.exit_code == 0 and "verdict: answer pirt_validity" in result.output
