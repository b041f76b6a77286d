"""The tap base: settings validation with clear messages, the run's runtime, its messages."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import IO, Any, ClassVar
from urllib.parse import urlsplit

import click
from jsonschema import Draft7Validator, ValidationError
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.types import Auth
from typing_extensions import override

from tap_common.deletes import mark_deleted_rows
from tap_common.messages import OUTPUT_PER_STATE, PacedStateWriter, RunMessageWriter
from tap_common.ratelimit import RateLimitPolicy
from tap_common.redaction import Redactor, secret_setting_names, secret_values
from tap_common.runtime import TapRuntime
from tap_common.state import StateError, checked_json_file, unknown_streams
from tap_common.timeutil import parse_utc, utc_now

# Seconds between STATE messages: a crash re-reads about this much work (see messages.py).
DEFAULT_STATE_INTERVAL = 2


def common_settings(*, page_size_max: int, page_size_default: int) -> list[th.Property]:
    """Settings every tap offers with the same meaning."""
    return [
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=page_size_max),
            default=page_size_default,
            title="Page size",
            description=f"Records per request (1-{page_size_max}); the largest is the cheapest.",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType(minimum=1, maximum=3600),
            default=300,
            title="Request timeout",
            description="Seconds to wait for one response before retrying it.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0, maximum=20),
            default=5,
            title="Max retries",
            description="Retries of one request after a 429, a 5xx, a timeout or a cut "
            "connection, waiting as the API's rate-limit headers ask.",
        ),
        th.Property(
            "user_agent",
            th.StringType,
            title="User agent",
            description="User-Agent header sent with every request.",
        ),
        th.Property(
            "state_interval_seconds",
            th.NumberType(minimum=0, maximum=3600),
            default=DEFAULT_STATE_INTERVAL,
            title="State interval seconds",
            description="Least time between two STATE messages (and always one after the last "
            "record). A killed sync re-reads about this much work; 0: a STATE after every "
            "window and partition (costs the square of the partitions).",
        ),
    ]


def incremental_settings(*, lookback_why: str, lookback_max: int = 1440) -> list[th.Property]:
    """``start_date`` and ``lookback_minutes``, for taps that re-read a look-back each run."""
    return [
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Earliest event time to sync (UTC). Unset: the last 7 days.",
        ),
        th.Property(
            "lookback_minutes",
            th.IntegerType(minimum=0, maximum=lookback_max),
            default=30,
            title="Look-back minutes",
            description=f"Each run re-reads this much before its bookmark, {lookback_why}.",
        ),
    ]


def window_setting(*, maximum: int, default: int, sized_by: str) -> th.Property:
    """``window_max_events``: the cap of a count-sized time window (see CountSizedWindows)."""
    return th.Property(
        "window_max_events",
        th.IntegerType(minimum=10, maximum=maximum),
        default=default,
        title="Window max events",
        description=f"Most events one time window holds ({sized_by}). The bookmark advances "
        "after each window, so a failed sync re-reads at most this many.",
    )


class VendorTap(Tap):
    """Base of the four taps: validates settings before any request, names the bad one."""

    rate_limit_policy: ClassVar[RateLimitPolicy]
    #: The distribution all four taps ship in: the SDK reads its version for `--about`.
    package_name = "telemetry-taps"
    message_writer_class = RunMessageWriter
    #: Settings holding a UTC date-time that must parse and not lie in the future.
    date_time_settings: ClassVar[tuple[str, ...]] = ("start_date",)
    #: Settings holding an http(s) base URL.
    url_settings: ClassVar[tuple[str, ...]] = ("api_url",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert isinstance(self.message_writer, RunMessageWriter)
        # The SDK's own writer sends the whole state after every partition (see messages.py).
        interval = float(self.config.get("state_interval_seconds", DEFAULT_STATE_INTERVAL))
        # 0: unpaced, a STATE at every checkpoint as the SDK writes them.
        per_state = OUTPUT_PER_STATE if interval else 0
        self.paced_state_writer = PacedStateWriter(self.message_writer, interval, per_state)
        self._state_writer = self.paced_state_writer

    @cached_property
    def runtime(self) -> TapRuntime:
        """What this run's streams share, its authenticator included."""
        secrets = secret_values(self.config, self.config_jsonschema)
        runtime = TapRuntime(policy=self.rate_limit_policy, redact=Redactor(secrets))
        runtime.authenticator = self.build_authenticator(runtime)
        return runtime

    def build_authenticator(self, runtime: TapRuntime) -> Auth:
        """The credential of every request of the run; each tap says how it is sent."""
        raise NotImplementedError

    @override  # type: ignore[misc]  # final in the SDK: wrapped, not changed
    def sync_all(self) -> None:
        """The SDK's sync, then the last state: also when a stream failed, or SIGTERM/SIGINT
        stopped the run (the SDK's handler exits by raising SystemExit through here)."""
        try:
            super().sync_all()
            # Only a sync that read everything it set out to may mark rows deleted.
            mark_deleted_rows(self.streams.values())
            self.paced_state_writer.write_state(self.state)
        finally:
            self.paced_state_writer.flush()

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        """The SDK's command line, with one clear line for a state or catalog it cannot use."""
        try:
            super().invoke(
                about=about,
                about_format=about_format,
                config=config,
                state=checked_json_file(state, "--state"),
                catalog=checked_json_file(catalog, "--catalog"),
            )
        except StateError as exc:
            raise click.ClickException(str(exc)) from exc

    def load_state(self, state: dict[str, Any]) -> None:
        """Refuse state that cannot be resumed from; ignore (and name) other taps' streams."""
        keys = {name: stream.replication_key for name, stream in self.streams.items()}
        unknown = unknown_streams(state, keys)
        if unknown:
            self.logger.warning(
                "state: ignoring bookmarks of streams this tap does not have: %s",
                ", ".join(unknown),
            )
        super().load_state(state)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK's messages echo the offending value (a mistyped token would be logged) and
        # never check `format: date-time`; ours name the setting and keep secrets out.
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        # The SDK leaves schema defaults out of the config: fill them in, so a standalone run
        # and a Meltano run read the same values.
        for name, spec in schema.get("properties", {}).items():
            if "default" in spec and self._config.get(name) is None:
                self._config[name] = spec["default"]
        validator = Draft7Validator(schema)
        errors = [self._describe(error) for error in validator.iter_errors(dict(self.config))]
        # Every problem at once: the checks JSON Schema cannot express run on the settings
        # that passed it (a value of the wrong type would only add noise).
        invalid = {_setting_of(error) for error in errors}
        valid = {name: value for name, value in self.config.items() if name not in invalid}
        errors += [e for e in self.check_settings(valid) if _setting_of(e) not in invalid]
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors, schema=schema)
        return errors

    def check_settings(self, config: Mapping[str, Any]) -> list[str]:
        """Checks JSON Schema cannot express; extend per tap (call super)."""
        errors = []
        for name in self.date_time_settings:
            value = config.get(name)
            if value is None:
                continue
            try:
                moment = parse_utc(value)
            except ValueError:
                errors.append(f"{name}: {value!r} is not an ISO-8601 date-time, e.g. 2026-01-31")
                continue
            if moment > utc_now():
                errors.append(f"{name}: {value!r} lies in the future")
        for name in self.url_settings:
            value = config.get(name)
            if isinstance(value, str) and not _is_http_url(value):
                errors.append(f"{name}: {value!r} is not an http(s) URL, e.g. https://host")
        return errors

    def _describe(self, error: ValidationError) -> str:
        setting = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            return f"{missing}: this setting is required"
        if setting in secret_setting_names(self.config_jsonschema):
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            expected = schema.get("type", "a valid value")
            return f"{setting}: invalid value (not shown: it is secret); expected {expected}"
        return f"{setting or 'config'}: {error.message}"


def _setting_of(error: str) -> str:
    """The top-level setting an error line names (``bucket_ids.0: ...`` -> ``bucket_ids``)."""
    return error.split(":")[0].split(".")[0]


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value
