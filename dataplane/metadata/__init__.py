"""Cluster metadata: topics, partition assignments, brokers. One interface, several backends."""
