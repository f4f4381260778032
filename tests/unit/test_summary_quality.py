"""/summarize as a team reads it: what the bot was asked is never part of the summary, decisions that changed show
only their latest value, no line appears twice, citations are numbered once per summary, and the header reads
right for every span. No model: the extractive pipeline (model=None) is what every install falls back to."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot import texts
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.runners.summarize import SummarizeRunner, render_summary, span_after_the
from bot.slack.directory import Directory
from handlers.summarize.summary import Summary, SummaryPoint, is_to_or_from_bot, summarize
from handlers.text.lines import ChatLine, readable_text
from storage.jobs import ClaimedJob
from storage.messages import StoredMessage
from tests.support.scripted_model import ScriptedModel

BOT = "U0BOT"
NAMES = {"U1": "priya", "U2": "marta", "U3": "tom", "U4": "aisha", BOT: "Parlance"}

# Ten release-planning messages typed into a fresh install, three of them to the bot, one the bot's answer.
PLANNING = [
    ("U1", "proposal: code freeze Tue the 11th, submit to the stores Fri the 14th"),
    ("U2", f"<@{BOT}> when is the code freeze?"),
    (BOT, "The code freeze is on Tuesday the 11th [1]."),
    ("U3", "heads up, the payments SDK fix lands wednesday at the earliest. if we freeze tuesday we ship the old SDK"),
    ("U1", "ok then lets move the freeze to Thursday the 13th. store submission moves to Monday the 17th"),
    ("U4", f"<@{BOT}> can you remind everyone about the freeze on thursday?"),
    ("U2", "I'll update the launch calendar by wednesday"),
    ("U3", "who's writing the rollback runbook this time?"),
    ("U1", "tom can you own it again? you did the 2.3 one"),
    ("U3", "fine, I'll have it in the release folder by wednesday"),
    ("U4", f"<@{BOT}> who owns the runbook?"),
    ("U2", "one open thing: the android tablet layout bug. is it a blocker? I honestly don't know yet"),
]


def line(n: int, user: str, text: str, *, thread: int | None = None) -> ChatLine:
    ts = f"17000000{n:02d}.000100"
    return ChatLine(
        ts=ts,
        speaker=NAMES[user],
        text=readable_text(text, lambda uid: NAMES.get(uid, uid)),
        url=f"https://t.slack.com/archives/C1/p17000000{n:02d}000100",
        thread_ts=f"17000000{thread:02d}.000100" if thread is not None else None,
    )


def planning_lines() -> list[ChatLine]:
    return [line(n, user, text) for n, (user, text) in enumerate(PLANNING)]


def points(summary: Summary) -> list[SummaryPoint]:
    return summary.points()


def quoted(summary: Summary) -> list[ChatLine]:
    """Every message any point quotes or cites."""
    return [source for point in points(summary) for source in point.cited()]


def citations(rendered: str) -> list[tuple[str, int]]:
    return [(url, int(n)) for url, n in re.findall(r"<(https://[^|>]+)\|\[(\d+)\]>", rendered)]


# -- the bot is never part of the team's summary ---------------------------------------------------------------


def test_questions_to_the_bot_and_its_answers_are_never_points_questions_or_actions() -> None:
    lines = planning_lines()
    summary = summarize(lines, None)
    to_or_from_bot = {lines[i].url for i in (1, 2, 5, 10)}
    assert summary.left_out == 4 and summary.message_count == len(lines) - 4
    assert not to_or_from_bot & {source.url for source in quoted(summary)}
    rendered = render_summary(summary, span="today (UTC)", count=len(lines))
    assert "@Parlance" not in rendered and "The code freeze is on Tuesday" not in rendered
    assert all(p.owner and p.owner.casefold() != "parlance" for p in summary.actions if p.owner)
    assert not any("remind everyone" in p.render() or "who owns the runbook" in p.render() for p in points(summary))


def test_the_handler_guard_catches_a_mention_that_arrives_as_plain_text() -> None:
    lines = chat_lines(
        ("Bob", "@Parlance who owns the release notes?"),
        ("Carol", "hey @parlance can you summarize the thread for Dan?"),
        ("Alice", "I'll write the release notes by Friday."),
        ("Parlance", "Alice will write the release notes [1]."),
        ("Dan", "Who is reviewing the release notes before Friday?"),
    )
    assert [is_to_or_from_bot(x) for x in lines] == [True, True, False, True, False]
    summary = summarize(lines, None, bot_names=("Parlance",))
    assert {source.speaker for source in quoted(summary)} <= {"Alice", "Dan"}
    assert any(p.owner == "Alice" and "release notes" in p.text for p in summary.actions)
    assert [p.speaker for p in summary.questions] == ["Dan"]
    assert all(p.owner not in ("Parlance", "parlance") for p in summary.actions)


def chat_lines(*turns: tuple[str, str]) -> list[ChatLine]:
    return [
        ChatLine(ts=f"17000001{i:02d}.000100", speaker=who, text=text, url=f"https://t.slack.com/archives/C1/q{i}")
        for i, (who, text) in enumerate(turns)
    ]


class Runner(SummarizeRunner):
    """The real runner over stored rows, without Slack: what it read, and what it answered."""

    def __init__(self, rows: list[StoredMessage]) -> None:
        teams = FakeTeams()
        directory = Directory(FakeUsers(), teams=teams)  # type: ignore[arg-type]
        deps = RunnerDeps(client=None, sessions=None, teams=teams, directory=directory)  # type: ignore[arg-type]
        super().__init__(deps, FakeDelivery())  # type: ignore[arg-type]
        self.rows = rows

    def _messages(self, job: ClaimedJob) -> list[StoredMessage]:
        return self.rows


class FakeUsers:
    """users.info, as the directory calls it."""

    def users_info(self, *, user: str, include_locale: bool) -> dict[str, Any]:
        return {"user": {"id": user, "name": NAMES[user]}}


class FakeTeams:
    def bot_user_id(self, team_id: str | None) -> str | None:
        return BOT

    def workspace_url(self, team_id: str | None) -> str:
        return "https://t.slack.com/"


class FakeDelivery:
    def __init__(self) -> None:
        self.answers: list[str] = []

    def reply_to_caller(self, job: ClaimedJob, text: str, *, blocks: Any = None, feedback: Any = None) -> None:
        self.answers.append(text)


def job(payload: dict[str, Any]) -> ClaimedJob:
    fields = {name: None for name in ClaimedJob.__dataclass_fields__}
    fields.update(id=1, team_id="T1", channel_id="C1", kind="summarize", payload=payload, attempts=1)
    return ClaimedJob(**fields)


def stored(n: int, user: str, text: str) -> StoredMessage:
    return StoredMessage("T1", "C1", f"17000000{n:02d}.000100", None, user, text, user == BOT, False)


def test_the_runner_summarizes_only_what_the_team_said() -> None:
    rows = [stored(n, user, text) for n, (user, text) in enumerate(PLANNING)]
    runner = Runner(rows)
    runner(job({"user": "U1", "span": "today (UTC)"}))
    [answer] = runner.delivery.answers
    assert answer.startswith("*Summary of today (UTC)* · 8 messages\n")
    assert "when is the code freeze" not in answer and "who owns the runbook" not in answer
    assert "remind everyone" not in answer and "Tuesday the 11th [1]" not in answer
    assert "(owner: Parlance)" not in answer and "(owner: parlance)" not in answer
    assert "Thursday the 13th" in answer


def test_the_runner_says_so_when_only_the_bot_was_talked_to() -> None:
    runner = Runner([stored(0, "U1", f"<@{BOT}> hi"), stored(1, BOT, "Hello!")])
    runner(job({"user": "U1", "span": "last 2 messages"}))
    assert runner.delivery.answers == ["I found no messages from the last 2 messages to summarize."]


# -- what a reader sees ----------------------------------------------------------------------------------------


def test_a_decision_that_changed_shows_only_its_latest_value() -> None:
    summary = summarize(planning_lines(), None)
    decisions = " ".join(p.render() for p in summary.decisions)
    assert "Thursday the 13th" in decisions and "Monday the 17th" in decisions
    everything = " ".join(p.render() for p in points(summary))
    assert "Tue the 11th" not in everything  # superseded: not presented as current anywhere


def test_an_agreement_stands_for_the_proposal_it_agrees_with() -> None:
    lines = chat_lines(
        ("marta", "staged rollout: I'd like 10% on day 1"),
        ("kenji", "10% of iOS is tiny, we won't see crash data for days. 25?"),
        ("marta", "meet in the middle? 20% on day 1, full rollout after 48h if crash-free stays above 99.5%"),
        ("priya", "agreed, 20% it is"),
    )
    summary = summarize(lines, None)
    [decision] = summary.decisions
    assert decision.text.startswith("20% on day 1") and decision.agreed_by == ("priya",)
    assert decision.render().endswith("(agreed: priya)")
    assert [s.speaker for s in decision.sources] == ["marta", "priya"]
    assert not any("I'd like 10%" in p.text for p in points(summary))


def test_owners_are_the_people_who_took_the_work() -> None:
    summary = summarize(planning_lines(), None)
    owners = {p.owner for p in summary.actions}
    assert {"marta", "tom"} <= owners
    runbook = next(p for p in summary.actions if p.owner == "tom")
    assert "runbook" in runbook.render() and "wednesday" in runbook.render()  # the task, its owner, its date


def test_open_questions_are_the_teams_unresolved_ones() -> None:
    lines = chat_lines(
        ("ana", "Which build goes to the store, 412 or 413?"),
        ("ben", "413, it has the crash fix."),
        ("ana", "does anyone want the last slice of pizza in the kitchen?"),
        ("cat", "Do nonprofits keep their 50% discount on the new price?"),
        ("ana", "good question, nobody's decided. adding it to the list for leadership"),
    )
    summary = summarize(lines, None)
    [question] = summary.questions
    assert question.text.startswith("Do nonprofits keep their 50% discount")
    assert "nobody's decided" in question.render()  # what was said to it since, cited
    assert [s.speaker for s in question.cited()] == ["cat", "ana"]


def test_no_line_appears_twice() -> None:
    lines = chat_lines(
        ("diego", "@liam can you handle comms with infra, @fatima start digging on the service side"),
        ("liam", "on it"),
        ("diego", "we decided to roll back build 7731 first"),
        ("fatima", "agreed, roll back 7731"),
        ("diego", "fatima can you own the postmortem? let's review friday 11am"),
        ("fatima", "yes, I'll own the postmortem"),
    )
    summary = summarize(lines, None)
    shown = [(p.sources[0].url, p.text) for p in points(summary)]
    assert len(shown) == len(set(shown))
    sentences = [s for p in points(summary) for s in re.split(r"(?<=[.?!])\s+", p.text)]
    assert len(sentences) == len(set(sentences))
    rendered = render_summary(summary, span="last 6 messages", count=6)
    bullets = [row for row in rendered.splitlines() if row.startswith("• ")]
    assert len(bullets) == len(set(bullets)) and bullets


def test_citations_are_numbered_once_per_summary() -> None:
    lines = planning_lines()
    rendered = render_summary(summarize(lines, None), span="today (UTC)", count=len(lines))
    cited = citations(rendered)
    assert len(cited) >= 4
    first_seen: dict[str, int] = {}
    for url, number in cited:
        first_seen.setdefault(url, number)
        assert first_seen[url] == number  # a message keeps its number
    numbers = list(dict.fromkeys(n for _, n in cited))
    assert numbers == list(range(1, len(numbers) + 1))  # [1], [2], [3]… in reading order
    assert len(set(first_seen.values())) == len(first_seen)  # one number, one message


# -- the header ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "count", "summarized", "header"),
    [
        ("today (UTC)", 10, 7, "*Summary of today (UTC)* · 7 messages"),
        ("last 10 messages", 10, 7, "*Summary of the last 10 messages*"),
        ("last 200 messages", 8, 8, "*Summary of the last 8 messages*"),  # the channel held fewer
        ("last 1 messages", 1, 1, "*Summary of the last message*"),
        ("thread", 6, 6, "*Summary of the thread* · 6 messages"),
        ("last 24h", 9, 1, "*Summary of the last 24h* · 1 message"),
        ("recent conversation", 3, 3, "*Summary of the recent conversation* · 3 messages"),
    ],
)
def test_the_header_is_grammatical_and_its_count_agrees(span: str, count: int, summarized: int, header: str) -> None:
    point = SummaryPoint(text="We ship on Friday.", sources=(chat_lines(("Alice", "We ship on Friday."))[0],))
    summary = Summary(overview=(point,), message_count=summarized)
    first = render_summary(summary, span=span, count=count).splitlines()[0]
    assert first == header
    assert "the today" not in first and not re.search(r"messages\* \(\d+ messages\)", first)


@pytest.mark.parametrize(
    ("span", "text"),
    [
        ("today (UTC)", "I found no messages from the day so far (UTC) to summarize."),
        ("last 24h", "I found no messages from the last 24h to summarize."),
        ("thread", "I found no messages from the thread to summarize."),
    ],
)
def test_nothing_to_summarize_reads_right_for_every_span(span: str, text: str) -> None:
    assert texts.NOTHING_TO_SUMMARIZE.format(span=span_after_the(span)) == text


def test_a_model_sentence_that_states_a_superseded_value_is_dropped() -> None:
    """SUMMARY_MODEL_WRITES: a gist is checked against its sources and against what changed since."""
    model = ScriptedModel().enqueue("Priya proposed a code freeze on Tue the 11th.")
    summary = summarize(planning_lines(), model, abstract=True, rephrase=False, concurrency=1)
    assert summary.dropped == 1 and not any(p.rephrased for p in summary.overview)
    assert "11th" not in " ".join(p.render() for p in points(summary))
    [prompt] = model.prompts
    transcript = prompt[-1].content
    assert "priya: proposal: code freeze Tue the 11th" in transcript  # the model reads the team's messages…
    assert "@Parlance" not in transcript and "The code freeze is on Tuesday" not in transcript  # …and only those


def test_a_proposal_answered_with_another_time_is_not_presented_as_current() -> None:
    lines = chat_lines(
        ("vikram", "proposing cutover saturday 23:00 UTC"),
        ("tomas", "that's exactly when the nightly batch runs :grimacing:"),
        ("vikram", "ugh right. sunday 03:00 UTC then, batch is done by 01:30"),
        ("johanna", "works"),
    )
    summary = summarize(lines, None)
    assert any("sunday 03:00" in p.text.lower() for p in summary.decisions)
    assert not any("saturday 23:00" in p.render().lower() for p in points(summary))


def test_the_model_is_told_whom_a_message_addresses_only_where_the_messages_say() -> None:
    """Among many people, order alone is a guess: "(to Anjali)" would become "Irina asks Anjali to…"."""
    lines = chat_lines(
        ("irina", "Debrief thread for Lena, all feedback is in, add your final vote here."),
        ("anjali", "System design went really well, she handled the hot-key follow-up without hints."),
        ("kofi", "Coding round was clean and well tested, a bit slow on the second problem."),
    )
    model = ScriptedModel().enqueue(*["Irina says the debrief thread is open."] * 6)
    summarize(lines, model, rephrase=True, concurrency=1)
    asked = [prompt[-1].content for prompt in model.prompts]
    assert asked and not any("(to " in text for text in asked)
