"""The product table: 120+ owner phrasings across food, cosmetics and herbal medicine, each with the
route it must get and the rule it follows (tests/legality/product_table.yaml). Prints per-route
precision and recall on every run; CI requires 100%."""
from __future__ import annotations

from tests.legality import product_table


def test_product_table_is_big_enough_and_cites_a_rule_for_every_case():
    cases = product_table.cases()
    assert len(cases) >= 120
    assert sum(1 for c in cases if c.get("tag") == "edge") >= 30
    assert all(c.get("rule") for c in cases)
    sectors = {c["route"] for c in cases}
    assert {"pirt", "md", "cosmetics", "cosmetics_a", "umot", "ukot"} <= sectors


def test_every_product_in_the_table_gets_its_route_with_full_precision_and_recall(content, capsys):
    outcomes = [product_table.run_case(content, case) for case in product_table.cases()]
    text = product_table.report(outcomes)
    with capsys.disabled():
        print("\n" + text)
    for route, (precision, recall, _n) in product_table.per_route(outcomes).items():
        assert (precision, recall) == (1.0, 1.0), text
    assert not [o for o in outcomes if o.problems], text
