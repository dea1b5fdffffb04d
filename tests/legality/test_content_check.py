"""`umkm-bot content check` verifies every legality fact has sources and last_reviewed."""
from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from bot.legality import rules as legality_rules


def test_the_legality_content_passes_its_own_check(content):
    assert legality_rules.check_legality_content(content) == []


def test_facts_domain_marks_uncertain_carry_verify(content):
    steps = legality_rules.steps(content)
    assert "documents" not in steps["nib"]["verify"]  # NPWP for the NIB: resolved (the NIK is the NPWP)
    assert "validity" in steps["md"]["verify"]
    assert "validity" in steps["tr"]["verify"]
    assert "prerequisites" in steps["halal_sd"]["verify"]  # turnover ceiling may have been raised
    assert "validity" in steps["slhs"]["verify"] and "cost" in steps["merek"]["verify"]
    # DOMAIN-2 confirmed the halal deadline (18 Oct 2026) and its PP 42/2024 sanctions.
    assert content.data("legality/steps.yaml")["halal_deadline"]["verify"] is False


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


def test_cli_content_facts_prints_every_fact_with_source_review_date_and_verify_as_csv():
    import csv
    import io

    result = CliRunner().invoke(main, ["content", "facts"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    by_key = {(r["kind"], r["key"]): r for r in rows}
    assert list(rows[0]) == ["file", "kind", "key", "title", "sources", "source_titles", "last_reviewed",
                             "verify", "verify_note"]
    pirt = by_key[("step", "pirt")]
    assert "perbpom_22_2018" in pirt["sources"] and "PerBPOM 22/2018" not in pirt["sources"]
    assert "Pedoman Pemberian SPP-IRT" in pirt["source_titles"] and pirt["last_reviewed"] == "2026-11-26"
    assert pirt["verify"] == "yes" and pirt["verify_note"].startswith("[cost, duration, documents]")
    assert by_key[("step", "label")]["verify"] == "no"
    assert by_key[("deadline", "halal_deadline")]["verify"] == "no"
    assert ("faq", "slhs_what") in by_key and ("glossary", "umk") in by_key and ("gmp", "levels") in by_key
    # PerBPOM 4/2024 was removed: no source for it was found (DOMAIN-2).
    assert "perbpom_4_2024" not in result.output
    assert all(r["sources"] and r["last_reviewed"] for r in rows)


def test_content_check_fails_on_a_fact_reviewed_more_than_12_months_ago(content_copy):
    from datetime import date

    from bot.legality import facts

    content = content_copy("faq/halal.yaml", lambda d: d["entries"][0].update(last_reviewed=date(2025, 11, 1)))
    assert facts.stale_facts(content, today=date(2026, 10, 31)) == []  # 364 days: still fine
    errors = facts.stale_facts(content, today=date(2026, 11, 26))
    assert errors == ["faq: faq halal_how: last reviewed 2025-11-01, more than 12 months ago; "
                      "review it against its sources and update last_reviewed"]
    result = CliRunner().invoke(main, ["content", "check", "--dir", str(content_copy.root)])
    assert result.exit_code != 0 and "halal_how: last reviewed 2025-11-01" in result.output


def test_content_check_catches_a_step_key_too_long_for_the_database_column(content_copy):
    # Found on PostgreSQL only: a 17-letter permit kind overflowed legality_steps.permit_kind (16).
    content = content_copy("legality/steps.yaml",
                           lambda d: d["steps"]["prod_kosmetik"].update(permit_kind="produksi_kosmetik"))
    errors = legality_rules.check_legality_content(content)
    assert any("permit_kind 'produksi_kosmetik' is longer than 16" in e for e in errors)
