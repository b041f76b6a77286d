"""Allow `python -m tap_apivideo_analytics`."""

from tap_apivideo_analytics.tap import TapApiVideoAnalytics

TapApiVideoAnalytics.cli()
