"""ACLs in the control plane's words: what a binding is, how it is checked, how presets expand.

Pure logic, no Kafka client: `access.kafka` translates these bindings to the admin client's types.
Names follow Kafka's (`kafka-acls.sh`): resource types topic, group, cluster and transactional id,
pattern types literal and prefixed, operations and permissions as Kafka spells them.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from dataclasses import astuple, dataclass

from clusters.errors import InvalidInput

RESOURCE_TYPES = ("topic", "group", "cluster", "transactional_id")
PATTERN_TYPES = ("literal", "prefixed")
PERMISSIONS = ("Allow", "Deny")
OPERATIONS = (
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "DescribeConfigs",
    "AlterConfigs",
    "ClusterAction",
    "IdempotentWrite",
    "All",
)
# The operations Kafka accepts for each resource type (any other is refused, not silently useless).
OPERATIONS_BY_RESOURCE = {
    "topic": {
        "Read",
        "Write",
        "Create",
        "Delete",
        "Alter",
        "Describe",
        "DescribeConfigs",
        "AlterConfigs",
        "All",
    },
    "group": {"Read", "Describe", "Delete", "All"},
    "cluster": {
        "Create",
        "ClusterAction",
        "DescribeConfigs",
        "AlterConfigs",
        "IdempotentWrite",
        "Alter",
        "Describe",
        "All",
    },
    "transactional_id": {"Describe", "Write", "All"},
}
CLUSTER_RESOURCE_NAME = "kafka-cluster"  # the only name Kafka's cluster resource has
TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
MAX_NAME_LENGTH = 255
PRINCIPAL_PREFIX = "User:"


@dataclass(frozen=True)
class AclEntry:
    """One ACL binding: `principal` may (Allow) or may not (Deny) do `operation` from `host` on
    the resources a pattern matches."""

    resource_type: str
    pattern_type: str
    resource_name: str
    principal: str
    host: str
    operation: str
    permission: str

    @property
    def id(self) -> str:
        """A stable identifier made of the binding itself: ACLs have no id of their own in Kafka."""
        text = json.dumps(list(astuple(self)), separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def from_id(cls, acl_id: str) -> AclEntry:
        """The binding an `id` names. Raises InvalidInput for anything that is not such an id."""
        try:
            padded = acl_id + "=" * (-len(acl_id) % 4)
            fields = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
                raise ValueError(acl_id)
            return acl_entry(*fields)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise InvalidInput(f"{acl_id!r} is not an ACL id from this cluster's list.") from None

    @property
    def user_name(self) -> str:
        return self.principal.removeprefix(PRINCIPAL_PREFIX)


def acl_entry(
    resource_type: str,
    pattern_type: str,
    resource_name: str,
    principal: str,
    host: str = "*",
    operation: str = "",
    permission: str = "Allow",
) -> AclEntry:
    """A checked binding. Raises InvalidInput naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    if resource_type not in RESOURCE_TYPES:
        errors["resource_type"] = [f"One of {', '.join(RESOURCE_TYPES)}."]
    if pattern_type not in PATTERN_TYPES:
        errors["pattern_type"] = [f"One of {', '.join(PATTERN_TYPES)}."]
    if operation not in OPERATIONS:
        errors["operation"] = [f"One of {', '.join(OPERATIONS)}."]
    elif resource_type in OPERATIONS_BY_RESOURCE and (
        operation not in OPERATIONS_BY_RESOURCE[resource_type]
    ):
        allowed = ", ".join(o for o in OPERATIONS if o in OPERATIONS_BY_RESOURCE[resource_type])
        errors["operation"] = [f"A {resource_type} ACL takes one of {allowed}."]
    if permission not in PERMISSIONS:
        errors["permission"] = ["Allow or Deny."]
    if resource_type == "cluster":
        resource_name = resource_name or CLUSTER_RESOURCE_NAME
        if resource_name != CLUSTER_RESOURCE_NAME or pattern_type != "literal":
            errors["resource_name"] = [
                f"The cluster resource is the literal name {CLUSTER_RESOURCE_NAME!r}."
            ]
    elif problem := _resource_name_problem(resource_type, pattern_type, resource_name):
        errors["resource_name"] = [problem]
    if not principal.startswith(PRINCIPAL_PREFIX) or not principal[len(PRINCIPAL_PREFIX) :]:
        errors["principal"] = ["A Kafka user of this cluster, as User:<name>."]
    if host != "*":
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            errors["host"] = ["An IP address, or * for any host."]
    if errors:
        raise InvalidInput("The ACL is invalid.", field_errors=errors)
    return AclEntry(
        resource_type, pattern_type, resource_name, principal, host, operation, permission
    )


def _resource_name_problem(resource_type: str, pattern_type: str, name: str) -> str | None:
    if not name:
        return "A resource name (or prefix) is required."
    if name == "*":
        return "Prefixed patterns take a prefix, not *." if pattern_type == "prefixed" else None
    if resource_type == "topic" and not TOPIC_NAME.match(name):
        return "Topic names use up to 249 letters, digits, '.', '_' and '-'."
    if len(name) > MAX_NAME_LENGTH or not name.isprintable() or name != name.strip():
        return f"Use up to {MAX_NAME_LENGTH} printable characters without surrounding spaces."
    return None


# --- presets: the ACLs a common role needs, as Kafka's `kafka-acls.sh --producer/--consumer` ----------

PRESETS = {
    "producer": "Producer for a topic prefix: Write, Describe and Create on topics with the prefix.",
    "consumer": "Consumer for a topic prefix and a group: Read and Describe on topics with the "
    "prefix, Read on the group.",
}


def preset_entries(
    *, preset: str, principal: str, topic_prefix: str, group: str = "", host: str = "*"
) -> list[AclEntry]:
    """The bindings a preset stands for. Raises InvalidInput for an unknown preset or bad names."""
    if preset == "producer":
        operations = ("Write", "Describe", "Create")
    elif preset == "consumer":
        operations = ("Read", "Describe")
        if not group:
            raise InvalidInput(
                "A consumer needs its group.",
                field_errors={"group": ["The consumer group's name is required."]},
            )
    else:
        raise InvalidInput(
            "Unknown preset.", field_errors={"preset": [f"One of {', '.join(PRESETS)}."]}
        )
    entries = [
        _preset_entry("topic", topic_prefix, "topic_prefix", principal, host, operation)
        for operation in operations
    ]
    if preset == "consumer":
        entries.append(_preset_entry("group", group, "group", principal, host, "Read"))
    return entries


def _preset_entry(
    resource_type: str, name: str, field: str, principal: str, host: str, operation: str
) -> AclEntry:
    pattern_type = "prefixed" if resource_type == "topic" else "literal"
    try:
        return acl_entry(resource_type, pattern_type, name, principal, host, operation)
    except InvalidInput as exc:
        # The preset's form names its fields after what they hold.
        errors = {
            (field if key == "resource_name" else key): value
            for key, value in exc.field_errors.items()
        }
        raise InvalidInput(exc.message, field_errors=errors) from None
