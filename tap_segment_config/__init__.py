"""tap-segment-config: Segment destinations, delivery metrics, the workspace configuration, usage,
event volume, audit trail and delivery overview."""
