"""Allow `python -m tap_pm2_events`."""

from tap_pm2_events.tap import TapPm2Events

TapPm2Events.cli()
