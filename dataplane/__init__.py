"""The dataplane: a broker that speaks the Apache Kafka wire protocol. It never imports Django."""
