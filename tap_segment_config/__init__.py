"""tap-segment-config: Segment destinations, delivery metrics and the workspace configuration."""
