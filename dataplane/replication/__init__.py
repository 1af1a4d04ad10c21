"""Replication: followers fetching from leaders."""
