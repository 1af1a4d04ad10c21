"""Administration from the command line: a small Kafka admin client and the tools built on it."""
