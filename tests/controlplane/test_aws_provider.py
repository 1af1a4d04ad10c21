"""The AWS provider against moto in server mode: network, firewall, instances and volumes of a cluster,
a roll of instance types, storage growth, deletion down to nothing, idempotent re-runs, and no
credentials in any log.

The provider works on Django models: these tests use the suite's in-process Django on a migrated
PostgreSQL database of its own (`django_db`, which also seeds the catalogue); no web server or worker
is needed. moto runs as a server process (`moto_server`).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.support.moto_server import MotoServer

REGION = "us-east-1"
ADMIN_CIDRS = ["198.51.100.0/24"]
CLIENT_CIDRS = ["203.0.113.0/24", "192.0.2.10/32"]
BROKER_PORT = 9092
INTERNAL_PORT = 9093
LIVE = ["pending", "running", "stopping", "stopped", "shutting-down"]


@pytest.fixture(scope="module")
def seeded_aws(django_db: str) -> dict[str, Any]:
    """The AWS provider row as the migrations seeded it, before this module changes it."""
    from clusters.models import Provider

    return Provider.objects.filter(slug="aws").values().get()


@pytest.fixture(scope="module")
def credentials() -> dict[str, str]:
    return {
        "access_key_id": "AKIA" + secrets.token_hex(8).upper(),
        "secret_access_key": secrets.token_urlsafe(30),
    }


@pytest.fixture(scope="module")
def ec2(moto_server: MotoServer, credentials: dict[str, str]) -> Any:
    """The test's own view of the same EC2 (same account as the provider's)."""
    return boto3.session.Session(
        aws_access_key_id=credentials["access_key_id"],
        aws_secret_access_key=credentials["secret_access_key"],
        region_name=REGION,
    ).client("ec2", endpoint_url=moto_server.url)


@pytest.fixture(scope="module")
def aws_account(
    seeded_aws: dict[str, Any], moto_server: MotoServer, credentials: dict, ec2: Any
) -> Iterator[Any]:
    """The seeded AWS provider account, pointed at moto and given credentials, an image and a key;
    put back as seeded afterwards, since the database is the session's."""
    from clusters.models import Provider

    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_key_pair(KeyName="streamplane-test")
    account = Provider.objects.get(slug="aws")
    account.config = {
        **account.config,
        "endpoint_url": moto_server.url,
        "image_id": {REGION: image_id},
        "key_name": "streamplane-test",
        "admin_cidrs": ADMIN_CIDRS,
        "waiter_delay_s": 0.05,
        "waiter_timeout_s": 30,
    }
    account.set_credentials(credentials)
    account.enabled = True
    account.save()
    yield account
    Provider.objects.filter(pk=account.pk).update(
        config=seeded_aws["config"],
        credentials_encrypted=seeded_aws["credentials_encrypted"],
        enabled=seeded_aws["enabled"],
    )


@pytest.fixture(scope="module")
def organisation(django_db: str) -> Any:
    from clusters.models import Organisation

    return Organisation.objects.create(name=f"aws-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def make_cluster(aws_account: Any, organisation: Any) -> Any:
    from clusters.models import Cluster, DataplaneVersion, Node, NodeRole, NodeSize, Region

    def make(
        brokers: int = 3,
        zookeepers: int = 3,
        size: str = "kafka-m5-large",
        storage_gib: int = 150,
        allowed_cidrs: list[str] | None = None,
        security_protocol: str = "SASL_SSL",
    ) -> Cluster:
        cluster = Cluster.objects.create(
            organisation=organisation,
            name=f"c-{uuid.uuid4().hex[:10]}",
            provider=aws_account,
            region=Region.objects.get(provider=aws_account, slug=REGION),
            node_size=NodeSize.objects.get(provider=aws_account, slug=size),
            dataplane_version=DataplaneVersion.objects.get(is_default=True),
            broker_count=brokers,
            zookeeper_count=zookeepers,
            default_replication_factor=min(3, brokers),
            storage_gib=storage_gib,
            allowed_cidrs=CLIENT_CIDRS if allowed_cidrs is None else allowed_cidrs,
            security_protocol=security_protocol,
            created_by="test",
        )
        Node.objects.bulk_create(
            [Node(cluster=cluster, role=NodeRole.ZOOKEEPER, index=i) for i in range(zookeepers)]
            + [Node(cluster=cluster, role=NodeRole.BROKER, index=i) for i in range(brokers)]
        )
        return cluster

    return make


@pytest.fixture
def provider() -> Any:
    from provisioning.providers import get_provider

    return get_provider("aws")


@pytest.fixture
def step_log() -> list[str]:
    return []


def nodes(cluster: Any, role: str | None = None) -> list[Any]:
    queryset = cluster.nodes.all()
    if role:
        queryset = queryset.filter(role=role)
    return list(queryset.order_by("role", "index"))


def tagged(cluster: Any) -> list[dict[str, Any]]:
    return [{"Name": "tag:streamplane:cluster", "Values": [str(cluster.pk)]}]


def live_instances(ec2: Any, cluster: Any) -> dict[str, dict[str, Any]]:
    reservations = ec2.describe_instances(
        Filters=[*tagged(cluster), {"Name": "instance-state-name", "Values": LIVE}]
    )["Reservations"]
    return {i["InstanceId"]: i for r in reservations for i in r["Instances"]}


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def resource_ids(ec2: Any, cluster: Any) -> dict[str, set[str]]:
    """Every resource tagged as the cluster's, by kind."""
    mine = tagged(cluster)
    return {
        "vpcs": {v["VpcId"] for v in ec2.describe_vpcs(Filters=mine)["Vpcs"]},
        "subnets": {s["SubnetId"] for s in ec2.describe_subnets(Filters=mine)["Subnets"]},
        "groups": {
            g["GroupId"] for g in ec2.describe_security_groups(Filters=mine)["SecurityGroups"]
        },
        "gateways": {
            g["InternetGatewayId"]
            for g in ec2.describe_internet_gateways(Filters=mine)["InternetGateways"]
        },
        "route_tables": {
            t["RouteTableId"] for t in ec2.describe_route_tables(Filters=mine)["RouteTables"]
        },
        "instances": set(live_instances(ec2, cluster)),
        "volumes": {v["VolumeId"] for v in ec2.describe_volumes(Filters=mine)["Volumes"]},
        "addresses": {a["AllocationId"] for a in ec2.describe_addresses(Filters=mine)["Addresses"]},
    }


def ingress_rules(group: dict[str, Any]) -> set[tuple]:
    rules = set()
    for perm in group["IpPermissions"]:
        key = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
        rules |= {(*key, r["CidrIp"]) for r in perm.get("IpRanges", [])}
        rules |= {(*key, r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])}
        rules |= {(*key, r["GroupId"]) for r in perm.get("UserIdGroupPairs", [])}
        rules |= {(*key, r["PrefixListId"]) for r in perm.get("PrefixListIds", [])}
    return rules


def expected_rules(group_id: str, client_cidrs: list[str], secured: bool = True) -> set[tuple]:
    """Clients reach the client port from their networks only; brokers and the control plane use
    the internal port (SASL_SSL) or the client port (PLAINTEXT)."""
    internal = INTERNAL_PORT if secured else BROKER_PORT
    return (
        {("tcp", BROKER_PORT, BROKER_PORT, cidr) for cidr in client_cidrs}
        | {("tcp", port, port, group_id) for port in (internal, 2181, 2888, 3888)}
        | {("tcp", 22, 22, cidr) for cidr in ADMIN_CIDRS}
        | {("tcp", port, port, cidr) for port in (internal, 9404) for cidr in ADMIN_CIDRS}
    )


def destroy(provider: Any, cluster: Any, log: Any) -> None:
    """What the delete workflow does: every node, then what they shared."""
    for node in nodes(cluster):
        provider.destroy_node(node, log)
    provider.release_cluster(cluster, log)


# --- tests ---------------------------------------------------------------------------------------


def test_create_builds_network_firewall_instances_and_volumes(
    make_cluster: Any, provider: Any, ec2: Any, step_log: list[str]
) -> None:
    cluster = make_cluster(brokers=3, zookeepers=3, storage_gib=150)
    provider.create_nodes(cluster, nodes(cluster), step_log.append)
    cluster.refresh_from_db()

    data = cluster.provider_data
    assert set(data) == {
        "vpc_id",
        "subnet_id",
        "security_group_id",
        "internet_gateway_id",
        "route_table_id",
    }
    group = ec2.describe_security_groups(GroupIds=[data["security_group_id"]])["SecurityGroups"][0]
    assert group["VpcId"] == data["vpc_id"]
    assert ingress_rules(group) == expected_rules(group["GroupId"], CLIENT_CIDRS)

    subnet = ec2.describe_subnets(SubnetIds=[data["subnet_id"]])["Subnets"][0]
    assert subnet["VpcId"] == data["vpc_id"]
    table = ec2.describe_route_tables(RouteTableIds=[data["route_table_id"]])["RouteTables"][0]
    assert {a["SubnetId"] for a in table["Associations"] if not a.get("Main")} == {
        subnet["SubnetId"]
    }
    assert any(
        r.get("DestinationCidrBlock") == "0.0.0.0/0"
        and r.get("GatewayId") == data["internet_gateway_id"]
        for r in table["Routes"]
    )

    instances = live_instances(ec2, cluster)
    assert len(instances) == 6
    for node in nodes(cluster):
        instance = instances[node.provider_ref]
        assert instance["State"]["Name"] == "running"
        assert instance["InstanceType"] == "m5.large"
        assert instance["SubnetId"] == data["subnet_id"]
        assert [g["GroupId"] for g in instance["SecurityGroups"]] == [group["GroupId"]]
        assert instance["KeyName"] == "streamplane-test"
        tags = tags_of(instance)
        assert tags["streamplane:cluster"] == str(cluster.pk)
        assert tags["streamplane:node"] == str(node.pk)
        assert tags["Name"] == node.name
        assert node.status == "provisioning"
        assert node.provider_data["private_ip"] == instance["PrivateIpAddress"]
        # Every node has its Elastic IP, so a stop/start keeps the address.
        address = ec2.describe_addresses(
            Filters=[{"Name": "instance-id", "Values": [node.provider_ref]}]
        )["Addresses"]
        assert [a["AllocationId"] for a in address] == [node.provider_data["allocation_id"]]
        assert instance["PublicIpAddress"] == address[0]["PublicIp"]
        if node.role == "broker":
            assert (node.host, node.port) == (instance["PublicDnsName"], BROKER_PORT)
            assert node.host
            volume = ec2.describe_volumes(VolumeIds=[node.provider_data["data_volume_id"]])[
                "Volumes"
            ][0]
            assert (volume["VolumeType"], volume["Size"]) == ("gp3", 150)
            assert volume["Attachments"][0]["InstanceId"] == node.provider_ref
            assert tags_of(volume)["streamplane:node"] == str(node.pk)
            assert tags_of(volume)["streamplane:cluster"] == str(cluster.pk)
        else:
            assert (node.host, node.port) == (instance["PrivateIpAddress"], 2181)
            assert "data_volume_id" not in node.provider_data
    assert any("launched" in line for line in step_log)


def test_no_allowed_cidrs_opens_the_client_port_to_nothing_outside(
    make_cluster: Any, provider: Any, ec2: Any
) -> None:
    cluster = make_cluster(brokers=1, zookeepers=1, allowed_cidrs=[])
    provider.create_nodes(cluster, nodes(cluster), lambda line: None)
    cluster.refresh_from_db()
    group_id = cluster.provider_data["security_group_id"]
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert ingress_rules(group) == expected_rules(group_id, [])


def test_a_plaintext_cluster_keeps_brokers_and_control_plane_on_the_client_port(
    make_cluster: Any, provider: Any, ec2: Any
) -> None:
    cluster = make_cluster(brokers=1, zookeepers=1, security_protocol="PLAINTEXT")
    provider.create_nodes(cluster, nodes(cluster), lambda line: None)
    cluster.refresh_from_db()
    group_id = cluster.provider_data["security_group_id"]
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert ingress_rules(group) == expected_rules(group_id, CLIENT_CIDRS, secured=False)
    assert all(rule[1] != INTERNAL_PORT for rule in ingress_rules(group))


def test_firewall_follows_allowed_cidrs(make_cluster: Any, provider: Any, ec2: Any) -> None:
    cluster = make_cluster(brokers=1, zookeepers=1)
    provider.create_nodes(cluster, nodes(cluster), lambda line: None)
    cluster.refresh_from_db()
    group_id = cluster.provider_data["security_group_id"]
    # Someone opened a port by hand: the next sync takes it away again.
    ec2.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    cluster.allowed_cidrs = ["10.9.0.0/16"]
    cluster.save(update_fields=["allowed_cidrs"])
    log: list[str] = []
    provider.update_firewall(cluster, log.append)
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert ingress_rules(group) == expected_rules(group_id, ["10.9.0.0/16"])
    assert any("revoked 3 rule(s)" in line for line in log), log


def test_create_twice_and_after_a_crash_makes_nothing_new(
    make_cluster: Any, provider: Any, ec2: Any
) -> None:
    from clusters.models import Node

    cluster = make_cluster(brokers=2, zookeepers=1)
    provider.create_nodes(cluster, nodes(cluster), lambda line: None)
    before = resource_ids(ec2, cluster)
    addresses = {n.pk: (n.provider_ref, n.host) for n in nodes(cluster)}

    log: list[str] = []
    provider.create_nodes(cluster, nodes(cluster), log.append)
    assert resource_ids(ec2, cluster) == before
    assert all("already at" in line for line in log if "b0" in line or "b1" in line)

    # A worker that died after the launches but before anything was written down: the ids are
    # lost, the tags are not.
    Node.objects.filter(cluster=cluster).update(
        host="", port=None, provider_ref="", provider_data={}
    )
    cluster.provider_data = {}
    cluster.save(update_fields=["provider_data"])
    log.clear()
    provider.create_nodes(cluster, nodes(cluster), log.append)
    cluster.refresh_from_db()
    assert resource_ids(ec2, cluster) == before
    assert {n.pk: (n.provider_ref, n.host) for n in nodes(cluster)} == addresses
    assert set(cluster.provider_data.values()) <= set().union(*before.values())
    assert not any("launched" in line or "created" in line for line in log), log


def test_resize_changes_one_broker_at_a_time(
    make_cluster: Any, provider: Any, ec2: Any, step_log: list[str]
) -> None:
    from clusters.models import NodeSize

    cluster = make_cluster(brokers=3, zookeepers=1)
    provider.create_nodes(cluster, nodes(cluster), step_log.append)
    bigger = NodeSize.objects.get(provider=cluster.provider, slug="kafka-m5-xlarge")
    brokers = nodes(cluster, "broker")
    hosts = {n.pk: n.host for n in nodes(cluster)}
    zookeeper = nodes(cluster, "zookeeper")[0]

    for done, broker in enumerate(brokers, start=1):
        provider.resize_node(broker, bigger, step_log.append)
        instances = live_instances(ec2, cluster)
        types = {n.index: instances[n.provider_ref]["InstanceType"] for n in brokers}
        assert types == {
            n.index: "m5.xlarge" if i < done else "m5.large" for i, n in enumerate(brokers)
        }
        assert instances[zookeeper.provider_ref]["InstanceType"] == "m5.large"
        assert {i["State"]["Name"] for i in instances.values()} == {"running"}
        # The Elastic IP stays: bootstrap servers do not change under a roll.
        assert {n.pk: n.host for n in nodes(cluster)} == hosts

    # Again (a resumed step): nothing to do.
    step_log.clear()
    provider.resize_node(brokers[0], bigger, step_log.append)
    assert step_log == [f"{brokers[0].name}: {brokers[0].provider_ref} already runs as m5.xlarge"]


def test_expand_storage_grows_the_data_volume_only(
    make_cluster: Any, provider: Any, ec2: Any
) -> None:
    cluster = make_cluster(brokers=2, zookeepers=1, storage_gib=100)
    provider.create_nodes(cluster, nodes(cluster), lambda line: None)
    broker, other = nodes(cluster, "broker")
    log: list[str] = []
    provider.expand_storage(broker, 250, log.append)

    def size(node: Any) -> int:
        volume_id = node.provider_data["data_volume_id"]
        volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
        assert volume["VolumeType"] == "gp3"
        return volume["Size"]

    assert (size(broker), size(other)) == (250, 100)
    modifications = ec2.describe_volumes_modifications(
        VolumeIds=[broker.provider_data["data_volume_id"]]
    )["VolumesModifications"]
    assert [m["TargetSize"] for m in modifications] == [250]

    provider.expand_storage(broker, 250, log.append)  # a re-run changes nothing
    assert (
        len(
            ec2.describe_volumes_modifications(VolumeIds=[broker.provider_data["data_volume_id"]])[
                "VolumesModifications"
            ]
        )
        == 1
    )
    with pytest.raises(ValueError, match="only grow"):
        provider.expand_storage(broker, 200, log.append)
    assert size(broker) == 250


def test_delete_leaves_nothing_and_runs_twice(
    make_cluster: Any, provider: Any, ec2: Any, step_log: list[str]
) -> None:
    cluster = make_cluster(brokers=3, zookeepers=3)
    provider.create_nodes(cluster, nodes(cluster), step_log.append)
    cluster.refresh_from_db()
    vpc_id = cluster.provider_data["vpc_id"]
    created = resource_ids(ec2, cluster)
    assert all(created.values()), created

    # Deleting the network while instances remain is refused, with the reason.
    from provisioning.providers.aws import AwsProviderError

    with pytest.raises(AwsProviderError, match="destroy its nodes first"):
        provider.release_cluster(cluster, step_log.append)

    destroy(provider, cluster, step_log.append)
    destroy(provider, cluster, step_log.append)  # already gone is fine

    assert resource_ids(ec2, cluster) == {kind: set() for kind in created}
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    assert ec2.describe_vpcs(Filters=in_vpc)["Vpcs"] == []
    assert ec2.describe_subnets(Filters=in_vpc)["Subnets"] == []
    assert ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"] == []
    # Terminated instances stay visible for a while (in AWS too); nothing else may.
    reservations = ec2.describe_instances(
        Filters=[*in_vpc, {"Name": "instance-state-name", "Values": LIVE}]
    )["Reservations"]
    assert [i for r in reservations for i in r["Instances"]] == []
    states = {
        i["State"]["Name"]
        for r in ec2.describe_instances(Filters=tagged(cluster))["Reservations"]
        for i in r["Instances"]
    }
    assert states <= {"terminated"}
    assert set(created["volumes"]).isdisjoint(
        v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]
    )
    cluster.refresh_from_db()
    assert cluster.provider_data == {}


def test_private_network_has_no_gateway_and_private_addresses(
    make_cluster: Any, provider: Any, ec2: Any, aws_account: Any
) -> None:
    config = dict(aws_account.config)
    aws_account.config = {**config, "public_network": False}
    aws_account.save(update_fields=["config"])
    try:
        cluster = make_cluster(brokers=1, zookeepers=1)
        provider.create_nodes(cluster, nodes(cluster), lambda line: None)
        cluster.refresh_from_db()
        assert set(cluster.provider_data) == {"vpc_id", "subnet_id", "security_group_id"}
        ids = resource_ids(ec2, cluster)
        assert ids["gateways"] == ids["route_tables"] == ids["addresses"] == set()
        instances = live_instances(ec2, cluster)
        for node in nodes(cluster):
            assert node.host == instances[node.provider_ref]["PrivateIpAddress"]
            assert "PublicIpAddress" not in instances[node.provider_ref]
            assert provider.inventory_host_vars(node)["ansible_host"] == node.host
        destroy(provider, cluster, lambda line: None)
        assert resource_ids(ec2, cluster) == {kind: set() for kind in ids}
    finally:
        aws_account.config = config
        aws_account.save(update_fields=["config"])


def test_describe_inventory_and_orphans(make_cluster: Any, provider: Any, ec2: Any) -> None:
    from django.conf import settings

    from clusters.models import Node

    cluster = make_cluster(brokers=1, zookeepers=1)
    provider.create_nodes(cluster, nodes(cluster), lambda line: None)
    [broker], [zookeeper] = nodes(cluster, "broker"), nodes(cluster, "zookeeper")

    assert provider.describe(broker).exists
    assert provider.describe(broker).running == {"broker": True, "zookeeper": True}
    ec2.stop_instances(InstanceIds=[broker.provider_ref])
    assert provider.describe(broker).running == {"broker": False, "zookeeper": False}
    ec2.start_instances(InstanceIds=[broker.provider_ref])

    host_vars = provider.inventory_host_vars(broker)
    assert host_vars == {
        "ansible_host": broker.provider_data["public_ip"],
        "ansible_user": "admin",
        "ansible_become": True,
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new "
        f"-o UserKnownHostsFile={settings.VAR_DIR}/ssh/known_hosts-{broker.pk}",
        "node_host": broker.host,
        "node_private_ip": broker.provider_data["private_ip"],
        "node_dir": "/var/lib/streamplane",
        "service_manager": "systemd",
        "dataplane_python": "/opt/streamplane/venv/bin/python",
        "java_command": "java",
        "data_volume_id": broker.provider_data["data_volume_id"],
        "data_device": "/dev/sdf",
    }
    assert "data_volume_id" not in provider.inventory_host_vars(zookeeper)

    known = set(
        Node.objects.exclude(status="destroyed")
        .exclude(provider_ref="")
        .values_list("provider_ref", flat=True)
    )
    assert broker.provider_ref not in provider.orphans(known)
    # A node row that vanished leaves its instance behind: that is an orphan.
    assert provider.orphans(known - {broker.provider_ref}) == [broker.provider_ref]

    destroy(provider, cluster, lambda line: None)
    observed = provider.describe(broker)
    assert not observed.exists
    assert observed.running == {"broker": False, "zookeeper": False}


def test_credentials_never_logged(
    make_cluster: Any,
    provider: Any,
    aws_account: Any,
    credentials: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from clusters.models import NodeSize
    from provisioning.providers.aws import AwsProvider, AwsProviderError

    caplog.set_level(logging.DEBUG)
    log: list[str] = []
    cluster = make_cluster(brokers=1, zookeepers=1)
    provider.create_nodes(cluster, nodes(cluster), log.append)
    broker = nodes(cluster, "broker")[0]
    provider.resize_node(
        broker, NodeSize.objects.get(provider=aws_account, slug="kafka-m5-xlarge"), log.append
    )
    provider.expand_storage(broker, 300, log.append)
    destroy(provider, cluster, log.append)

    # A failing call: AWS refuses a VPC wider than /16; the error names the problem, not the keys.
    config = dict(aws_account.config)
    aws_account.config = {**config, "vpc_cidr": "10.0.0.0/8"}
    aws_account.save(update_fields=["config"])
    try:
        broken = make_cluster(brokers=1, zookeepers=1)
        with pytest.raises(AwsProviderError) as failure:
            AwsProvider().create_nodes(broken, nodes(broken), log.append)
        destroy(provider, broken, log.append)
    finally:
        aws_account.config = config
        aws_account.save(update_fields=["config"])
    assert "InvalidVpc.Range" in str(failure.value)

    captured = "\n".join(
        [*log, str(failure.value), *(r.getMessage() for r in caplog.records), caplog.text]
    )
    assert len(log) > 10 and len(caplog.records) > 10  # something was logged at all
    # botocore's debug records were there (the signed requests) but carried no credential.
    assert any(r.name == "botocore.endpoint" for r in caplog.records)
    assert "Credential=[redacted]/" in caplog.text
    for name, secret in credentials.items():
        assert secret not in captured, f"{name} appears in the logs"


def test_price_change_matches_the_catalogue(make_cluster: Any, aws_account: Any) -> None:
    from clusters.models import NodeSize
    from clusters.pricing import hourly_price, price_change

    cluster = make_cluster(brokers=3, zookeepers=3, storage_gib=150)
    large = NodeSize.objects.get(provider=aws_account, slug="kafka-m5-large")
    xlarge = NodeSize.objects.get(provider=aws_account, slug="kafka-m5-xlarge")
    per_gib_hour = aws_account.storage_gib_hourly_price
    assert (large.instance_type, xlarge.instance_type) == ("m5.large", "m5.xlarge")
    assert per_gib_hour == Decimal("0.000110")  # gp3: $0.08 per GiB-month over 730 hours

    now = 3 * (large.hourly_price + (150 - large.disk_gib) * per_gib_hour)
    assert hourly_price(cluster) == now
    # Resize: same storage (now within the bigger size's own disk).
    # (price_change answers as plans show it, a string; compare values.)
    assert Decimal(price_change(cluster, node_size=xlarge)) == 3 * xlarge.hourly_price - now
    # Resize, scale out and grow storage at once.
    after = 5 * (xlarge.hourly_price + (300 - xlarge.disk_gib) * per_gib_hour)
    change = price_change(cluster, node_size=xlarge, broker_count=5, storage_gib=300)
    assert Decimal(change) == after - now
    assert after - now == Decimal("1.5085")


def test_seeding_again_changes_nothing(aws_account: Any) -> None:
    from clusters.catalogue import seed_aws, seed_catalogue
    from clusters.models import NodeSize, Provider, Region

    before = (
        list(Provider.objects.order_by("pk").values()),
        list(Region.objects.order_by("pk").values()),
        list(NodeSize.objects.order_by("pk").values()),
    )
    seed_catalogue()
    seed_aws()
    after = (
        list(Provider.objects.order_by("pk").values()),
        list(Region.objects.order_by("pk").values()),
        list(NodeSize.objects.order_by("pk").values()),
    )
    assert after == before
    assert {s.slug: s.instance_type for s in NodeSize.objects.filter(provider__slug="aws")} == {
        "kafka-m5-large": "m5.large",
        "kafka-m5-xlarge": "m5.xlarge",
        "kafka-m5-2xlarge": "m5.2xlarge",
    }
    assert set(Region.objects.filter(provider__slug="aws").values_list("slug", flat=True)) == {
        "us-east-1",
        "eu-west-1",
    }


def test_the_seeded_aws_provider_starts_disabled(seeded_aws: dict[str, Any]) -> None:
    """A fresh install has the AWS account, off until an operator gives it credentials."""
    seeded = seeded_aws
    assert seeded["enabled"] is False
    assert seeded["credentials_encrypted"] == ""
    assert seeded["storage_gib_hourly_price"] == Decimal("0.000110")
    assert seeded["config"] == {"ssh_user": "admin", "admin_cidrs": [], "public_network": True}
