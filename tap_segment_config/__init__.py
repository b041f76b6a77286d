"""tap-segment-config: Segment destinations, their subscriptions and delivery metrics."""
