"""Sentiment pieces on their own: markup, command parsing, schedules and periods, digest content, the chart,
the eval's metrics, the storage queries and the 0002 migration. No Slack, no real model (a scripted one checks
the label guard only)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from bot.eval.sentiment import gold_class, macro_f1, pearson
from handlers.commands import UsageError
from handlers.sentiment.digest import ScoredLine, build_digest
from handlers.sentiment.schedule import Spec, latest_period, parse_sentiment, parse_spec, to_spec
from handlers.sentiment.scoring import Head, label_rating, normalize, score_texts
from storage import channel_settings as digests
from storage import messages
from storage import sentiment_scores as scores
from storage.db import downgrade, make_engine, migrate
from tests.support.scripted_model import ScriptedModel

UTC = dt.UTC


def test_slack_markup_becomes_the_words_a_reader_sees() -> None:
    text = (
        "<@U123> look at <#C42|release> :tada: &amp; <https://x.example/a|the plan> "
        "https://bare.example/b ```rm -rf /``` `x` 😀 <!here>"
    )
    assert normalize(text) == ("@someone look at #release tada & the plan link code code grinning face @here")
    assert normalize("<@U1|alice> :+1: :slightly_smiling_face:") == "@alice thumbs up slightly smiling face"
    assert normalize("```only code```") == "code"
    assert normalize("at 10:30:45 sharp") == "at 10:30:45 sharp"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", ("daily", None, dt.time(9, 0))),
        ("daily 7:30", ("daily", None, dt.time(7, 30))),
        ("weekly", ("weekly", 0, dt.time(9, 0))),
        ("weekly fri 16:00", ("weekly", 4, dt.time(16, 0))),
        ("WEEKLY 08:15 sunday", ("weekly", 6, dt.time(8, 15))),
        ("off", ("off", None, None)),
        ("now", ("now", None, None)),
        ("status", ("status", None, None)),
        ("forget", ("forget", None, None)),
        ("", ("help", None, None)),
    ],
)
def test_sentiment_subcommands_parse(text: str, expected: tuple[object, ...]) -> None:
    parsed = parse_sentiment(text)
    assert not isinstance(parsed, UsageError)
    assert (parsed.action, parsed.weekday, parsed.at) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hourly", "I don't know `/sentiment hourly`"),
        ("daily 25:00", "`25:00` is not a time of day"),
        ("daily 9:75", "`9:75` is not a time of day"),
        ("weekly funday", "`funday` is not a day of the week"),
        ("weekly mon 09:00 extra", "takes a day and a time"),
        ("off now", "takes nothing after it"),
    ],
)
def test_bad_sentiment_input_gets_a_specific_answer(text: str, says: str) -> None:
    parsed = parse_sentiment(text)
    assert isinstance(parsed, UsageError)
    assert says in parsed.text


def test_local_times_are_stored_in_utc_and_weekdays_move_across_midnight() -> None:
    winter = dt.date(2026, 12, 1)
    daily = parse_sentiment("daily 09:00")
    weekly = parse_sentiment("weekly mon 00:30")
    assert not isinstance(daily, UsageError) and not isinstance(weekly, UsageError)
    assert str(to_spec(daily, "Europe/Paris", today=winter)) == "daily 08:00"
    assert str(to_spec(weekly, "Europe/Paris", today=winter)) == "weekly sun 23:30"
    assert str(to_spec(daily, "Not/AZone", today=winter)) == "daily 09:00"
    assert parse_spec("weekly sun 23:30") == Spec("weekly", 23, 30, 6)


def test_the_latest_period_is_the_last_one_ended_so_missed_periods_coalesce() -> None:
    spec = Spec("daily", 8, 0)
    now = dt.datetime(2026, 11, 28, 7, 59, tzinfo=UTC)
    period = latest_period(spec, now)
    assert (period.start, period.end) == (
        dt.datetime(2026, 11, 26, 8, tzinfo=UTC),
        dt.datetime(2026, 11, 27, 8, tzinfo=UTC),
    )
    three_days_later = latest_period(spec, now + dt.timedelta(days=3))
    assert three_days_later.key == "daily:2026-11-30T08:00Z"
    weekly = latest_period(Spec("weekly", 8, 0, 0), now)  # 28 Nov 2026 is a Saturday
    assert weekly.end == dt.datetime(2026, 11, 23, 8, tzinfo=UTC) and weekly.previous().end == weekly.start


def _line(seconds: float, score: float, thread: str | None = None, text: str = "ok") -> ScoredLine:
    label = "positive" if score > 0.15 else "negative" if score < -0.15 else "neutral"
    return ScoredLine(f"{1764300000 + seconds:.6f}", thread, text, label, score)


def test_a_digest_has_mood_change_extreme_threads_and_volume_by_day() -> None:
    start = dt.datetime.fromtimestamp(1764300000, UTC)
    end = start + dt.timedelta(days=2)
    root_good, root_bad = f"{1764300000 + 10:.6f}", f"{1764300000 + 100:.6f}"
    lines = [
        _line(10, 0.8, None, "Shipped it! Great work <@U1>. More soon."),
        _line(20, 0.6, root_good, "love it"),
        _line(100, -0.7, None, "The build is broken again."),
        _line(110, -0.5, root_bad, "ugh"),
        _line(90000, 0.0, None, "lunch?"),
    ]
    previous = [_line(-90000 + i, -0.2) for i in range(5)]
    digest = build_digest(lines, start=start, end=end, previous=previous)
    assert digest.enough and digest.count == 5
    assert digest.mean == pytest.approx(0.04)
    assert digest.change == pytest.approx(0.24)
    assert digest.labels == {"positive": 2, "negative": 2, "neutral": 1}
    assert digest.most_positive is not None and digest.most_positive.thread_ts == root_good
    assert digest.most_positive.gist == "Shipped it!"
    assert digest.most_negative is not None and digest.most_negative.thread_ts == root_bad
    assert [d.count for d in digest.days] == [4, 1, 0]  # three calendar days touched by 48 hours


def test_too_few_messages_make_a_not_enough_digest() -> None:
    start = dt.datetime.fromtimestamp(1764300000, UTC)
    digest = build_digest([_line(1, 0.9)], start=start, end=start + dt.timedelta(days=1))
    assert not digest.enough and digest.mean is None and digest.days == []


def test_the_chart_is_a_png() -> None:
    from bot.background.chart import render_chart
    from handlers.sentiment.digest import DayMood

    png = render_chart([DayMood(dt.date(2026, 11, 20), 3, 0.5), DayMood(dt.date(2026, 11, 21), 0, None)], title="t")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_label_scores_guard_against_labels_missing_from_the_top_tokens() -> None:
    assert label_rating({"positive": float("-inf"), "negative": float("-inf"), "neutral": float("-inf")}, 2.5) == 0
    assert label_rating({"positive": 0.0, "negative": float("-inf"), "neutral": float("-inf")}, 2.5) == 2.5
    model = ScriptedModel().enqueue_labels({"positive": -0.1, "negative": -3.0, "neutral": float("-inf")})
    head = Head(weights=(0.0, 0.0), bias=0.0, negative_below=-0.5, positive_above=0.5)
    [result, empty] = score_texts(["great :tada:", ""], model, method="labels", head=head)
    assert result.label == "positive" and 0 < result.score <= 1
    assert model.prompts[0][-1].content == "Sentiment:" and "great tada" in model.prompts[0][0].content
    assert empty.label == "neutral" and empty.score == 0.0 and len(model.calls) == 1


def test_eval_metrics_follow_the_stated_gold_rule() -> None:
    assert [gold_class(v) for v in (0.6, 0.5, -0.5, -0.51)] == ["positive", "neutral", "neutral", "negative"]
    assert macro_f1(["positive", "negative", "neutral"], ["positive", "negative", "neutral"]) == 1.0
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)


def _store(session: Session, ts: str, text: str, *, channel: str = "C1", is_bot: bool = False) -> None:
    messages.save_message(session=session, team_id="T1", channel_id=channel, ts=ts, user_id="U1", text=text,
                          is_bot=is_bot)  # fmt: skip


def _score_all(session: Session, label: str = "positive", channel: str = "C1") -> int:
    pending = scores.unscored_messages(session=session, team_id="T1", channel_id=channel, limit=100)
    items = [scores.Score(p.id, p.version, label, 0.5) for p in pending]
    return scores.save_scores(session=session, team_id="T1", channel_id=channel, scores=items)


def test_new_and_edited_messages_are_pending_and_bots_are_not(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _store(session, "1764300001.000001", "hello")
        _store(session, "1764300002.000001", "bot reply", is_bot=True)
    with sessions.begin() as session:
        assert scores.channels_with_unscored(session=session) == [("T1", "C1")]
        assert _score_all(session) == 1
    with sessions.begin() as session:
        assert scores.count_unscored(session=session, team_id="T1", channel_id="C1") == 0
        messages.edit_message(session=session, team_id="T1", channel_id="C1", ts="1764300001.000001", text="edited")
    with sessions.begin() as session:
        [pending] = scores.unscored_messages(session=session, team_id="T1", channel_id="C1", limit=10)
        assert pending.text == "edited"


def test_a_score_read_before_an_edit_is_not_stored(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _store(session, "1764300001.000001", "before")
    with sessions() as session:
        [pending] = scores.unscored_messages(session=session, team_id="T1", channel_id="C1", limit=10)
    with sessions.begin() as session:
        messages.edit_message(session=session, team_id="T1", channel_id="C1", ts="1764300001.000001", text="after")
    with sessions.begin() as session:
        stored = scores.save_scores(session=session, team_id="T1", channel_id="C1",
                                    scores=[scores.Score(pending.id, pending.version, "positive", 0.9)])  # fmt: skip
        assert stored == 0
        assert scores.count_unscored(session=session, team_id="T1", channel_id="C1") == 1


def test_forget_deletes_scores_and_opts_the_channel_out(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _store(session, "1764300001.000001", "one")
        _store(session, "1764300001.000002", "other channel", channel="C2")
        _score_all(session)
    with sessions.begin() as session:
        digests.clear_schedule(session=session, team_id="T1", channel_id="C1", opt_out=True)
        assert scores.forget_scores(session=session, team_id="T1", channel_id="C1") == 1
        _store(session, "1764300009.000001", "after forget")
    with sessions() as session:
        assert scores.channels_with_unscored(session=session) == [("T1", "C2")]
        since, until = dt.datetime(2020, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 1, tzinfo=UTC)
        assert scores.scored_messages(session=session, team_id="T1", channel_id="C1", since=since, until=until) == []


def test_a_digest_period_is_claimed_once(sessions: sessionmaker[Session]) -> None:
    start = dt.datetime(2026, 11, 27, 8, tzinfo=UTC)
    claim = {"team_id": "T1", "channel_id": "C1", "period_key": "daily:2026-11-28T08:00Z", "cadence": "daily",
             "period_start": start, "period_end": start + dt.timedelta(days=1)}  # fmt: skip
    with sessions.begin() as session:
        assert digests.claim_digest(session=session, **claim) is not None
    with sessions.begin() as session:
        assert digests.claim_digest(session=session, **claim) is None
        assert digests.claim_digest(session=session, **{**claim, "channel_id": "C2"}) is not None


def test_migration_0002_upgrades_an_0001_database_and_downgrades(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0001")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO messages (team_id, channel_id, ts, text, is_bot, edited, deleted, created_at, updated_at)"
                " VALUES ('T1', 'C1', '1764300001.000001', 'old', false, false, false, '2026-11-28 10:00:00',"
                " '2026-11-28 10:00:00')"
            )
        migrate(engine)
        schema = inspect(engine)
        assert {"sentiment_label", "sentiment_score", "sentiment_scored_for"} <= {
            c["name"] for c in schema.get_columns("messages")
        }
        assert {"sentiment_digests", "apscheduler_jobs"} <= set(schema.get_table_names())
        unique = schema.get_unique_constraints("sentiment_digests")
        assert [u["column_names"] for u in unique] == [["team_id", "channel_id", "period_key"]]
        downgrade(engine, "0001")
        schema = inspect(engine)
        assert "sentiment_digests" not in schema.get_table_names()
        assert "sentiment_label" not in {c["name"] for c in schema.get_columns("messages")}
    finally:
        engine.dispose()
