"""Kafka's ACL authorizer as pure logic: bindings, filters, the authorize decision and the ZooKeeper format.

Semantics follow Kafka's StandardAuthorizer (same as the ZooKeeper-era AclAuthorizer):
- An ACL applies to a resource when its pattern is LITERAL with the same name, LITERAL "*", or
  PREFIXED with a prefix of the name; to a principal when it names it or "User:*"; to a host when it
  names it or "*".
- Any applicable DENY refuses, whatever ALLOWs say. DENY matches only its own operation (or All).
- An ALLOW of Read, Write, Delete or Alter also allows Describe; an ALLOW of AlterConfigs also allows
  DescribeConfigs; All allows everything.
- Super users are allowed everything, DENY ACLs included.
- When no ACL at all exists for the resource (for any principal), the answer is
  `allow_everyone_if_no_acl_found` (false by default); when ACLs exist but none allows, it is no.
- Idempotent producers (InitProducerId without a transactional id) need IdempotentWrite on the
  cluster or Write on at least one topic (`Authorizer.authorize_idempotent_write`), as KafkaApis checks.

Enum values are the int8 codes of the ACL APIs on the wire.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class AclPermissionType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
CLUSTER_NAME = "kafka-cluster"

_IMPLIES_DESCRIBE = frozenset(
    {
        AclOperation.DESCRIBE,
        AclOperation.READ,
        AclOperation.WRITE,
        AclOperation.DELETE,
        AclOperation.ALTER,
    }
)
_IMPLIES_DESCRIBE_CONFIGS = frozenset({AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS})


class InvalidAcl(ValueError):
    """A binding or filter Kafka would refuse with INVALID_REQUEST; the message says why."""


def pascal_name(member: IntEnum) -> str:
    """Kafka's SecurityUtils names: TRANSACTIONAL_ID → "TransactionalId", ALTER_CONFIGS → "AlterConfigs"."""
    return "".join(word.capitalize() for word in member.name.split("_"))


def _from_pascal(enum: type[IntEnum], name: str) -> IntEnum:
    for member in enum:
        if pascal_name(member) == name:
            return member
    return enum(0)  # UNKNOWN, as Kafka's SecurityUtils answers for a name it does not know


@dataclass(frozen=True, slots=True)
class ResourcePattern:
    resource_type: ResourceType
    name: str
    pattern_type: PatternType = PatternType.LITERAL


@dataclass(frozen=True, slots=True)
class AccessControlEntry:
    principal: str
    host: str
    operation: AclOperation
    permission: AclPermissionType


@dataclass(frozen=True, slots=True)
class AclBinding:
    pattern: ResourcePattern
    entry: AccessControlEntry


@dataclass(frozen=True, slots=True)
class ResourcePatternFilter:
    """Kafka's ResourcePatternFilter: None name matches any name; MATCH matches every pattern that
    would apply to the named resource (the literal, "*" and prefixes); ANY any pattern type."""

    resource_type: ResourceType = ResourceType.ANY
    name: str | None = None
    pattern_type: PatternType = PatternType.ANY

    def matches(self, pattern: ResourcePattern) -> bool:
        if self.resource_type not in (ResourceType.ANY, pattern.resource_type):
            return False
        if self.pattern_type not in (PatternType.ANY, PatternType.MATCH, pattern.pattern_type):
            return False
        if self.name is None:
            return True
        if self.pattern_type in (PatternType.ANY, pattern.pattern_type):
            return self.name == pattern.name
        if pattern.pattern_type == PatternType.LITERAL:
            return pattern.name in (self.name, WILDCARD)
        return self.name.startswith(pattern.name)

    @property
    def is_unknown(self) -> bool:
        return (
            self.resource_type == ResourceType.UNKNOWN or self.pattern_type == PatternType.UNKNOWN
        )


@dataclass(frozen=True, slots=True)
class AccessControlEntryFilter:
    """Kafka's AccessControlEntryFilter: None principal or host, and ANY operation or permission,
    match anything; otherwise values must be equal (no wildcard expansion)."""

    principal: str | None = None
    host: str | None = None
    operation: AclOperation = AclOperation.ANY
    permission: AclPermissionType = AclPermissionType.ANY

    def matches(self, entry: AccessControlEntry) -> bool:
        return (
            self.principal in (None, entry.principal)
            and self.host in (None, entry.host)
            and self.operation in (AclOperation.ANY, entry.operation)
            and self.permission in (AclPermissionType.ANY, entry.permission)
        )

    @property
    def is_unknown(self) -> bool:
        return (
            self.operation == AclOperation.UNKNOWN or self.permission == AclPermissionType.UNKNOWN
        )


@dataclass(frozen=True, slots=True)
class AclBindingFilter:
    pattern: ResourcePatternFilter = ResourcePatternFilter()
    entry: AccessControlEntryFilter = AccessControlEntryFilter()

    def matches(self, binding: AclBinding) -> bool:
        return self.pattern.matches(binding.pattern) and self.entry.matches(binding.entry)


MATCH_ALL = AclBindingFilter()


def parse_principal(principal: str) -> tuple[str, str]:
    """Split "Type:name" (Kafka's SecurityUtils.parseKafkaPrincipal); InvalidAcl otherwise."""
    kind, sep, name = principal.partition(":")
    if not principal or not sep:
        raise InvalidAcl(
            f"expected a string in format principalType:principalName but got {principal}"
        )
    return kind, name


def validate_binding(binding: AclBinding) -> None:
    """Refuse what Kafka's CreateAcls refuses, with Kafka's messages; InvalidAcl on failure.

    Beyond Kafka: a resource name with '/' is refused, as it cannot be a znode name under /kafka-acl.
    """
    pattern, entry = binding.pattern, binding.entry
    if pattern.resource_type in (ResourceType.UNKNOWN, ResourceType.ANY):
        raise InvalidAcl(f"Invalid resourceType {pattern.resource_type.name}")
    if pattern.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        raise InvalidAcl(f"Invalid patternType {pattern.pattern_type.name}")
    if entry.operation in (AclOperation.UNKNOWN, AclOperation.ANY):
        raise InvalidAcl(f"Invalid operation {entry.operation.name}")
    if entry.permission not in (AclPermissionType.ALLOW, AclPermissionType.DENY):
        raise InvalidAcl(f"Invalid permissionType {entry.permission.name}")
    if not pattern.name:
        raise InvalidAcl("Resource name should not be empty")
    if pattern.resource_type == ResourceType.CLUSTER and pattern.name != CLUSTER_NAME:
        raise InvalidAcl(f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}")
    if "/" in pattern.name:
        raise InvalidAcl(f"Invalid resource name {pattern.name!r}: '/' is not allowed")
    parse_principal(entry.principal)
    if not entry.host:
        raise InvalidAcl("Host should not be empty")


def validate_filter(binding_filter: AclBindingFilter) -> None:
    """Refuse filters with UNKNOWN parts, as Kafka's DeleteAcls does; InvalidAcl on failure."""
    if binding_filter.pattern.is_unknown:
        raise InvalidAcl("Unknown patternFilter.")
    if binding_filter.entry.is_unknown:
        raise InvalidAcl("Unknown entryFilter.")


class Authorizer:
    """ACL bindings indexed for the authorize decision, plus Kafka's describe/delete filter semantics.

    Literal ACLs sit in a dict keyed by (resource type, name), "*" included; prefixed ACLs in a dict
    per resource type keyed by prefix, so a decision costs one lookup per prefix of the name.
    """

    def __init__(
        self, *, super_users: Iterable[str] = (), allow_everyone_if_no_acl_found: bool = False
    ) -> None:
        self.super_users = frozenset(super_users)
        self.allow_everyone_if_no_acl_found = allow_everyone_if_no_acl_found
        self._literal: dict[tuple[ResourceType, str], set[AccessControlEntry]] = {}
        self._prefixed: dict[ResourceType, dict[str, set[AccessControlEntry]]] = defaultdict(dict)
        self._longest_prefix: dict[ResourceType, int] = defaultdict(int)

    def __len__(self) -> int:
        return sum(len(entries) for _, entries in self._sections())

    def _sections(self) -> Iterator[tuple[ResourcePattern, set[AccessControlEntry]]]:
        for (resource_type, name), entries in self._literal.items():
            yield ResourcePattern(resource_type, name, PatternType.LITERAL), entries
        for resource_type, by_prefix in self._prefixed.items():
            for prefix, entries in by_prefix.items():
                yield ResourcePattern(resource_type, prefix, PatternType.PREFIXED), entries

    def _section(self, pattern: ResourcePattern, create: bool) -> set[AccessControlEntry] | None:
        if pattern.pattern_type == PatternType.LITERAL:
            key = (pattern.resource_type, pattern.name)
            if create:
                return self._literal.setdefault(key, set())
            return self._literal.get(key)
        if pattern.pattern_type == PatternType.PREFIXED:
            by_prefix = self._prefixed[pattern.resource_type]
            if create:
                longest = max(self._longest_prefix[pattern.resource_type], len(pattern.name))
                self._longest_prefix[pattern.resource_type] = longest
                return by_prefix.setdefault(pattern.name, set())
            return by_prefix.get(pattern.name)
        raise InvalidAcl(f"Invalid patternType {pattern.pattern_type.name}")

    def _drop_if_empty(self, pattern: ResourcePattern) -> None:
        if pattern.pattern_type == PatternType.LITERAL:
            key = (pattern.resource_type, pattern.name)
            if not self._literal.get(key, True):
                del self._literal[key]
        else:
            by_prefix = self._prefixed[pattern.resource_type]
            if not by_prefix.get(pattern.name, True):
                del by_prefix[pattern.name]

    # -- changes ----------------------------------------------------------------------------------

    def add(self, binding: AclBinding) -> bool:
        """Add a binding (validated as CreateAcls would); False if it was already there."""
        validate_binding(binding)
        entries = self._section(binding.pattern, create=True)
        assert entries is not None
        if binding.entry in entries:
            return False
        entries.add(binding.entry)
        return True

    def remove(self, binding: AclBinding) -> bool:
        """Remove one binding; False if it was not there."""
        entries = self._section(binding.pattern, create=False)
        if not entries or binding.entry not in entries:
            return False
        entries.discard(binding.entry)
        self._drop_if_empty(binding.pattern)
        return True

    def set_resource(self, pattern: ResourcePattern, entries: Iterable[AccessControlEntry]) -> None:
        """Replace every ACL of one resource pattern (what a /kafka-acl znode holds) at once.

        Entries are taken as stored, unvalidated, as Kafka loads them: one with an UNKNOWN
        operation or permission (a name from a newer Kafka) never matches a request.
        """
        replacement = set(entries)
        section = self._section(pattern, create=True)
        assert section is not None
        section.clear()
        section.update(replacement)
        self._drop_if_empty(pattern)

    def acls_of(self, pattern: ResourcePattern) -> frozenset[AccessControlEntry]:
        """The ACLs stored for exactly this pattern (no wildcard or prefix expansion)."""
        return frozenset(self._section(pattern, create=False) or ())

    def bindings(self, binding_filter: AclBindingFilter = MATCH_ALL) -> list[AclBinding]:
        """Every binding the filter matches (DescribeAcls)."""
        return [
            AclBinding(pattern, entry)
            for pattern, entries in self._candidates(binding_filter.pattern)
            for entry in entries
            if binding_filter.entry.matches(entry)
        ]

    def delete(self, binding_filter: AclBindingFilter) -> list[AclBinding]:
        """Remove and return every binding the filter matches (DeleteAcls)."""
        matched = self.bindings(binding_filter)
        for binding in matched:
            self.remove(binding)
        return matched

    def _candidates(
        self, pattern_filter: ResourcePatternFilter
    ) -> list[tuple[ResourcePattern, set[AccessControlEntry]]]:
        # A MATCH filter with a name and a type is answered from the index; others scan.
        if (
            pattern_filter.pattern_type == PatternType.MATCH
            and pattern_filter.name is not None
            and pattern_filter.resource_type != ResourceType.ANY
        ):
            sections = self._applicable(pattern_filter.resource_type, pattern_filter.name)
        else:
            sections = list(self._sections())
        return [(p, entries) for p, entries in sections if pattern_filter.matches(p)]

    # -- decisions --------------------------------------------------------------------------------

    def _applicable(
        self, resource_type: ResourceType, name: str
    ) -> list[tuple[ResourcePattern, set[AccessControlEntry]]]:
        found = []
        for literal in {name, WILDCARD}:
            entries = self._literal.get((resource_type, literal))
            if entries:
                found.append((ResourcePattern(resource_type, literal), entries))
        by_prefix = self._prefixed.get(resource_type)
        if by_prefix:
            for end in range(1, min(len(name), self._longest_prefix[resource_type]) + 1):
                entries = by_prefix.get(name[:end])
                if entries:
                    pattern = ResourcePattern(resource_type, name[:end], PatternType.PREFIXED)
                    found.append((pattern, entries))
        return found

    def authorize(
        self,
        principal: str,
        host: str,
        operation: AclOperation,
        resource_type: ResourceType,
        name: str,
    ) -> bool:
        """May `principal` ("User:alice") connecting from `host` (an address) do `operation` on the
        resource `name` of `resource_type`?"""
        if principal in self.super_users:
            return True
        principals = (principal, WILDCARD_PRINCIPAL)
        allowed = False
        has_acls = False
        for _, entries in self._applicable(resource_type, name):
            has_acls = True
            for entry in entries:
                if entry.principal not in principals or entry.host not in (WILDCARD, host):
                    continue
                if entry.permission == AclPermissionType.DENY:
                    if entry.operation in (operation, AclOperation.ALL):
                        return False
                elif not allowed:
                    allowed = _allow_applies(entry.operation, operation)
        if allowed:
            return True
        return not has_acls and self.allow_everyone_if_no_acl_found

    def authorize_by_resource_type(
        self, principal: str, host: str, operation: AclOperation, resource_type: ResourceType
    ) -> bool:
        """May `principal` do `operation` on at least one resource of `resource_type`?

        Kafka's Authorizer.authorizeByResourceType: an ALLOW (of exactly this operation, or All) on
        some pattern that no DENY dominates — a DENY on the same literal, on a prefix of it, or "*".
        """
        if operation in (AclOperation.ANY, AclOperation.UNKNOWN):
            raise InvalidAcl(f"Invalid operation {operation.name}")
        if resource_type in (ResourceType.ANY, ResourceType.UNKNOWN):
            raise InvalidAcl(f"Invalid resourceType {resource_type.name}")
        # Kafka asks about a made-up name first, so super users (and the no-ACL default) pass.
        if self.authorize(principal, host, operation, resource_type, "hardcode"):
            return True
        deny: dict[PatternType, set[str]] = {
            PatternType.LITERAL: set(),
            PatternType.PREFIXED: set(),
        }
        allow: dict[PatternType, set[str]] = {
            PatternType.LITERAL: set(),
            PatternType.PREFIXED: set(),
        }
        wildcard_allow = False
        for binding in self.bindings(AclBindingFilter(ResourcePatternFilter(resource_type))):
            entry, pattern = binding.entry, binding.pattern
            if entry.host not in (WILDCARD, host):
                continue
            if entry.principal not in (principal, WILDCARD_PRINCIPAL):
                continue
            if entry.operation not in (operation, AclOperation.ALL):
                continue
            literal_wildcard = (
                pattern.pattern_type == PatternType.LITERAL and pattern.name == WILDCARD
            )
            if entry.permission == AclPermissionType.DENY:
                if literal_wildcard:
                    return False
                deny[pattern.pattern_type].add(pattern.name)
            elif literal_wildcard:
                wildcard_allow = True
            else:
                allow[pattern.pattern_type].add(pattern.name)
        if wildcard_allow:
            return True
        for pattern_type, names in allow.items():
            for name in names:
                if pattern_type == PatternType.LITERAL and name in deny[PatternType.LITERAL]:
                    continue
                if not any(
                    name[:end] in deny[PatternType.PREFIXED] for end in range(1, len(name) + 1)
                ):
                    return True
        return False

    def authorize_idempotent_write(self, principal: str, host: str) -> bool:
        """InitProducerId without a transactional id: IdempotentWrite on the cluster, or Write on
        any topic (KIP-679), as KafkaApis decides."""
        return self.authorize(
            principal, host, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME
        ) or self.authorize_by_resource_type(
            principal, host, AclOperation.WRITE, ResourceType.TOPIC
        )


def _allow_applies(granted: AclOperation, requested: AclOperation) -> bool:
    if granted == AclOperation.ALL:
        return True
    if requested == AclOperation.DESCRIBE:
        return granted in _IMPLIES_DESCRIBE
    if requested == AclOperation.DESCRIBE_CONFIGS:
        return granted in _IMPLIES_DESCRIBE_CONFIGS
    return granted == requested


# -------------------------------------------------------------------------------------------------
# ZooKeeper storage (Kafka's layout; reading and writing znodes is the caller's business)
# -------------------------------------------------------------------------------------------------

LITERAL_ACL_ROOT = "/kafka-acl"
PREFIXED_ACL_ROOT = "/kafka-acl-extended/prefixed"


def acl_znode_path(pattern: ResourcePattern) -> str:
    """`/kafka-acl/<Type>/<name>` for literal patterns, `/kafka-acl-extended/prefixed/<Type>/<name>`
    for prefixed ones (Type as Kafka names it: Topic, Group, Cluster, TransactionalId, ...)."""
    if pattern.pattern_type == PatternType.LITERAL:
        root = LITERAL_ACL_ROOT
    elif pattern.pattern_type == PatternType.PREFIXED:
        root = PREFIXED_ACL_ROOT
    else:
        raise InvalidAcl(f"Invalid patternType {pattern.pattern_type.name}")
    if pattern.resource_type in (ResourceType.UNKNOWN, ResourceType.ANY):
        raise InvalidAcl(f"Invalid resourceType {pattern.resource_type.name}")
    if not pattern.name or "/" in pattern.name:
        raise InvalidAcl(f"Invalid resource name {pattern.name!r}")
    return f"{root}/{pascal_name(pattern.resource_type)}/{pattern.name}"


def parse_acl_znode_path(path: str) -> ResourcePattern:
    """Inverse of acl_znode_path; InvalidAcl for a path outside Kafka's ACL layout."""
    for root, pattern_type in (
        (PREFIXED_ACL_ROOT, PatternType.PREFIXED),
        (LITERAL_ACL_ROOT, PatternType.LITERAL),
    ):
        if path.startswith(root + "/"):
            kind, sep, name = path[len(root) + 1 :].partition("/")
            resource_type = _from_pascal(ResourceType, kind)
            if (
                sep
                and name
                and "/" not in name
                and resource_type
                not in (
                    ResourceType.UNKNOWN,
                    ResourceType.ANY,
                )
            ):
                return ResourcePattern(ResourceType(resource_type), name, pattern_type)
    raise InvalidAcl(f"not an ACL znode path: {path}")


def format_acl_znode(entries: Iterable[AccessControlEntry]) -> bytes:
    """Kafka's ResourceZNode JSON: {"version":1,"acls":[{"principal","permissionType","operation","host"}]}."""
    acls = [
        {
            "principal": entry.principal,
            "permissionType": pascal_name(entry.permission),
            "operation": pascal_name(entry.operation),
            "host": entry.host,
        }
        for entry in sorted(entries, key=_entry_order)
    ]
    return json.dumps({"version": 1, "acls": acls}).encode()


def _entry_order(entry: AccessControlEntry) -> tuple:
    return (entry.principal, entry.host, entry.operation, entry.permission)


def parse_acl_znode(data: bytes | None) -> set[AccessControlEntry]:
    """The ACLs of one resource znode (empty for no data, as Kafka reads it).

    Raises InvalidAcl for JSON that is not version 1 of Kafka's format. Names Kafka does not know
    read as UNKNOWN, as Kafka reads them; such entries never match a request.
    """
    if not data:
        return set()
    try:
        document = json.loads(data)
        if document.get("version") != 1:
            raise InvalidAcl(f"unsupported ACL znode version {document.get('version')!r}")
        entries = set()
        for item in document["acls"]:
            principal = item["principal"]
            parse_principal(principal)
            entries.add(
                AccessControlEntry(
                    principal=principal,
                    host=item["host"],
                    operation=AclOperation(_from_pascal(AclOperation, item["operation"])),
                    permission=AclPermissionType(
                        _from_pascal(AclPermissionType, item["permissionType"])
                    ),
                )
            )
        return entries
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, KeyError, TypeError) as exc:
        raise InvalidAcl(f"malformed ACL znode: {exc!r}") from None
