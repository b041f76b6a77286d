"""The videos and live streams of an api.video project, as ``GET /videos`` and ``/live-streams``
show them (docs/api/apivideo-media.md).

Every id the sessions play is here, so every ``videoId`` with plays names a video. About a
third of the videos and of the live streams are private: their asset URLs carry a private
token that grants playback. Every live stream has a stream key, and some restream to another
platform with a key of their own. Tokens and keys are credentials: :meth:`MediaCatalogue.secrets`
lists them, so the suite's secret scan fails if a tap ever lets one out.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

VOD, EMBED, LIVE = "https://vod.api.video/vod", "https://embed.api.video", "https://live.api.video"
TAGS = ("tutorial", "product", "webinar", "launch", "support", "internal")
LANGUAGES = ("en", "fr", "es", "de")
RESTREAM_SERVERS = ("rtmp://a.rtmp.youtube.com/live2", "rtmps://live-api-s.facebook.com:443/rtmp")


@dataclass
class MediaCatalogue:
    """Videos and live streams by id, each the API's JSON object."""

    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    live_streams: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def generate(
        cls, rng: random.Random, video_ids: list[str], live_ids: list[str], anchor: datetime
    ) -> MediaCatalogue:
        """One object per id, created in the year before ``anchor``, in id order of creation."""
        catalogue = cls()
        for live_id in live_ids:
            catalogue.live_streams[live_id] = _live_stream(rng, live_id, anchor)
        for video_id in video_ids:
            recorded_from = rng.choice(live_ids) if live_ids and rng.random() < 0.2 else None
            catalogue.videos[video_id] = _video(rng, video_id, anchor, recorded_from)
        return catalogue

    def secrets(self) -> set[str]:
        """Private tokens and stream keys: what grants playback or broadcasting."""
        found = {v["_privateToken"] for v in self.videos.values() if v["_privateToken"]}
        for live in self.live_streams.values():
            found.add(live["streamKey"])
            found.update(restream["streamKey"] for restream in live["restreams"])
            if live["_privateToken"]:
                found.add(live["_privateToken"])
        return found


def public_view(media: dict[str, Any]) -> dict[str, Any]:
    """The object as the API sends it (without the emulator's own fields)."""
    return {key: value for key, value in media.items() if not key.startswith("_")}


def _video(
    rng: random.Random, video_id: str, anchor: datetime, recorded_from: str | None
) -> dict[str, Any]:
    created = _moment_before(rng, anchor, days=365)
    updated = created + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
    updated = min(updated, anchor - timedelta(days=1))
    token = _private_token(rng) if rng.random() < 0.35 else None
    source: dict[str, Any] = {"uri": f"/videos/{video_id}/source", "type": "upload"}
    if recorded_from:
        source = {
            "type": "live",
            "liveStream": {
                "liveStreamId": recorded_from,
                "links": [{"rel": "self", "uri": f"/live-streams/{recorded_from}"}],
            },
        }
    tags = sorted(rng.sample(TAGS, rng.randint(0, 3)))
    return {
        "videoId": video_id,
        "createdAt": _atom(created),
        "title": f"{rng.choice(('Intro to', 'Deep dive:', 'Q&A:', 'Demo of'))} "
        f"{rng.choice(('uploads', 'players', 'analytics', 'live streaming', 'webhooks'))}"
        f" #{rng.randint(1, 999)}",
        "description": rng.choice(("", "Recorded for the docs.", "Weekly session, part 2.")),
        "publishedAt": _atom(created + timedelta(minutes=rng.randint(1, 90))),
        "updatedAt": _atom(updated),
        "discardedAt": None,
        "deletesAt": None,
        "discarded": False,
        "language": rng.choice(LANGUAGES),
        "languageOrigin": rng.choice(("api", "auto")),
        "tags": tags,
        "metadata": [{"key": "team", "value": rng.choice(("growth", "docs", "sales"))}],
        "source": source,
        "assets": _video_assets(video_id, token, mp4=rng.random() < 0.7),
        "playerId": "pt" + uuid.UUID(int=rng.getrandbits(128)).hex[:22],
        "public": token is None,
        "panoramic": rng.random() < 0.05,
        "mp4Support": True,
        "_privateToken": token,
    }


def _video_assets(video_id: str, token: str | None, *, mp4: bool) -> dict[str, str]:
    """Private videos: ``/token/{token}`` in file URLs, ``?token=`` in embed URLs."""
    files = f"{VOD}/{video_id}" + (f"/token/{token}" if token else "")
    player = f"{EMBED}/vod/{video_id}" + (f"?token={token}" if token else "")
    assets = {
        "iframe": f'<iframe src="{player}" width="100%" height="100%" frameborder="0" '
        'scrolling="no" allowfullscreen="true"></iframe>',
        "player": player,
        "hls": f"{files}/hls/manifest.m3u8",
        "thumbnail": f"{files}/thumbnail.jpg",
    }
    if mp4:
        assets["mp4"] = f"{files}/mp4/source.mp4"
    return assets


def _live_stream(rng: random.Random, live_id: str, anchor: datetime) -> dict[str, Any]:
    created = _moment_before(rng, anchor, days=365)
    updated = min(created + timedelta(days=rng.randint(0, 60)), anchor - timedelta(days=1))
    token = _private_token(rng) if rng.random() < 0.3 else None
    player = f"{EMBED}/live/{live_id}" + (f"?token={token}" if token else "")
    files = f"{LIVE}/private/{token}/{live_id}" if token else f"{LIVE}/{live_id}"
    restreams = [
        {
            "name": f"Restream {n + 1}",
            "serverUrl": rng.choice(RESTREAM_SERVERS),
            "streamKey": "rs-" + uuid.UUID(int=rng.getrandbits(128)).hex,
        }
        for n in range(rng.choice((0, 0, 1, 2)))
    ]
    return {
        "liveStreamId": live_id,
        "name": f"{rng.choice(('Weekly', 'Launch', 'Town hall'))} live #{rng.randint(1, 99)}",
        "streamKey": str(uuid.UUID(int=rng.getrandbits(128))),
        "public": token is None,
        "assets": {
            "iframe": f'<iframe src="{player}" width="100%" height="100%" frameborder="0" '
            'scrolling="no" allowfullscreen="true"></iframe>',
            "player": player,
            "hls": f"{files}.m3u8",
            "thumbnail": f"{files}/thumbnail.jpg",
        },
        "playerId": "pt" + uuid.UUID(int=rng.getrandbits(128)).hex[:22],
        "broadcasting": rng.random() < 0.2,
        "restreams": restreams,
        "createdAt": _atom(created),
        "updatedAt": _atom(updated),
        "_privateToken": token,
    }


def _private_token(rng: random.Random) -> str:
    """A private token, shaped like api.video's (a UUID)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _moment_before(rng: random.Random, anchor: datetime, *, days: int) -> datetime:
    seconds = rng.randint(2 * 86_400, days * 86_400)
    return (anchor - timedelta(seconds=seconds)).replace(microsecond=0)


def _atom(moment: datetime) -> str:
    """api.video's ATOM form, ``2026-11-20T10:37:12+00:00``."""
    return moment.replace(microsecond=0).isoformat()
