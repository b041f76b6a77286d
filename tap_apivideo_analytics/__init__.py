"""tap-apivideo-analytics: api.video plays per dimension and /data analytics, per UTC day."""
