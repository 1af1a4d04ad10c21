"""The AWS provider: every node is an EC2 instance in a network of its cluster's own.

Per cluster: a VPC, one subnet, a security group and, unless the account is private-only
(`public_network: false`), an internet gateway with a default route. Per node: an instance of the
node size's instance type with an Elastic IP (stable across the stop/start of a resize, so bootstrap
servers never change), and per broker a gp3 data volume kept apart from the root volume so it
survives a replaced instance.

Everything created carries `streamplane:cluster` (and `streamplane:node` for a node's resources) so a
step re-run after a crash finds what an earlier attempt made instead of making it twice; the ids in
`Cluster.provider_data` and `Node.provider_data` are a record, the tags are the truth.

A broker's address (`node.host`) is the public DNS name of its Elastic IP: inside the VPC it resolves
to the private address, outside to the public one. So brokers replicate over private addresses (where
the security group's "source = this group" rules apply) and clients in `allowed_cidrs` reach the same
name from outside. ZooKeeper is reached only by brokers, at its private address.

Credentials come from the provider account (encrypted at rest) and are never logged: every AWS error
is re-raised as `AwsProviderError` with a message scrubbed of them, and botocore's own debug records
(which print the signed request, access key id and session token included) pass through a filter
that blanks every credential this process has handed to boto3.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from django.conf import settings

from clusters.models import (
    INTERNAL_LISTENER_PORT,
    Cluster,
    Node,
    NodeRole,
    NodeSize,
    NodeStatus,
    Region,
)
from clusters.models import Provider as ProviderAccount
from provisioning.providers.base import Log, NodeObservation

logger = logging.getLogger(__name__)

TAG_CLUSTER = "streamplane:cluster"
TAG_NODE = "streamplane:node"
TAG_ROLE = "streamplane:role"
# The data volume's device name as EC2 knows it; on Nitro instances the kernel names it nvme<n>n1,
# findable as /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<id without the dash>.
DATA_DEVICE = "/dev/sdf"
ZOOKEEPER_PEER_PORTS = (2888, 3888)  # quorum and leader election (roles/zookeeper/defaults)
SSH_PORT = 22
# Instance states in which an instance still exists (and still costs money).
LIVE_STATES = ("pending", "running", "stopping", "stopped")


class _RedactCredentials(logging.Filter):
    """Blanks known credential values in a record's final message. Records of these loggers exist
    only when someone turns botocore's debug logging on, so the cost is nil otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= 4)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            redacted = self.redact(message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


_redact = _RedactCredentials()
# "Sending http request" (the Authorization header, X-Amz-Security-Token) and the canonical request
# (the security token as a signed header).
for _name in ("botocore.endpoint", "botocore.auth"):
    logging.getLogger(_name).addFilter(_redact)


class AwsProviderError(RuntimeError):
    """An AWS call failed or AWS did not reach the expected state in time."""


@dataclass(frozen=True)
class AccountSettings:
    """The non-secret settings of an AWS provider account (`Provider.config`)."""

    endpoint_url: str | None
    image_id: str | dict[str, str]  # one AMI, or one per region
    ssh_user: str
    key_name: str | None
    ssh_private_key_file: str | None
    admin_cidrs: tuple[str, ...]
    waiter_delay_s: float
    waiter_timeout_s: float
    vpc_cidr: str
    public_network: bool
    node_dir: str
    dataplane_python: str
    java_command: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AccountSettings:
        return cls(
            endpoint_url=config.get("endpoint_url") or None,
            image_id=config.get("image_id") or "",
            ssh_user=config.get("ssh_user") or "admin",  # Debian's AMIs
            key_name=config.get("key_name") or None,
            ssh_private_key_file=config.get("ssh_private_key_file") or None,
            admin_cidrs=tuple(_network(c) for c in config.get("admin_cidrs") or ()),
            waiter_delay_s=float(config.get("waiter_delay_s", 15)),
            waiter_timeout_s=float(config.get("waiter_timeout_s", 900)),
            vpc_cidr=config.get("vpc_cidr") or "10.42.0.0/16",
            public_network=bool(config.get("public_network", True)),
            node_dir=config.get("node_dir") or "/var/lib/streamplane",
            dataplane_python=config.get("dataplane_python") or "/opt/streamplane/venv/bin/python",
            java_command=config.get("java_command") or "java",
        )

    def image_for(self, region: str) -> str:
        image = self.image_id.get(region, "") if isinstance(self.image_id, dict) else self.image_id
        if not image:
            raise AwsProviderError(f"the provider account has no image_id for region {region}")
        return image

    @property
    def subnet_cidr(self) -> str:
        vpc = ipaddress.ip_network(self.vpc_cidr)
        return str(next(vpc.subnets(new_prefix=24))) if vpc.prefixlen < 24 else str(vpc)


def _network(cidr: str) -> str:
    """A CIDR in the form EC2 reports it back, so wanted and present rules compare equal."""
    return str(ipaddress.ip_network(cidr.strip(), strict=False))


def _tags(name: str, cluster: Cluster, node: Node | None = None) -> list[dict[str, str]]:
    tags = {"Name": name, TAG_CLUSTER: str(cluster.pk)}
    if node is not None:
        tags[TAG_NODE] = str(node.pk)
        tags[TAG_ROLE] = node.role
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _tag_spec(resource_type: str, tags: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": tags}]


def _by_tag(key: str, value: str) -> dict[str, Any]:
    return {"Name": f"tag:{key}", "Values": [value]}


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


# One ingress rule: (protocol, from port, to port, ("cidr" | "cidr6" | "group", source)).
Rule = tuple[str, int, int, tuple[str, str]]


def wanted_ingress(cluster: Cluster, group_id: str, admin_cidrs: Sequence[str]) -> dict[Rule, str]:
    """The security group's whole ingress, each rule with why it exists. Nothing else may be open."""
    broker = settings.LOCAL_BROKER_PORT
    rules: dict[Rule, str] = {}
    for cidr in cluster.allowed_cidrs or ():
        network = _network(cidr)
        kind = "cidr6" if ":" in network else "cidr"
        rules[("tcp", broker, broker, (kind, network))] = "Kafka clients"
    # Brokers talk to each other, and the control plane to them, on the internal listener (mutual
    # TLS) of a SASL_SSL cluster; on the client listener of a PLAINTEXT one.
    internal = INTERNAL_LISTENER_PORT if cluster.is_secured else broker
    rules[("tcp", internal, internal, ("group", group_id))] = "inter-broker"
    for port in (settings.LOCAL_ZOOKEEPER_PORT, *ZOOKEEPER_PEER_PORTS):
        rules[("tcp", port, port, ("group", group_id))] = "ZooKeeper"
    for cidr in admin_cidrs:
        kind = "cidr6" if ":" in cidr else "cidr"
        rules[("tcp", SSH_PORT, SSH_PORT, (kind, cidr))] = "SSH for Ansible"
        # The control plane checks and changes the cluster as a Kafka admin client and gathers
        # each broker's metrics.
        rules[("tcp", internal, internal, (kind, cidr))] = "control plane"
        metrics = settings.BROKER_METRICS_PORT
        rules[("tcp", metrics, metrics, (kind, cidr))] = "control plane metrics scrape"
    return rules


def present_ingress(group: dict[str, Any]) -> set[Rule]:
    """A described security group's ingress, flattened to rules."""
    rules: set[Rule] = set()
    for perm in group.get("IpPermissions", []):
        protocol = perm["IpProtocol"]
        from_port, to_port = perm.get("FromPort", -1), perm.get("ToPort", -1)
        for r in perm.get("IpRanges", []):
            rules.add((protocol, from_port, to_port, ("cidr", r["CidrIp"])))
        for r in perm.get("Ipv6Ranges", []):
            rules.add((protocol, from_port, to_port, ("cidr6", r["CidrIpv6"])))
        for r in perm.get("UserIdGroupPairs", []):
            rules.add((protocol, from_port, to_port, ("group", r["GroupId"])))
        for r in perm.get("PrefixListIds", []):
            rules.add((protocol, from_port, to_port, ("prefix-list", r["PrefixListId"])))
    return rules


def _permission(rule: Rule, description: str | None = None) -> dict[str, Any]:
    protocol, from_port, to_port, (kind, source) = rule
    extra = {"Description": description} if description else {}
    perm: dict[str, Any] = {"IpProtocol": protocol, "FromPort": from_port, "ToPort": to_port}
    if kind == "cidr":
        perm["IpRanges"] = [{"CidrIp": source, **extra}]
    elif kind == "cidr6":
        perm["Ipv6Ranges"] = [{"CidrIpv6": source, **extra}]
    elif kind == "group":
        perm["UserIdGroupPairs"] = [{"GroupId": source, **extra}]
    else:
        perm["PrefixListIds"] = [{"PrefixListId": source, **extra}]
    return perm


class AwsProvider:
    """Nodes as EC2 instances. Each call uses the credentials of the cluster's provider account."""

    slug = "aws"

    def __init__(self, account: ProviderAccount | None = None) -> None:
        self._account = account
        self._clients: dict[tuple[int, str], Any] = {}

    # --- accounts, clients, errors ----------------------------------------------------------------

    def account(self) -> ProviderAccount:
        if self._account is None:
            self._account = ProviderAccount.objects.get(slug=self.slug)
        return self._account

    def _settings(self, account: ProviderAccount) -> AccountSettings:
        return AccountSettings.from_config(account.config or {})

    def _client(self, account: ProviderAccount, region: str) -> Any:
        key = (account.pk, region)
        if key not in self._clients:
            credentials = account.credentials()
            if not credentials.get("access_key_id") or not credentials.get("secret_access_key"):
                raise AwsProviderError(
                    f"provider account {account.slug!r} has no access_key_id/secret_access_key"
                )
            _redact.add(*credentials.values())
            # A session of its own: never the process's default credentials or profile.
            session = boto3.session.Session(
                aws_access_key_id=credentials["access_key_id"],
                aws_secret_access_key=credentials["secret_access_key"],
                aws_session_token=credentials.get("session_token") or None,
                region_name=region,
            )
            self._clients[key] = session.client(
                "ec2",
                endpoint_url=self._settings(account).endpoint_url,
                config=BotoConfig(
                    retries={"max_attempts": 8, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                ),
            )
        return self._clients[key]

    @contextlib.contextmanager
    def _aws_errors(self, account: ProviderAccount, doing: str) -> Iterator[None]:
        """AWS failures as AwsProviderError, scrubbed of the account's credentials."""
        try:
            yield
        except ClientError as exc:
            message = (
                f"{doing}: {_error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
            )
            raise AwsProviderError(self._scrub(account, message)) from None
        except WaiterError as exc:
            raise AwsProviderError(self._scrub(account, f"{doing}: {exc}")) from None
        except BotoCoreError as exc:
            raise AwsProviderError(
                self._scrub(account, f"{doing}: {type(exc).__name__}: {exc}")
            ) from None

    @staticmethod
    def _scrub(account: ProviderAccount, text: str) -> str:
        _redact.add(*account.credentials().values())
        return _redact.redact(text)

    def _wait(self, ec2: Any, waiter: str, cfg: AccountSettings, **kwargs: Any) -> None:
        delay = max(cfg.waiter_delay_s, 0.01)
        attempts = max(1, math.ceil(cfg.waiter_timeout_s / delay))
        ec2.get_waiter(waiter).wait(
            WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **kwargs
        )

    def _poll(self, cfg: AccountSettings, what: str, done: Any) -> Any:
        """For changes EC2 has no waiter for (volume modifications, dependency clean-up)."""
        deadline = time.monotonic() + cfg.waiter_timeout_s
        while True:
            result = done()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AwsProviderError(f"timed out after {cfg.waiter_timeout_s:.0f} s: {what}")
            time.sleep(cfg.waiter_delay_s)

    @staticmethod
    def _describe(ec2: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        if ec2.can_paginate(operation):
            pages = ec2.get_paginator(operation).paginate(**kwargs)
            return [item for page in pages for item in page[key]]
        return getattr(ec2, operation)(**kwargs)[key]

    def _instances(self, ec2: Any, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        reservations = self._describe(ec2, "describe_instances", "Reservations", Filters=filters)
        return [i for r in reservations for i in r["Instances"]]

    def _node_context(self, node: Node) -> tuple[ProviderAccount, AccountSettings, Any]:
        account = node.cluster.provider
        return account, self._settings(account), self._client(account, node.cluster.region.slug)

    # --- the cluster's network ----------------------------------------------------------------------

    def _remember(self, cluster: Cluster, key: str, value: str | None) -> None:
        data = dict(cluster.provider_data or {})
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
        if data != cluster.provider_data:
            cluster.provider_data = data
            cluster.save(update_fields=["provider_data"])

    def _ensure_network(
        self, ec2: Any, cluster: Cluster, cfg: AccountSettings, log: Log
    ) -> dict[str, str]:
        mine = [_by_tag(TAG_CLUSTER, str(cluster.pk))]
        name = f"streamplane-{cluster.name}"

        vpcs = self._describe(ec2, "describe_vpcs", "Vpcs", Filters=mine)
        if vpcs:
            vpc_id = vpcs[0]["VpcId"]
        else:
            vpc_id = ec2.create_vpc(
                CidrBlock=cfg.vpc_cidr, TagSpecifications=_tag_spec("vpc", _tags(name, cluster))
            )["Vpc"]["VpcId"]
            log(f"created VPC {vpc_id} ({cfg.vpc_cidr})")
            logger.info("cluster %s: created VPC %s", cluster.pk, vpc_id)
        self._remember(cluster, "vpc_id", vpc_id)
        self._wait(ec2, "vpc_available", cfg, VpcIds=[vpc_id])
        # Public DNS names resolve to private addresses inside the VPC only with both attributes.
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})

        subnets = self._describe(ec2, "describe_subnets", "Subnets", Filters=mine)
        if subnets:
            subnet_id = subnets[0]["SubnetId"]
        else:
            subnet_id = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cfg.subnet_cidr,
                TagSpecifications=_tag_spec("subnet", _tags(name, cluster)),
            )["Subnet"]["SubnetId"]
            log(f"created subnet {subnet_id} ({cfg.subnet_cidr})")
        self._remember(cluster, "subnet_id", subnet_id)
        self._wait(ec2, "subnet_available", cfg, SubnetIds=[subnet_id])

        if cfg.public_network:
            self._ensure_internet_route(ec2, cluster, vpc_id, subnet_id, name, log)

        groups = self._describe(ec2, "describe_security_groups", "SecurityGroups", Filters=mine)
        if groups:
            group_id = groups[0]["GroupId"]
        else:
            group_id = ec2.create_security_group(
                GroupName=name,
                Description=f"streamplane cluster {cluster.pk}",
                VpcId=vpc_id,
                TagSpecifications=_tag_spec("security-group", _tags(name, cluster)),
            )["GroupId"]
            log(f"created security group {group_id}")
        self._remember(cluster, "security_group_id", group_id)
        self._wait(ec2, "security_group_exists", cfg, GroupIds=[group_id])
        self._sync_ingress(ec2, cluster, group_id, cfg, log)
        return {"vpc_id": vpc_id, "subnet_id": subnet_id, "security_group_id": group_id}

    def _ensure_internet_route(
        self, ec2: Any, cluster: Cluster, vpc_id: str, subnet_id: str, name: str, log: Log
    ) -> None:
        """Brokers are reached from outside the VPC (clients in allowed_cidrs, the control plane,
        Ansible over SSH) and reach out (health reports, packages): that needs a gateway."""
        mine = [_by_tag(TAG_CLUSTER, str(cluster.pk))]
        gateways = self._describe(
            ec2, "describe_internet_gateways", "InternetGateways", Filters=mine
        )
        if gateways:
            gateway = gateways[0]
        else:
            gateway = ec2.create_internet_gateway(
                TagSpecifications=_tag_spec("internet-gateway", _tags(name, cluster))
            )["InternetGateway"]
            log(f"created internet gateway {gateway['InternetGatewayId']}")
        gateway_id = gateway["InternetGatewayId"]
        self._remember(cluster, "internet_gateway_id", gateway_id)
        if not any(a.get("VpcId") == vpc_id for a in gateway.get("Attachments", [])):
            ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)

        tables = self._describe(ec2, "describe_route_tables", "RouteTables", Filters=mine)
        if tables:
            table = tables[0]
        else:
            table = ec2.create_route_table(
                VpcId=vpc_id, TagSpecifications=_tag_spec("route-table", _tags(name, cluster))
            )["RouteTable"]
            log(f"created route table {table['RouteTableId']}")
        table_id = table["RouteTableId"]
        self._remember(cluster, "route_table_id", table_id)
        if not any(
            r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("GatewayId") == gateway_id
            for r in table.get("Routes", [])
        ):
            with contextlib.suppress(ClientError):  # a stale default route, e.g. to a lost gateway
                ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0")
            ec2.create_route(
                RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway_id
            )
        if not any(a.get("SubnetId") == subnet_id for a in table.get("Associations", [])):
            ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)

    def _sync_ingress(
        self, ec2: Any, cluster: Cluster, group_id: str, cfg: AccountSettings, log: Log
    ) -> None:
        """Make the group's ingress exactly the wanted rules: add what is missing, revoke the rest."""
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
        wanted = wanted_ingress(cluster, group_id, cfg.admin_cidrs)
        present = present_ingress(group)
        missing = [rule for rule in wanted if rule not in present]
        extra = sorted(present - set(wanted))
        if extra:
            ec2.revoke_security_group_ingress(
                GroupId=group_id, IpPermissions=[_permission(rule) for rule in extra]
            )
            log(f"security group {group_id}: revoked {len(extra)} rule(s) no longer wanted")
        if missing:
            ec2.authorize_security_group_ingress(
                GroupId=group_id,
                IpPermissions=[_permission(rule, wanted[rule]) for rule in missing],
            )
            log(f"security group {group_id}: allowed {len(missing)} rule(s)")

    def update_firewall(self, cluster: Cluster, log: Log) -> None:
        """Apply the cluster's allowed_cidrs (and the account's admin_cidrs) to its security group."""
        account = cluster.provider
        cfg = self._settings(account)
        with self._aws_errors(account, f"updating the firewall of cluster {cluster.name}"):
            ec2 = self._client(account, cluster.region.slug)
            groups = self._describe(
                ec2,
                "describe_security_groups",
                "SecurityGroups",
                Filters=[_by_tag(TAG_CLUSTER, str(cluster.pk))],
            )
            if not groups:
                raise AwsProviderError(f"cluster {cluster.name} has no security group yet")
            self._sync_ingress(ec2, cluster, groups[0]["GroupId"], cfg, log)

    # --- nodes ------------------------------------------------------------------------------------

    def create_nodes(self, cluster: Cluster, nodes: Sequence[Node], log: Log) -> None:
        account = cluster.provider
        cfg = self._settings(account)
        region = cluster.region.slug
        with self._aws_errors(account, f"allocating nodes of cluster {cluster.name}"):
            ec2 = self._client(account, region)
            network = self._ensure_network(ec2, cluster, cfg, log)
            pending = [n for n in nodes if not (n.host and n.provider_ref)]
            for node in nodes:
                if node not in pending:
                    log(f"{node.name}: already at {node.host} ({node.provider_ref})")
            for node in pending:
                self._ensure_instance(ec2, cluster, node, network, cfg, log)
            if pending:
                self._wait(
                    ec2, "instance_running", cfg, InstanceIds=[n.provider_ref for n in pending]
                )
            for node in pending:
                self._finish_node(ec2, cluster, node, cfg, log)

    def _find_instance(self, ec2: Any, node: Node) -> dict[str, Any] | None:
        """The node's live instance, by its recorded id or else by its tag."""
        filters = [{"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        found = self._instances(ec2, [*filters, _by_tag(TAG_NODE, str(node.pk))])
        if node.provider_ref:
            recorded = [i for i in found if i["InstanceId"] == node.provider_ref]
            found = recorded or found
        return found[0] if found else None

    def _ensure_instance(
        self,
        ec2: Any,
        cluster: Cluster,
        node: Node,
        network: dict[str, str],
        cfg: AccountSettings,
        log: Log,
    ) -> None:
        instance = self._find_instance(ec2, node)
        if instance is None:
            instance_type = node.size.instance_type
            if not instance_type:
                raise AwsProviderError(f"node size {node.size.slug} has no instance_type")
            tags = _tags(node.name, cluster, node)
            request: dict[str, Any] = {
                "ImageId": cfg.image_for(cluster.region.slug),
                "InstanceType": instance_type,
                "MinCount": 1,
                "MaxCount": 1,
                # A non-default subnet gives no public address at launch; the node's public
                # address is its Elastic IP, attached once it runs.
                "SubnetId": network["subnet_id"],
                "SecurityGroupIds": [network["security_group_id"]],
                "MetadataOptions": {"HttpTokens": "required"},
                "TagSpecifications": [
                    *_tag_spec("instance", tags),
                    *_tag_spec("volume", tags),
                ],
            }
            if cfg.key_name:
                request["KeyName"] = cfg.key_name
            if node.role == NodeRole.BROKER:
                # Kept on termination: a replaced instance could take the data over; destroy_node
                # deletes it explicitly.
                request["BlockDeviceMappings"] = [
                    {
                        "DeviceName": DATA_DEVICE,
                        "Ebs": {
                            "VolumeSize": cluster.storage_gib,
                            "VolumeType": "gp3",
                            "Encrypted": True,
                            "DeleteOnTermination": False,
                        },
                    }
                ]
            instance = ec2.run_instances(**request)["Instances"][0]
            log(f"{node.name}: launched {instance['InstanceId']} ({instance_type})")
            logger.info(
                "cluster %s node %s: launched %s", cluster.pk, node.pk, instance["InstanceId"]
            )
        else:
            log(f"{node.name}: found {instance['InstanceId']} from an earlier attempt")
            if instance["State"]["Name"] in ("stopping", "stopped"):
                self._wait(ec2, "instance_stopped", cfg, InstanceIds=[instance["InstanceId"]])
                ec2.start_instances(InstanceIds=[instance["InstanceId"]])
        node.provider_ref = instance["InstanceId"]
        node.status = NodeStatus.PROVISIONING
        # Recorded before waiting, so a crash from here on finds this instance by its id too.
        node.save(update_fields=["provider_ref", "status"])

    def _finish_node(
        self, ec2: Any, cluster: Cluster, node: Node, cfg: AccountSettings, log: Log
    ) -> None:
        """Data volume, Elastic IP and address of a running instance."""
        instance = self._instances(ec2, [{"Name": "instance-id", "Values": [node.provider_ref]}])[0]
        data = dict(node.provider_data or {})
        if node.role == NodeRole.BROKER:
            volume_id = next(
                (
                    m["Ebs"]["VolumeId"]
                    for m in instance.get("BlockDeviceMappings", [])
                    if m["DeviceName"] == DATA_DEVICE
                ),
                None,
            )
            if volume_id is None:
                raise AwsProviderError(f"{node.name}: instance has no data volume at {DATA_DEVICE}")
            ec2.create_tags(
                Resources=[volume_id],
                Tags=[{"Key": "Name", "Value": f"{node.name}-data"}],
            )
            data["data_volume_id"] = volume_id
        if cfg.public_network:
            data["allocation_id"] = self._ensure_address(ec2, cluster, node, instance, log)
            instance = self._instances(
                ec2, [{"Name": "instance-id", "Values": [node.provider_ref]}]
            )[0]
        data["private_ip"] = instance.get("PrivateIpAddress", "")
        data["public_ip"] = instance.get("PublicIpAddress", "")
        data["public_dns"] = instance.get("PublicDnsName", "")
        node.provider_data = data
        node.host = self._address(node, data)
        node.port = (
            settings.LOCAL_BROKER_PORT
            if node.role == NodeRole.BROKER
            else settings.LOCAL_ZOOKEEPER_PORT
        )
        node.save(update_fields=["provider_data", "host", "port"])
        log(f"{node.name}: at {node.host}:{node.port} ({node.provider_ref})")

    @staticmethod
    def _address(node: Node, data: dict[str, Any]) -> str:
        """Brokers: the name that resolves to the private address inside the VPC and the public one
        outside. ZooKeeper: its private address; only brokers use it."""
        if node.role == NodeRole.BROKER:
            return data.get("public_dns") or data.get("public_ip") or data["private_ip"]
        return data["private_ip"]

    def _ensure_address(
        self, ec2: Any, cluster: Cluster, node: Node, instance: dict[str, Any], log: Log
    ) -> str:
        addresses = self._describe(
            ec2, "describe_addresses", "Addresses", Filters=[_by_tag(TAG_NODE, str(node.pk))]
        )
        if addresses:
            address = addresses[0]
        else:
            address = ec2.allocate_address(
                Domain="vpc",
                TagSpecifications=_tag_spec("elastic-ip", _tags(node.name, cluster, node)),
            )
            log(f"{node.name}: allocated Elastic IP {address['PublicIp']}")
        if address.get("InstanceId") != instance["InstanceId"]:
            ec2.associate_address(
                AllocationId=address["AllocationId"], InstanceId=instance["InstanceId"]
            )
        return address["AllocationId"]

    def destroy_node(self, node: Node, log: Log) -> None:
        account, cfg, ec2 = self._node_context(node)
        with self._aws_errors(account, f"destroying {node.name}"):
            node_filter = [_by_tag(TAG_NODE, str(node.pk))]
            for address in self._describe(
                ec2, "describe_addresses", "Addresses", Filters=node_filter
            ):
                if address.get("AssociationId"):
                    ec2.disassociate_address(AssociationId=address["AssociationId"])
                ec2.release_address(AllocationId=address["AllocationId"])
                log(f"{node.name}: released Elastic IP {address['PublicIp']}")
            instances = self._instances(
                ec2,
                [
                    *node_filter,
                    {"Name": "instance-state-name", "Values": [*LIVE_STATES, "shutting-down"]},
                ],
            )
            ids = sorted({i["InstanceId"] for i in instances})
            if ids:
                ec2.terminate_instances(InstanceIds=ids)
                log(f"{node.name}: terminating {', '.join(ids)}")
                self._wait(ec2, "instance_terminated", cfg, InstanceIds=ids)
                log(f"{node.name}: terminated")
            volume_ids = {v["VolumeId"] for v in self._volumes(ec2, node_filter)}
            if recorded := (node.provider_data or {}).get("data_volume_id"):
                volume_ids |= {v["VolumeId"] for v in self._volumes(ec2, [], [recorded])}
            for volume_id in sorted(volume_ids):
                self._delete_volume(ec2, volume_id, cfg)
                log(f"{node.name}: deleted volume {volume_id}")

    def _volumes(
        self, ec2: Any, filters: list[dict[str, Any]], ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        if ids:
            filters = [*filters, {"Name": "volume-id", "Values": list(ids)}]
        return self._describe(ec2, "describe_volumes", "Volumes", Filters=filters)

    def _delete_volume(self, ec2: Any, volume_id: str, cfg: AccountSettings) -> None:
        # A terminated instance lets go of its volumes a little later.
        try:
            self._wait(ec2, "volume_available", cfg, VolumeIds=[volume_id])
            ec2.delete_volume(VolumeId=volume_id)
        except WaiterError:
            if self._volumes(ec2, [], [volume_id]):
                raise
        except ClientError as exc:
            if _error_code(exc) != "InvalidVolume.NotFound":
                raise

    def release_cluster(self, cluster: Cluster, log: Log) -> None:
        account = cluster.provider
        cfg = self._settings(account)
        with self._aws_errors(account, f"releasing the network of cluster {cluster.name}"):
            ec2 = self._client(account, cluster.region.slug)
            mine = [_by_tag(TAG_CLUSTER, str(cluster.pk))]
            left = self._instances(
                ec2,
                [*mine, {"Name": "instance-state-name", "Values": [*LIVE_STATES, "shutting-down"]}],
            )
            if left:
                raise AwsProviderError(
                    f"cluster {cluster.name} still has instances "
                    f"{', '.join(sorted(i['InstanceId'] for i in left))}; destroy its nodes first"
                )
            for address in self._describe(ec2, "describe_addresses", "Addresses", Filters=mine):
                if address.get("AssociationId"):
                    ec2.disassociate_address(AssociationId=address["AssociationId"])
                ec2.release_address(AllocationId=address["AllocationId"])
                log(f"released Elastic IP {address['PublicIp']}")
            for volume in self._volumes(ec2, mine):
                self._delete_volume(ec2, volume["VolumeId"], cfg)
                log(f"deleted volume {volume['VolumeId']}")

            for group in self._describe(
                ec2, "describe_security_groups", "SecurityGroups", Filters=mine
            ):
                self._retry_dependency(
                    cfg,
                    f"security group {group['GroupId']}",
                    lambda g=group: ec2.delete_security_group(GroupId=g["GroupId"]),
                )
                log(f"deleted security group {group['GroupId']}")
            self._remember(cluster, "security_group_id", None)

            for table in self._describe(ec2, "describe_route_tables", "RouteTables", Filters=mine):
                for association in table.get("Associations", []):
                    if not association.get("Main"):
                        ec2.disassociate_route_table(
                            AssociationId=association["RouteTableAssociationId"]
                        )
                ec2.delete_route_table(RouteTableId=table["RouteTableId"])
                log(f"deleted route table {table['RouteTableId']}")
            self._remember(cluster, "route_table_id", None)

            for gateway in self._describe(
                ec2, "describe_internet_gateways", "InternetGateways", Filters=mine
            ):
                for attachment in gateway.get("Attachments", []):
                    self._retry_dependency(
                        cfg,
                        f"internet gateway {gateway['InternetGatewayId']}",
                        lambda g=gateway, a=attachment: ec2.detach_internet_gateway(
                            InternetGatewayId=g["InternetGatewayId"], VpcId=a["VpcId"]
                        ),
                    )
                ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
                log(f"deleted internet gateway {gateway['InternetGatewayId']}")
            self._remember(cluster, "internet_gateway_id", None)

            for subnet in self._describe(ec2, "describe_subnets", "Subnets", Filters=mine):
                self._retry_dependency(
                    cfg,
                    f"subnet {subnet['SubnetId']}",
                    lambda s=subnet: ec2.delete_subnet(SubnetId=s["SubnetId"]),
                )
                log(f"deleted subnet {subnet['SubnetId']}")
            self._remember(cluster, "subnet_id", None)

            for vpc in self._describe(ec2, "describe_vpcs", "Vpcs", Filters=mine):
                self._retry_dependency(
                    cfg, f"VPC {vpc['VpcId']}", lambda v=vpc: ec2.delete_vpc(VpcId=v["VpcId"])
                )
                log(f"deleted VPC {vpc['VpcId']}")
            self._remember(cluster, "vpc_id", None)

    def _retry_dependency(self, cfg: AccountSettings, what: str, delete: Any) -> None:
        """Deletes that fail while a just-terminated instance's network interface lingers."""

        def attempt() -> bool:
            try:
                delete()
            except ClientError as exc:
                if _error_code(exc) == "DependencyViolation":
                    return False
                if (
                    _error_code(exc).endswith("NotFound")
                    or _error_code(exc) == "Gateway.NotAttached"
                ):
                    return True  # gone already: a re-run after a crash
                raise
            return True

        self._poll(cfg, f"{what} is still in use", attempt)

    def resize_node(self, node: Node, size: NodeSize, log: Log) -> None:
        account, cfg, ec2 = self._node_context(node)
        if not size.instance_type:
            raise ValueError(f"node size {size.slug} has no instance_type")
        with self._aws_errors(account, f"resizing {node.name} to {size.instance_type}"):
            instance = self._find_instance(ec2, node)
            if instance is None:
                raise AwsProviderError(f"{node.name}: no instance to resize")
            instance_id = instance["InstanceId"]
            state = instance["State"]["Name"]
            if instance["InstanceType"] == size.instance_type and state == "running":
                log(f"{node.name}: {instance_id} already runs as {size.instance_type}")
                return
            if state != "stopped":
                ec2.stop_instances(InstanceIds=[instance_id])
                log(f"{node.name}: stopping {instance_id}")
                self._wait(ec2, "instance_stopped", cfg, InstanceIds=[instance_id])
            if instance["InstanceType"] != size.instance_type:
                ec2.modify_instance_attribute(
                    InstanceId=instance_id, InstanceType={"Value": size.instance_type}
                )
                log(f"{node.name}: {instance['InstanceType']} → {size.instance_type}")
            ec2.start_instances(InstanceIds=[instance_id])
            self._wait(ec2, "instance_running", cfg, InstanceIds=[instance_id])
            log(f"{node.name}: {instance_id} running as {size.instance_type}")
            # Without an Elastic IP a stop/start changes the public address; keep the record true.
            started = self._instances(ec2, [{"Name": "instance-id", "Values": [instance_id]}])[0]
            data = dict(node.provider_data or {})
            data.update(
                private_ip=started.get("PrivateIpAddress", ""),
                public_ip=started.get("PublicIpAddress", ""),
                public_dns=started.get("PublicDnsName", ""),
            )
            host = self._address(node, data)
            if data != node.provider_data or host != node.host:
                if host != node.host:
                    log(f"{node.name}: address changed from {node.host} to {host}")
                node.provider_data, node.host = data, host
                node.save(update_fields=["provider_data", "host"])

    def expand_storage(self, node: Node, storage_gib: int, log: Log) -> None:
        account, cfg, ec2 = self._node_context(node)
        volume_id = (node.provider_data or {}).get("data_volume_id")
        if not volume_id:
            raise AwsProviderError(f"{node.name} has no data volume")
        with self._aws_errors(account, f"growing the data volume of {node.name}"):
            volumes = self._volumes(ec2, [], [volume_id])
            if not volumes:
                raise AwsProviderError(f"{node.name}: data volume {volume_id} is gone")
            size = volumes[0]["Size"]
            if storage_gib < size:
                raise ValueError(
                    f"{node.name}: data volume {volume_id} has {size} GiB; EBS volumes only grow "
                    f"(asked for {storage_gib} GiB)"
                )
            if storage_gib > size:
                ec2.modify_volume(VolumeId=volume_id, Size=storage_gib, VolumeType="gp3")
                log(f"{node.name}: data volume {volume_id} {size} → {storage_gib} GiB")
            else:
                log(f"{node.name}: data volume {volume_id} already has {size} GiB")

            def settled() -> bool:
                modifications = ec2.describe_volumes_modifications(VolumeIds=[volume_id]).get(
                    "VolumesModifications", []
                )
                if not modifications:
                    return True
                latest = max(modifications, key=lambda m: m.get("StartTime") or 0)
                state = latest.get("ModificationState")
                if state == "failed":
                    raise AwsProviderError(
                        f"{node.name}: resizing volume {volume_id} failed: "
                        f"{latest.get('StatusMessage', '')}"
                    )
                # "optimizing" already serves the new size; the file system can grow now.
                return state in ("optimizing", "completed")

            self._poll(cfg, f"volume {volume_id} to take its new size", settled)

    # --- observation ------------------------------------------------------------------------------

    def describe(self, node: Node) -> NodeObservation:
        """EC2 sees machines, not processes: `running` says whether the instance runs, for both
        services, since each instance hosts one of them. Whether the broker itself is up is what its
        health reports say. Raises AwsProviderError if AWS cannot be asked (unknown is not down)."""
        account, _cfg, ec2 = self._node_context(node)
        with self._aws_errors(account, f"describing {node.name}"):
            instance = self._find_instance(ec2, node)
        running = instance is not None and instance["State"]["Name"] == "running"
        return NodeObservation(
            exists=instance is not None,
            running={"broker": running, "zookeeper": running},
        )

    def inventory_host_vars(self, node: Node) -> dict[str, Any]:
        cfg = self._settings(node.cluster.provider)
        data = node.provider_data or {}
        known_hosts_dir = Path(settings.VAR_DIR) / "ssh"
        known_hosts_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        known_hosts = known_hosts_dir / f"known_hosts-{node.pk}"
        host_vars: dict[str, Any] = {
            "ansible_host": data.get("public_ip") or data.get("private_ip") or node.host,
            "ansible_user": cfg.ssh_user,
            "ansible_become": True,
            "ansible_python_interpreter": "/usr/bin/python3",
            # A fresh VM's host key is unknown: trust it on first contact, refuse a changed one.
            # One file per node, since AWS hands released Elastic IPs out again.
            "ansible_ssh_common_args": (
                f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known_hosts}"
            ),
            "node_host": node.host,
            "node_private_ip": data.get("private_ip", ""),
            "node_dir": cfg.node_dir,
            "service_manager": "systemd",
            # The VM's own interpreter and Java, not the control plane's (host vars beat group vars).
            "dataplane_python": cfg.dataplane_python,
            "java_command": cfg.java_command,
        }
        if cfg.ssh_private_key_file:
            host_vars["ansible_ssh_private_key_file"] = cfg.ssh_private_key_file
        if data.get("data_volume_id"):
            host_vars["data_volume_id"] = data["data_volume_id"]
            host_vars["data_device"] = DATA_DEVICE
        return host_vars

    def orphans(self, known_refs: set[str]) -> list[str]:
        """Live instances tagged as a cluster's that no live node claims, in every region of the
        account."""
        account = self.account()
        found: list[str] = []
        with self._aws_errors(account, "listing instances"):
            for region in Region.objects.filter(provider=account).values_list("slug", flat=True):
                ec2 = self._client(account, region)
                instances = self._instances(
                    ec2,
                    [
                        {"Name": "tag-key", "Values": [TAG_CLUSTER]},
                        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
                    ],
                )
                found.extend(
                    i["InstanceId"] for i in instances if i["InstanceId"] not in known_refs
                )
        return sorted(found)
