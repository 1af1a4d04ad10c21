"""The broker process: network server, request dispatch, partitions and their logs."""
