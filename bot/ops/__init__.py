"""Operating the bot: start-up checks, the Redis client with its circuit breaker, outage
handling, metrics, structured logs and the health, readiness and metrics endpoints."""
