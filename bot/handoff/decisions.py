"""A mentor's decision about a product's permit route, recorded when the case closes.

    /selesai 12 pirt Sudah dicek, keripik dibuat di rumah
    /selesai 12 md halal-reguler Produk beku, perlu BPOM MD

The route words are content (content/handoff/commands.yaml `routes`, `halal_routes`). The case's
product (its context, set by the legality flow) gets that route on the owner's pathway
(`bot.legality.pathway.add_product`, the same call as the bot's own classification), so the bot
does not ask the owner the same questions again and "all done" counts this product.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.content import Content
from bot.handoff.actions import actor, log_event
from storage.models import Owner, Ticket
from storage.models.handoff import Mentor


def _words(content: Content, section: str) -> dict[str, str]:
    table = content.data("handoff/commands.yaml").get(section) or {}
    return {str(word).lower(): key for key, words in table.items() for word in words or []}


def parse(content: Content, note: str) -> tuple[str | None, str | None, str]:
    """(route, halal route, the rest of the note) from the text after "/selesai 12"."""
    words = note.split()
    if not words:
        return None, None, note
    route = _words(content, "routes").get(words[0].lower())
    if route is None:
        return None, None, note
    words.pop(0)
    halal = _words(content, "halal_routes").get(words[0].lower()) if words else None
    if halal is not None:
        words.pop(0)
    return route, halal, " ".join(words)


def route_summary(content: Content, route: str, lang: str) -> str:
    from bot.legality import rules as legality_rules

    spec = (legality_rules.products(content).get("routes") or {}).get(route) or {}
    return str(legality_rules.lang_text(spec.get("summary"), lang) or route)


def _product_name(session: Session, ticket: Ticket, owner: Owner) -> str | None:
    from bot.legality import pathway

    named = (ticket.context or {}).get("product")
    if named:
        return str(named)
    unclassified = pathway.unclassified_products(session, owner)
    if len(unclassified) == 1:
        return unclassified[0]
    undecided = [p.name for p in pathway.products_of(session, owner) if not p.route or p.route == "outside"]
    return undecided[0] if len(undecided) == 1 else None


def record(session: Session, content: Content, ticket: Ticket, owner: Owner, mentor: Mentor, route: str,
           halal: str | None, now: datetime | None = None):
    """Put the decided route on the owner's pathway; returns the product, or None when the case
    names no product and the owner has none waiting for a route."""
    from bot.legality import classify, pathway
    from bot.legality import rules as legality_rules

    name = _product_name(session, ticket, owner)
    if name is None:
        return None
    context = ticket.context or {}
    key = context.get("product_key")
    facts = dict(context.get("facts") or {})
    if not key:
        groups = classify.find_products(name, content)
        key = groups[0][0].key if groups and len({m.key for m in groups[0]}) == 1 else None
    bot_view = classify.decide(content, key, facts) if key else None
    sector = (bot_view.sector if bot_view else None) or owner.sector or "food"
    if halal is None:
        halal = bot_view.halal_route if bot_view is not None and bot_view.halal_route else None
    if halal is None:
        # No halal word and the rules cannot tell: the regular route is open to every product.
        routes = legality_rules.products(content).get("routes") or {}
        halal = "halal_reg" if classify.HALAL in ((routes.get(route) or {}).get("steps") or []) else "none"
    decision = classify.Decision("decided", key, sector, route=route, reason="mentor", halal_route=halal,
                                 halal_reason="mentor", facts=facts,
                                 steps=classify.route_steps(content, route, halal))
    product = pathway.add_product(session, owner, name, decision, content, now)
    log_event(session, ticket, actor(mentor), "route_decided", f"{name}: {route} / {halal}", now)
    return product
