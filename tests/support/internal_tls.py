"""The managed clusters' listener shape for listener_cluster (tests/support/listener_cluster.py):
INTERNAL, the inter-broker listener, is SSL with client certificates required, so brokers present
their keystore certificate to each other; CLIENT, on a port of its own per broker, is for clients."""

from __future__ import annotations

from tests.support.broker import HOST
from tests.support.certs import CertificateAuthority, IssuedCertificate
from tests.support.cluster import Cluster, ClusterBroker, listener_port


class InternalTlsListeners:
    """Each broker's INTERNAL and CLIENT listeners, and client settings for either."""

    def __init__(
        self,
        ca: CertificateAuthority,
        broker_certificate: IssuedCertificate,
        client_protocol: str,
    ) -> None:
        self.ca = ca
        self.broker_certificate = broker_certificate
        self.client_protocol = client_protocol
        self.client_ports: dict[int, int] = {}

    def settings(self, broker: ClusterBroker) -> dict[str, object]:
        """The broker's listeners and TLS material; INTERNAL keeps the broker's own port."""
        client_port = self.client_ports[broker.broker_id] = listener_port()
        return {
            "listeners": f"INTERNAL://{HOST}:{broker.port},CLIENT://{HOST}:{client_port}",
            "advertised.listeners": "",
            "listener.security.protocol.map": f"INTERNAL:SSL,CLIENT:{self.client_protocol}",
            "inter.broker.listener.name": "INTERNAL",
            "ssl.keystore.location": self.broker_certificate.keystore,
            "ssl.truststore.location": self.ca.truststore,
            "listener.name.internal.ssl.client.auth": "required",
        }

    def client_bootstrap(self) -> str:
        """Every broker's CLIENT listener, as bootstrap.servers."""
        return ",".join(f"{HOST}:{port}" for port in self.client_ports.values())

    def internal_client(self, cluster: Cluster, certificate: IssuedCertificate) -> dict[str, str]:
        """confluent-kafka settings for the INTERNAL listeners, logging in with `certificate`."""
        return {
            "bootstrap.servers": ",".join(f"{HOST}:{b.port}" for b in cluster.brokers.values()),
            "security.protocol": "SSL",
            "ssl.ca.location": str(self.ca.truststore),
            "ssl.certificate.location": str(certificate.certificate),
            "ssl.key.location": str(certificate.key),
        }
