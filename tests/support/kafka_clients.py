"""The three stock Python Kafka clients (confluent-kafka, kafka-python, aiokafka) against a broker:
each one's connection settings from one description of how to log in, and a round trip that
produces three messages and consumes them back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiokafka
import aiokafka.helpers
import kafka
from confluent_kafka import Consumer, KafkaError, Producer

from tests.support.certs import IssuedCertificate

CLIENT_TIMEOUT = 15.0


@dataclass(frozen=True)
class ClientAuth:
    """How a client connects: security protocol, the CA it trusts (TLS only), its certificate
    (mutual TLS only), its SASL login (SASL only)."""

    protocol: str
    ca: Path | None = None
    certificate: IssuedCertificate | None = None
    mechanism: str = ""
    user: str = ""
    password: str = ""

    def confluent(self) -> dict[str, str]:
        settings = {"security.protocol": self.protocol}
        if self.ca is not None:
            settings["ssl.ca.location"] = str(self.ca)
        if self.certificate is not None:
            settings["ssl.certificate.location"] = str(self.certificate.certificate)
            settings["ssl.key.location"] = str(self.certificate.key)
        if self.mechanism:
            settings.update(
                {
                    "sasl.mechanism": self.mechanism,
                    "sasl.username": self.user,
                    "sasl.password": self.password,
                }
            )
        return settings

    def kafka_python(self) -> dict[str, object]:
        settings: dict[str, object] = {"security_protocol": self.protocol}
        if self.ca is not None:
            settings["ssl_cafile"] = str(self.ca)
        if self.certificate is not None:
            settings["ssl_certfile"] = str(self.certificate.certificate)
            settings["ssl_keyfile"] = str(self.certificate.key)
        if self.mechanism:
            settings.update(self._sasl())
        return settings

    def aiokafka(self) -> dict[str, object]:
        settings: dict[str, object] = {"security_protocol": self.protocol}
        if self.ca is not None:
            settings["ssl_context"] = aiokafka.helpers.create_ssl_context(
                cafile=str(self.ca),
                certfile=str(self.certificate.certificate) if self.certificate else None,
                keyfile=str(self.certificate.key) if self.certificate else None,
            )
        if self.mechanism:
            settings.update(self._sasl())
        return settings

    def _sasl(self) -> dict[str, object]:
        return {
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.user,
            "sasl_plain_password": self.password,
        }


def confluent_round_trip(bootstrap: str, auth: ClientAuth, topic: str) -> list[bytes]:
    """Produce m0, m1, m2 to `topic` and return what a new group consumes from it."""
    producer = Producer({"bootstrap.servers": bootstrap, **auth.confluent()})
    for i in range(3):
        producer.produce(topic, f"m{i}".encode())
    assert producer.flush(CLIENT_TIMEOUT) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}.group",
            "auto.offset.reset": "earliest",
            **auth.confluent(),
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while len(values) < 3 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(message.value())
    consumer.close()
    return values


def kafka_python_round_trip(bootstrap: str, auth: ClientAuth, topic: str) -> list[bytes]:
    """Produce m0, m1, m2 to `topic` and return what a new group consumes from it."""
    producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, **auth.kafka_python())
    for i in range(3):
        producer.send(topic, f"m{i}".encode()).get(CLIENT_TIMEOUT)
    producer.close()
    consumer = kafka.KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.group",
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(CLIENT_TIMEOUT * 1000),
        **auth.kafka_python(),
    )
    values = []
    for message in consumer:
        values.append(message.value)
        if len(values) == 3:
            break
    consumer.close()
    return values


def aiokafka_round_trip(bootstrap: str, auth: ClientAuth, topic: str) -> list[bytes]:
    """Produce m0, m1, m2 to `topic` and return what a new group consumes from it."""

    async def run() -> list[bytes]:
        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=bootstrap, **auth.aiokafka())
        await producer.start()
        try:
            for i in range(3):
                await producer.send_and_wait(topic, f"m{i}".encode())
        finally:
            await producer.stop()
        consumer = aiokafka.AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"{topic}.group",
            auto_offset_reset="earliest",
            **auth.aiokafka(),
        )
        await consumer.start()
        values = []
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT):
                async for message in consumer:
                    values.append(message.value)
                    if len(values) == 3:
                        break
        finally:
            await consumer.stop()
        return values

    return asyncio.run(run())


ROUND_TRIPS: dict[str, Callable[[str, ClientAuth, str], list[bytes]]] = {
    "confluent-kafka": confluent_round_trip,
    "kafka-python": kafka_python_round_trip,
    "aiokafka": aiokafka_round_trip,
}


def produce_until_refused(
    bootstrap: str, auth: ClientAuth, topic: str
) -> tuple[Producer, list[KafkaError]]:
    """A confluent-kafka producer that queues one message for `topic` and polls until the client
    reports an error (or the timeout passes); returns the producer and the errors it reported."""
    errors: list[KafkaError] = []
    producer = Producer(
        {"bootstrap.servers": bootstrap, **auth.confluent(), "error_cb": errors.append}
    )
    producer.produce(topic, b"never")
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    return producer, errors
