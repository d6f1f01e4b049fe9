"""``claims report``: the data it draws, the HTML it writes, and the command, on both backends."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claims.api import Tracker
from claims.domain.errors import ValidationError
from claims.io.report import render_report
from claims.io.report_svg import layout
from claims.projections import queries
from tests.ux.conftest import Run
from tests.ux.pages import MEETING, PARTIES, Elements


def test_report_data_has_a_lane_per_speaking_party_and_the_contradictions(seeded: Tracker) -> None:
    data = seeded.report_data()
    assert data["lanes"] == PARTIES
    assert len(data["claims"]) == 24
    meeting = next(c for c in data["contradictions"] if c["proposition"] == MEETING)
    assert meeting == {
        "proposition": MEETING,
        "affirms": ["us-official-blinken-lavrov-spoke"],
        "denies": ["zakharova-no-real-meeting"],
    }
    assert data["log"]["size"] == seeded.checkpoint()["size"]


def test_the_page_draws_one_lane_per_party_and_the_blinken_lavrov_contradiction(seeded: Tracker) -> None:
    page = Elements(render_report(seeded.report_data()))
    assert [g["data-party"] for g in page.having("lane", "g")] == PARTIES
    drawn = [c for c in page.having("contradiction") if c["data-proposition"] == MEETING]
    assert [(c["data-affirms"], c["data-denies"]) for c in drawn] == [
        ("us-official-blinken-lavrov-spoke", "zakharova-no-real-meeting")
    ]
    marks = page.having("mark", "a")
    assert sum("asserted" in m["class"] for m in marks) == 24
    assert all(m["href"] == f"#claim-{m['data-claim']}" for m in marks)
    rows = [attrs["id"] for tag, attrs in page.found if tag == "tr" and attrs.get("data-claim")]
    assert len(rows) == 24 and "claim-zakharova-no-real-meeting" in rows


def test_each_mark_tells_speaker_quote_source_and_relays(seeded: Tracker) -> None:
    page = render_report(seeded.report_data())
    mark = re.search(r'<a [^>]*data-claim="zakharova-no-real-meeting"[^>]*><title>(.*?)</title>', page, re.S)
    assert mark is not None
    title = mark.group(1)
    assert "Maria Zakharova, Foreign Ministry spokeswoman (Russia), 2023-03-02" in title
    assert "“No talks or real meeting took place.”" in title
    assert "Source: RIA Novosti → AP report, 2 March 2023" in title
    assert "Denies: blinken-lavrov-held-real-meeting" in title


def test_a_partial_date_sits_at_the_end_of_its_period(seeded: Tracker) -> None:
    placed = {i.claim["id"]: i.day for i in layout(seeded.report_data()).items if i.kind == "asserted"}
    assert placed["western-officials-lavrov-stormed-out-bali"] == "2022-07-31"
    assert placed["china-frames-itself-neutral"] == "2022-12-31"
    assert placed["china-rejects-arms-transfer-claims"] == "2023-02-28"


def test_reaffirmations_retractions_and_corrections_have_marks_of_their_own(seeded: Tracker) -> None:
    seeded.add_source("full-fact", name="Full Fact", kind="fact-checker")
    seeded.reaffirm("zakharova-no-real-meeting", on="2023-03-05", source="ria-novosti")
    seeded.retract("lavrov-west-turned-g20-into-farce", on="2023-03-10", source="tass", reason="walked back")
    seeded.correct("china-rejects-arms-transfer-claims", reason="overstated", text="Beijing rejected the claims.")
    seeded.verdict("zakharova-no-real-meeting", rating="misleading", by="full-fact")
    data = seeded.report_data()
    page = Elements(render_report(data))
    kinds = {(m["data-claim"], m["class"]) for m in page.having("mark", "a")}
    assert ("zakharova-no-real-meeting", "mark reaffirmed") in kinds
    assert ("lavrov-west-turned-g20-into-farce", "mark retracted") in kinds
    assert ("lavrov-west-turned-g20-into-farce", "mark asserted retracted") in kinds
    assert len(page.having("corrected", "rect")) == 1
    corrected = next(c for c in data["claims"] if c["id"] == "china-rejects-arms-transfer-claims")
    assert corrected["corrections"][0]["changes"]["text"][1] == "Beijing rejected the claims."
    html = render_report(data)
    assert "corrected in our record (overstated)" in html
    assert "verdict <b>misleading</b> by Full Fact" in html
    # The retracted claim no longer stands, so it is no longer in a drawn contradiction.
    derailed = [c for c in page.having("contradiction") if c["data-proposition"] == "west-derailed-g20-meeting"]
    assert {c["data-affirms"] for c in derailed} == {"lavrov-west-derailed-g20-meeting"}


def test_each_card_names_the_claims_of_other_parties_that_contradict_it(seeded: Tracker) -> None:
    page = render_report(seeded.report_data())
    cards = dict(re.findall(r'<template id="detail-([^"]+)">(.*?)</template>', page, re.S))
    assert len(cards) == 24
    zakharova = cards["zakharova-no-real-meeting"]
    assert "<dt>Contradicted by</dt>" in zakharova
    assert 'United States: <a href="#claim-us-official-blinken-lavrov-spoke">' in zakharova
    assert 'Russia: <a href="#claim-zakharova-no-real-meeting">' in cards["us-official-blinken-lavrov-spoke"]
    contested = {i for item in seeded.report_data()["contradictions"] for i in (*item["affirms"], *item["denies"])}
    assert {ident for ident, card in cards.items() if "Contradicted by" in card} == contested


def test_a_claim_opposed_only_by_its_own_party_names_no_one_contradicting_it(seeded: Tracker) -> None:
    second = "us-second-official-no-real-meeting"
    seeded.add_claim(
        id=second,
        party="united-states",
        topic="blinken-lavrov-encounter",
        said_on="2023-03-03",
        source="ap-2023-03-02",
        text="A second U.S. official says the two did not really meet.",
        proposition=MEETING,
        stance="denies",
    )
    page = render_report(seeded.report_data())
    cards = dict(re.findall(r'<template id="detail-([^"]+)">(.*?)</template>', page, re.S))
    # The second U.S. claim denies, as Russia does; the only claim affirming is its own party's.
    assert "Contradicted by" not in cards[second]
    # The U.S. claim that affirms is contradicted by Russia's denial, not by its own party's.
    affirming = cards["us-official-blinken-lavrov-spoke"]
    assert "#claim-zakharova-no-real-meeting" in affirming and f"#claim-{second}" not in affirming


class _Counted(list[dict[str, Any]]):
    """A list that counts how often it is read through."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        super().__init__(items)
        self.reads = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.reads += 1
        return super().__iter__()


def test_the_report_reads_its_claims_a_fixed_number_of_times_whatever_their_number(seeded: Tracker) -> None:
    """Each claim's card once read every claim and contradiction again: ten seconds for 10,000
    claims, and a 1M-event log's report never finished. Now the page takes as many passes over the
    claims, and over the contradictions, for the seed's 24 claims as for ten times as many."""

    def passes(copies: int) -> tuple[int, int]:
        data = seeded.report_data()

        def copied(ident: str, n: int) -> str:
            return f"{ident}-{n}" if n else ident

        claims = _Counted([{**c, "id": copied(c["id"], n)} for n in range(copies) for c in data["claims"]])
        contradictions = _Counted(
            [
                {
                    **item,
                    **{
                        side: [copied(i, n) for n in range(copies) for i in item[side]]
                        for side in ("affirms", "denies")
                    },
                }
                for item in data["contradictions"]
            ]
        )
        data.update(claims=claims, contradictions=contradictions)
        page = render_report(data)
        assert page.count("<template id=") == 24 * copies
        assert page.count('<path class="contradiction"') > copies  # the copies contradict each other too
        return claims.reads, contradictions.reads

    assert passes(10) == passes(1)


def test_the_page_on_standard_output_is_the_page_in_the_file(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert run("--db", seeded.url, "report", "--out", str(out)).exit_code == 0
    printed = run("--db", seeded.url, "report", "--out", "-")
    assert printed.exit_code == 0
    assert printed.stdout == out.read_text(encoding="utf-8") == render_report(seeded.report_data())


def test_as_of_leaves_out_what_was_not_yet_said(seeded: Tracker) -> None:
    data = seeded.report_data(as_of="2023-02-28")
    assert {c["said_end"] <= "2023-02-28" for c in data["claims"]} == {True}
    assert "china-rejects-arms-transfer-claims" in {c["id"] for c in data["claims"]}
    assert "zakharova-no-real-meeting" not in {c["id"] for c in data["claims"]}
    assert data["contradictions"] == [
        {
            "proposition": "west-responsible-for-nord-stream-sabotage",
            "affirms": ["russia-blames-west-for-nord-stream"],
            "denies": ["west-blames-russia-for-nord-stream"],
        }
    ]


def test_known_at_before_anything_was_recorded_draws_an_empty_report(seeded: Tracker) -> None:
    data = seeded.report_data(known_at="2000-01-01")
    assert data["claims"] == [] and data["lanes"] == [] and data["log"]["size"] == 0
    assert "No claims to show." in render_report(data)


def test_topic_and_parties_choose_the_lanes_in_the_order_asked(seeded: Tracker) -> None:
    data = seeded.report_data(topic="blinken-lavrov-encounter", parties=["united-states", "russia", "china"])
    assert data["lanes"] == ["united-states", "russia", "china"]
    assert {c["party"] for c in data["claims"]} == {"united-states", "russia"}
    page = Elements(render_report(data))
    assert [g["data-party"] for g in page.having("lane", "g")] == ["united-states", "russia", "china"]


@pytest.fixture
def made_views(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every claim view the queries make from a row read, in the order made: the claims read."""
    made: list[dict[str, Any]] = []
    view = queries.claim_view

    def watched(row: Any, *args: Any) -> dict[str, Any]:
        made.append(view(row, *args))
        return made[-1]

    monkeypatch.setattr(queries, "claim_view", watched)
    return made


def test_a_report_of_some_parties_reads_only_their_claims(seeded: Tracker, made_views: list[dict[str, Any]]) -> None:
    """The parties are chosen by the database, not from every claim read back: at 1M events a
    report of one party of twelve read all 869,473 claims (21 s and 1,087 MB on SQLite, where
    its own claims take 7 s and 188 MB)."""
    data = seeded.report_data(parties=["russia", "china"])
    assert {c["party"] for c in data["claims"]} == {"russia", "china"}
    assert sorted(v["party"] for v in made_views) == sorted(c["party"] for c in data["claims"])
    everyone = seeded.report_data()["claims"]
    assert [c for c in everyone if c["party"] in {"russia", "china"}] == data["claims"]
    # A party named twice, and a date: the same claims as the whole report holds for them then.
    then = seeded.report_data(parties=["china", "russia", "china"], as_of="2023-03-02")
    assert then["lanes"] == ["china", "russia"]
    everyone = seeded.report_data(as_of="2023-03-02")["claims"]
    assert [c for c in everyone if c["party"] in {"russia", "china"}] == then["claims"] != []


def test_a_report_of_more_claims_than_asked_is_refused_after_reading_one_claim_more(
    seeded: Tracker, made_views: list[dict[str, Any]]
) -> None:
    """A report of a 1M-event log's 869,473 claims took 95 s and 1.9 GB to write a 2.85 GB page no
    browser opens. With ``max_claims``, one claim more than allowed is read, then only counted."""
    with pytest.raises(ValidationError) as refused:
        seeded.report_data(max_claims=3)
    assert str(refused.value).startswith("the report would show 24 claims, more than the limit of 3 ")
    assert len(made_views) == 4
    assert len(seeded.report_data(max_claims=24)["claims"]) == 24
    with pytest.raises(ValidationError, match="would show 7 claims, more than the limit of 6 "):
        seeded.report_data(parties=["russia"], max_claims=6)
    with pytest.raises(ValidationError, match="would show 4 claims, more than the limit of 3 "):
        seeded.report_data(topic="blinken-lavrov-encounter", as_of="2023-03-02", max_claims=3)
    with pytest.raises(ValidationError, match="at least 1 claim, not 0"):
        seeded.report_data(max_claims=0)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"parties": ["russia", "china"]},
        {"topic": "blinken-lavrov-encounter"},
        {"topic": "nord-stream-investigation", "parties": ["russia"]},
        {"as_of": "2023-02-28"},
        {"known_at": "imported", "topic": "g20-joint-statement"},
        {"known_at": "2000-01-01"},
    ],
)
def test_the_count_of_a_refused_report_is_the_number_of_claims_it_would_show(
    seeded: Tracker, filters: dict[str, Any]
) -> None:
    """With a claim recorded after the seed and one retracted, which the count must leave out or
    keep as the report does."""
    imported = next(seeded.log())["recorded_at"]  # the seed is one transaction: every line's time
    seeded.retract("zakharova-no-real-meeting", on="2023-03-05")
    seeded.add_claim(party="russia", topic="g20-joint-statement", said_on="2023-03-04", source="tass", text="Later.")
    if filters.get("known_at") == "imported":
        filters = {**filters, "known_at": imported}
    shown = len(seeded.report_data(**filters)["claims"])
    if shown == 0:
        assert seeded.report_data(**filters, max_claims=1)["claims"] == []
        return
    with pytest.raises(ValidationError) as refused:
        seeded.report_data(**filters, max_claims=shown - 1)
    assert f"would show {shown:,} claims, more than the limit of {shown - 1:,} " in str(refused.value)


def test_user_text_is_escaped(tracker: Tracker) -> None:
    tracker.add_party("evil", name='<script>alert("party")</script>', kind="other")
    tracker.add_topic("t", title="<b>topic</b>")
    tracker.add_source("s", name="<img src=x onerror=alert(1)>", url='https://example.org/"onmouseover="alert(1)')
    tracker.add_claim(
        party="evil", topic="t", said_on="2023-03", source="s", text="</title><script>x()</script>", quote='"&<>'
    )
    page = render_report(tracker.report_data())
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>topic" not in page
    assert "</title><script>x()" not in page
    assert "&lt;script&gt;alert(&quot;party&quot;)&lt;/script&gt;" in page
    assert '"onmouseover="' not in page
    assert 'href="https://example.org/&quot;onmouseover=&quot;alert(1)"' in page


def test_the_claims_of_one_day_are_listed_in_the_order_they_were_said(tracker: Tracker) -> None:
    """Times of one day by their instants, whatever their offsets: 10:00 in Delhi (04:30 UTC)
    before 06:00 UTC, though its text sorts after; a bare date before them all."""
    tracker.add_party("north", name="North")
    tracker.add_topic("talks", title="Talks")
    tracker.add_source("wire", name="Wire")
    for text, said_on in (
        ("utc-six", "2023-03-02T06:00Z"),
        ("delhi-ten", "2023-03-02T10:00+05:30"),
        ("bare", "2023-03-02"),
    ):
        tracker.add_claim(party="north", topic="talks", said_on=said_on, source="wire", text=text)
    tracker.add_claim(party="north", topic="talks", said_on="2023-03-02T08:00+02:00", source="wire", text="z-first")
    tracker.add_claim(party="north", topic="talks", said_on="2023-03-02T06:00:00Z", source="wire", text="a-second")
    page = render_report(tracker.report_data())
    table = page[page.index('<section id="claims">') :]
    # 06:00 UTC three times: in the order recorded, as ``list`` has them, not by id.
    assert table.index("bare") < table.index("delhi-ten") < table.index("utc-six")
    assert table.index("utc-six") < table.index("z-first") < table.index("a-second")
    assert [c["text"] for c in tracker.list_claims()][-3:] == ["utc-six", "z-first", "a-second"]


def test_the_page_is_self_contained(seeded: Tracker) -> None:
    page = render_report(seeded.report_data())
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert not re.search(r"\ssrc=", page)
    assert "@import" not in page and "url(" not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith(("#", "https://", "http://")) for h in hrefs)
    assert page.count("<script>") == 1 and "<style>" in page and "<svg " in page


def test_claims_report_writes_the_file_and_says_so(seeded: Tracker, run: Run, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run("--db", seeded.url, "report", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"wrote {out} (24 claims, 6 parties, 5 contradictions)\n"
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # readable as any new file, not mkstemp's 0600
    out.chmod(0o600)  # made private: written again, it stays so (it was made world-readable)
    assert run("--db", seeded.url, "report", "--out", str(out)).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o600


def test_claims_report_to_standard_output(seeded: Tracker, run: Run) -> None:
    result = run("--db", seeded.url, "report", "--topic", "nord-stream-investigation", "--out", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("<!doctype html>") and "Investigation into the Nord Stream" in result.stdout


def test_claims_report_refuses_a_report_beyond_max_claims_and_writes_nothing(
    seeded: Tracker, run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = run("--db", seeded.url, "report", "--max-claims", "23", "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the report would show 24 claims, more than the limit of 23 (--max-claims), too many for a"
        " browser; narrow it with --topic, --party or --as-of, or raise the limit\n"
    )
    assert not out.exists() and list(tmp_path.glob(".report.html.*")) == []
    printed = run("--db", seeded.url, "report", "--max-claims", "23", "--out", "-")
    assert (printed.exit_code, printed.stdout, printed.stderr) == (1, "", result.stderr)
    assert run("--db", seeded.url, "report", "--max-claims", "24", "--out", str(out)).exit_code == 0
    assert out.exists()
    refused = run("--db", seeded.url, "report", "--max-claims", "0", "--out", "-")
    assert refused.exit_code == 2 and "Invalid value for '--max-claims'" in refused.stderr
    assert refused.stdout == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--party", "atlantis"], "Error: unknown party: atlantis\n"),
        (["--topic", "nothing"], "Error: unknown topic: nothing\n"),
        (["--as-of", "2023-02-30"], "Error: not a date: 2023-02-30\n"),
    ],
)
def test_claims_report_refuses_bad_input_in_one_line(
    seeded: Tracker, run: Run, tmp_path: Path, args: list[str], error: str
) -> None:
    out = tmp_path / "report.html"
    result = run("--db", seeded.url, "report", *args, "--out", str(out))
    assert result.exit_code == 1
    assert result.stderr == error
    assert not out.exists()
    assert list(tmp_path.glob(".report.html.*")) == []
