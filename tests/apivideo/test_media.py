"""Videos, live streams, per-day aggregates and per-media watch time against the emulator."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from api_emulator.apivideo import aggregate
from tap_apivideo_analytics.tap import AGGREGATES, TapApiVideoAnalytics
from tap_common.redaction import fingerprint
from tap_common.timeutil import parse_utc, to_utc_iso
from tests.apivideo.conftest import days
from tests.harness import duplicates, run_tap
from tests.taps import APIVIDEO
from tests.taps import APIVIDEO_TODAY as TODAY

START = TODAY - timedelta(days=6)
YESTERDAY = TODAY - timedelta(days=1)
DATE_TIMES = ("createdAt", "publishedAt", "updatedAt", "discardedAt", "deletesAt")


def narrow(config: dict) -> dict:
    """The plays streams at their cheapest: these tests are about the others."""
    return config | {"dimensions": ["country"], "breakdowns": ["country"]}


def live(records: list[dict]) -> dict[str, dict]:
    return {r.get("videoId") or r["liveStreamId"]: r for r in records if not r["_sdc_deleted_at"]}


def without_token(value: str, token: str | None) -> str:
    """An asset as a public one reads: the token's path segment and query parameter gone."""
    if not token:
        return value
    for form in (f"/token/{token}", f"/private/{token}", f"?token={token}"):
        value = value.replace(form, "")
    return value


def expected_media(media: dict) -> dict:
    """The API object as the tap emits it: UTC date-times, assets without private tokens."""
    row = {key: value for key, value in media.items() if not key.startswith("_")}
    for name in DATE_TIMES:
        if row.get(name):
            row[name] = to_utc_iso(parse_utc(row[name]))
    row["assets"] = {k: without_token(v, media["_privateToken"]) for k, v in row["assets"].items()}
    row["_sdc_deleted_at"] = None
    return row


def test_videos_are_every_field_of_every_video_with_no_private_token(emulator, config):
    result = run_tap(TapApiVideoAnalytics, narrow(config) | {"start_date": YESTERDAY.isoformat()})
    assert result.error is None
    catalogue = emulator.app.dataset.catalogue.videos
    videos = live(result.records("videos"))
    assert duplicates(result.keys("videos", "videoId")) == []
    assert videos == {video_id: expected_media(v) for video_id, v in catalogue.items()}
    private = [v for v in catalogue.values() if v["_privateToken"]]
    assert private
    assert all(not videos[v["videoId"]]["public"] for v in private)
    # Every video that has plays is a video of the project.
    watched = result.records("media_watch_time")
    played = {r["media_id"] for r in watched if r["media_type"] == "video"}
    assert played
    assert played <= set(videos)


def test_live_streams_carry_stream_keys_only_as_fingerprints(emulator, config):
    result = run_tap(TapApiVideoAnalytics, narrow(config) | {"start_date": YESTERDAY.isoformat()})
    catalogue = emulator.app.dataset.catalogue.live_streams
    streams = live(result.records("live_streams"))
    expected = {}
    for live_id, media in catalogue.items():
        row = expected_media(media)
        row["streamKeyFingerprint"] = fingerprint(row.pop("streamKey"))
        row["restreams"] = [
            {
                "name": r["name"],
                "serverUrl": r["serverUrl"],
                "streamKeyFingerprint": fingerprint(r["streamKey"]),
            }
            for r in media["restreams"]
        ]
        expected[live_id] = row
    assert streams == expected
    assert any(media["restreams"] for media in catalogue.values())
    assert any(media["_privateToken"] for media in catalogue.values())


def test_media_deleted_at_the_source_are_marked_deleted_by_the_next_sync(emulator, config):
    config = narrow(config) | {"start_date": YESTERDAY.isoformat()}
    first = run_tap(TapApiVideoAnalytics, config)
    catalogue = emulator.app.dataset.catalogue
    video, stream = next(iter(catalogue.videos)), next(iter(catalogue.live_streams))
    del catalogue.videos[video], catalogue.live_streams[stream]

    second = run_tap(TapApiVideoAnalytics, config, state=first.state)
    assert second.error is None
    for name, key, gone in (("videos", "videoId", video), ("live_streams", "liveStreamId", stream)):
        marked = [r for r in second.records(name) if r["_sdc_deleted_at"]]
        assert marked == [{key: gone, "_sdc_deleted_at": marked[0]["_sdc_deleted_at"]}]
        assert gone not in live(second.records(name))


def test_metric_aggregates_hold_every_pair_of_every_complete_day(emulator, config):
    result = run_tap(TapApiVideoAnalytics, narrow(config))
    assert result.error is None
    got = {
        (r["date"], r["metric"], r["aggregation"]): r["metric_value"]
        for r in result.records("metric_aggregates")
    }
    dataset, expected = emulator.app.dataset, {}
    for day in days(START, TODAY):
        sessions = dataset.between(day, day + timedelta(days=1))
        for pair in AGGREGATES:
            metric, aggregation = pair.split("/")
            value = aggregate(metric, aggregation, sessions, APIVIDEO.now)
            expected[(to_utc_iso(day), metric, aggregation)] = value
    assert got == expected
    assert len(result.records("metric_aggregates")) == len(expected)  # one request a day each


def test_media_watch_time_is_one_row_per_media_played_a_day_at_one_request_each(emulator, config):
    result = run_tap(TapApiVideoAnalytics, narrow(config) | {"aggregates": ["play/count"]})
    assert result.error is None
    expected: dict[tuple, list[float]] = defaultdict(lambda: [0, 0])
    for day in days(START, TODAY):
        for session in emulator.app.dataset.between(day, day + timedelta(days=1)):
            if session.played:
                row = expected[(to_utc_iso(day), session.media_id, session.media_type)]
                row[0] += 1
                row[1] += session.watch_seconds
    rows = result.records("media_watch_time")
    got = {
        (r["date"], r["media_id"], r["media_type"]): [r["plays"], r["watch_time_seconds"]]
        for r in rows
    }
    assert got == dict(expected)
    calls = [e for e in emulator.log.entries() if e.path == "/data/metrics/watch-time/sum"]
    assert sorted((c.query["from"][0], c.query["filterBy[mediaId]"][0]) for c in calls) == sorted(
        (r["date"][:10] + "T00:00:00+00:00", r["media_id"]) for r in rows
    )


class ShrinksWhilePaged(dict):
    """Videos whose oldest (on the first page) is deleted as the second page is asked: every
    later video moves up one place (the emulator lists them afresh for every page)."""

    listed = 0

    def values(self):
        self.listed += 1
        if self.listed == 2:
            del self[min(self, key=lambda video_id: self[video_id]["createdAt"])]
        return super().values()


def test_a_list_that_changed_size_while_paged_marks_nothing(emulator, config):
    config = narrow(config) | {"start_date": YESTERDAY.isoformat(), "page_size": 10}
    first = run_tap(TapApiVideoAnalytics, config)
    catalogue = emulator.app.dataset.catalogue
    catalogue.videos = ShrinksWhilePaged(catalogue.videos)

    shifted = run_tap(TapApiVideoAnalytics, config, state=first.state)
    assert shifted.error is None
    # The video that moved up past the page boundary was not seen, yet is not marked deleted.
    assert len(set(catalogue.videos) - set(live(shifted.records("videos")))) == 1
    assert [r for r in shifted.records("videos") if r["_sdc_deleted_at"]] == []
    remembered = shifted.state["bookmarks"]["videos"]["present_keys"]["values"]
    assert len(remembered) == len(catalogue.videos) + 1  # all it knew, the deleted one too

    settled = run_tap(TapApiVideoAnalytics, config, state=shifted.state)
    marked = [r["videoId"] for r in settled.records("videos") if r["_sdc_deleted_at"]]
    assert len(marked) == 1
    assert marked[0] not in catalogue.videos


def test_a_failed_watch_time_call_is_retried_like_any_request(emulator, config):
    config = narrow(config) | {"start_date": YESTERDAY.isoformat(), "aggregates": ["play/count"]}
    clean = run_tap(TapApiVideoAnalytics, config)
    calls = len(emulator.log.entries())
    emulator.log.clear()
    emulator.faults.arm("status", path="/data/metrics/watch-time/sum", status=503, after=3)
    retried = run_tap(TapApiVideoAnalytics, config)
    assert retried.error is None
    assert retried.records("media_watch_time") == clean.records("media_watch_time")
    assert len(emulator.log.entries()) == calls + 1
