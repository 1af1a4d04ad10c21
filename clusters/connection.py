"""How a client application connects to a cluster: its bootstrap servers, security settings and
ready-to-paste snippets for confluent-kafka, kafka-python and kcat."""

from __future__ import annotations

from dataclasses import dataclass

from clusters.models import Cluster, ClusterStatus

SCRAM_MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"]
CA_FILE = "ca.pem"
USERNAME_PLACEHOLDER = "<username>"
PASSWORD_PLACEHOLDER = "<password>"


@dataclass(frozen=True)
class ConnectionInfo:
    bootstrap_servers: str
    security_protocol: str
    sasl_mechanisms: list[str]
    ca_required: bool
    snippets: dict[str, str]


def connection_info(cluster: Cluster) -> ConnectionInfo:
    """What a client needs to reach the cluster's client listener. Bootstrap servers are empty until
    the cluster runs; credentials appear as placeholders (a Kafka user's secret is never stored)."""
    bootstrap = cluster.bootstrap_servers if cluster.status == ClusterStatus.RUNNING else ""
    secured = cluster.is_secured
    mechanisms = SCRAM_MECHANISMS if secured else []
    servers = bootstrap or "<bootstrap servers>"
    snippets = (
        {
            "confluent_kafka": _confluent_kafka_sasl_ssl(servers),
            "kafka_python": _kafka_python_sasl_ssl(servers),
            "kcat": _kcat_sasl_ssl(servers),
        }
        if secured
        else {
            "confluent_kafka": _confluent_kafka_plaintext(servers),
            "kafka_python": _kafka_python_plaintext(servers),
            "kcat": f"kcat -b {servers} -L",
        }
    )
    return ConnectionInfo(
        bootstrap_servers=bootstrap,
        security_protocol=cluster.security_protocol,
        sasl_mechanisms=mechanisms,
        ca_required=secured,
        snippets=snippets,
    )


def _confluent_kafka_sasl_ssl(servers: str) -> str:
    return f"""from confluent_kafka import Producer

config = {{
    "bootstrap.servers": "{servers}",
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "{SCRAM_MECHANISMS[1]}",
    "sasl.username": "{USERNAME_PLACEHOLDER}",
    "sasl.password": "{PASSWORD_PLACEHOLDER}",
    "ssl.ca.location": "{CA_FILE}",
}}
producer = Producer(config)
"""


def _kafka_python_sasl_ssl(servers: str) -> str:
    listed = ", ".join(f'"{s}"' for s in servers.split(","))
    return f"""from kafka import KafkaProducer

producer = KafkaProducer(
    bootstrap_servers=[{listed}],
    security_protocol="SASL_SSL",
    sasl_mechanism="{SCRAM_MECHANISMS[1]}",
    sasl_plain_username="{USERNAME_PLACEHOLDER}",
    sasl_plain_password="{PASSWORD_PLACEHOLDER}",
    ssl_cafile="{CA_FILE}",
)
"""


def _kcat_sasl_ssl(servers: str) -> str:
    return (
        f"kcat -b {servers} -X security.protocol=SASL_SSL "
        f"-X sasl.mechanism={SCRAM_MECHANISMS[1]} "
        f"-X sasl.username='{USERNAME_PLACEHOLDER}' -X sasl.password='{PASSWORD_PLACEHOLDER}' "
        f"-X ssl.ca.location={CA_FILE} -L"
    )


def _confluent_kafka_plaintext(servers: str) -> str:
    return f"""from confluent_kafka import Producer

producer = Producer({{"bootstrap.servers": "{servers}"}})
"""


def _kafka_python_plaintext(servers: str) -> str:
    listed = ", ".join(f'"{s}"' for s in servers.split(","))
    return f"""from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=[{listed}])
"""
