"""tap-segment-config: Segment destinations, delivery metrics, usage, event volume, audit trail."""
