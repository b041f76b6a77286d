"""What every tap in this repository shares: HTTP error policy, rate limits, windows, UTC."""
