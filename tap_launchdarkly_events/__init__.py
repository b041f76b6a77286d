"""tap-launchdarkly-events: LaunchDarkly flag events (engineering insights), incremental."""
