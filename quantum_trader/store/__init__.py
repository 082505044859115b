"""Persistence of what the daemon did."""
