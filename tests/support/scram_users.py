"""SCRAM users made on a broker through AlterUserScramCredentials, for tests whose clients log in
with SASL."""

from __future__ import annotations

import kafka.admin
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism
from confluent_kafka.admin import UserScramCredentialUpsertion as ConfluentScramUpsertion
from kafka.admin import UserScramCredentialUpsertion


def create_scram_users(
    bootstrap: str, users: dict[str, str], mechanisms: tuple[str, ...]
) -> dict[str, str | None]:
    """Give each user its password under every mechanism, through kafka-python's admin client;
    returns the broker's error per user (None where it succeeded)."""
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return admin.alter_user_scram_credentials(
            [
                UserScramCredentialUpsertion(user, mechanism, password)
                for user, password in users.items()
                for mechanism in mechanisms
            ]
        )
    finally:
        admin.close()


def create_scram_sha_256_user(admin: AdminClient, user: str, password: str, timeout: float) -> None:
    """Give `user` a SCRAM-SHA-256 credential (4096 iterations) through a confluent-kafka admin
    client, for brokers reached only over listeners kafka-python's admin client cannot use."""
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)
    upsertion = ConfluentScramUpsertion(user, info, password.encode())
    admin.alter_user_scram_credentials([upsertion])[user].result(timeout)
