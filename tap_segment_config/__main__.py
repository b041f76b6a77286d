"""Allow `python -m tap_segment_config`."""

from tap_segment_config.tap import TapSegmentConfig

TapSegmentConfig.cli()
