"""Allow `python -m tap_launchdarkly_events`."""

from tap_launchdarkly_events.tap import TapLaunchDarklyEvents

TapLaunchDarklyEvents.cli()
