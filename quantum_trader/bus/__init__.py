"""The in-memory async bus, its topics and payloads, and the Redis mirror."""
