"""The claims of a document that respond, through its replies, to themselves: each is a problem of
its own when a rejected document is checked (claims.service.import_check), where a claim that
only leads into a loop, or waits at the end of a chain, is held back with what it waits for."""

from __future__ import annotations

from claims.domain import commands as cmd
from claims.service.import_check import claims_in_loops


def claim(ident: str, responds_to: str | None = None) -> cmd.AssertClaim:
    return cmd.AssertClaim(
        id=ident,
        party="russia",
        topic="g20",
        said_on="2023-03-02",
        source="tass",
        text=f"Claim {ident}.",
        responds_to=responds_to,
        relation="contradicts" if responds_to else None,
    )


def test_loops_of_one_two_and_three_claims_are_found_and_the_claims_leading_into_them_are_not() -> None:
    assertions = [
        claim("tail", "l1"),  # leads into the loop of three, walked first
        claim("l1", "l2"),
        claim("l2", "l3"),
        claim("l3", "l1"),
        claim("self", "self"),
        claim("a", "b"),
        claim("b", "a"),
        claim("into-a", "a"),
        claim("chain-2", "chain-1"),
        claim("chain-1", "outside"),  # a claim recorded before, or unknown
        claim("alone"),
    ]
    assert claims_in_loops(assertions) == {"l1", "l2", "l3", "self", "a", "b"}
    assert claims_in_loops(list(reversed(assertions))) == {"l1", "l2", "l3", "self", "a", "b"}


def test_a_long_chain_of_replies_holds_no_loop() -> None:
    chain = [claim("c0"), *(claim(f"c{i}", f"c{i - 1}") for i in range(1, 20_000))]
    assert claims_in_loops(chain) == set()
    chain[0] = claim("c0", "c19999")  # the first responds to the last: one loop of them all
    assert claims_in_loops(chain) == {f"c{i}" for i in range(20_000)}
