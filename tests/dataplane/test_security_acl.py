"""Kafka's ACL authorizer semantics, describe/delete filters and the ZooKeeper storage format."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataplane.security.acl import (
    CLUSTER_NAME,
    AccessControlEntry,
    AccessControlEntryFilter,
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    Authorizer,
    InvalidAcl,
    PatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    acl_znode_path,
    format_acl_znode,
    parse_acl_znode,
    parse_acl_znode_path,
    validate_filter,
)

Op = AclOperation
ALLOW, DENY = AclPermissionType.ALLOW, AclPermissionType.DENY
TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LITERAL, PREFIXED = PatternType.LITERAL, PatternType.PREFIXED
ALICE, BOB = "User:alice", "User:bob"
HOST = "10.0.0.5"


def binding(
    principal: str,
    operation: AclOperation,
    resource_type: ResourceType,
    name: str,
    pattern_type: PatternType = LITERAL,
    permission: AclPermissionType = ALLOW,
    host: str = "*",
) -> AclBinding:
    return AclBinding(
        ResourcePattern(resource_type, name, pattern_type),
        AccessControlEntry(principal, host, operation, permission),
    )


def authorizer(*bindings: AclBinding, **kwargs) -> Authorizer:
    auth = Authorizer(**kwargs)
    for b in bindings:
        assert auth.add(b)
    return auth


def test_prefixed_write_matrix() -> None:
    auth = authorizer(binding(ALICE, Op.WRITE, TOPIC, "orders-", PREFIXED))
    assert auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders-1")
    assert auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders-")
    assert not auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders")
    assert not auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "payments")
    assert auth.authorize(ALICE, HOST, Op.DESCRIBE, TOPIC, "orders-1")  # implied by Write
    assert not auth.authorize(ALICE, HOST, Op.READ, TOPIC, "orders-1")
    assert not auth.authorize(ALICE, HOST, Op.DESCRIBE_CONFIGS, TOPIC, "orders-1")
    assert not auth.authorize(BOB, HOST, Op.WRITE, TOPIC, "orders-1")
    assert not auth.authorize(ALICE, HOST, Op.WRITE, GROUP, "orders-1")


@pytest.mark.parametrize(
    ("granted", "implied"),
    [
        (Op.READ, {Op.READ, Op.DESCRIBE}),
        (Op.WRITE, {Op.WRITE, Op.DESCRIBE}),
        (Op.DELETE, {Op.DELETE, Op.DESCRIBE}),
        (Op.ALTER, {Op.ALTER, Op.DESCRIBE}),
        (Op.DESCRIBE, {Op.DESCRIBE}),
        (Op.CREATE, {Op.CREATE}),
        (Op.ALTER_CONFIGS, {Op.ALTER_CONFIGS, Op.DESCRIBE_CONFIGS}),
        (Op.DESCRIBE_CONFIGS, {Op.DESCRIBE_CONFIGS}),
        (Op.CLUSTER_ACTION, {Op.CLUSTER_ACTION}),
        (Op.IDEMPOTENT_WRITE, {Op.IDEMPOTENT_WRITE}),
        (Op.ALL, set(Op) - {Op.UNKNOWN, Op.ANY}),
    ],
)
def test_implied_operations(granted: AclOperation, implied: set[AclOperation]) -> None:
    auth = authorizer(binding(ALICE, granted, TOPIC, "t"))
    for operation in set(Op) - {Op.UNKNOWN, Op.ANY, Op.ALL}:
        expected = operation in implied
        assert auth.authorize(ALICE, HOST, operation, TOPIC, "t") is expected, operation


def test_deny_implies_nothing_but_all_denies_everything() -> None:
    auth = authorizer(
        binding(ALICE, Op.ALL, TOPIC, "t"), binding(ALICE, Op.READ, TOPIC, "t", permission=DENY)
    )
    assert not auth.authorize(ALICE, HOST, Op.READ, TOPIC, "t")
    assert auth.authorize(
        ALICE, HOST, Op.DESCRIBE, TOPIC, "t"
    )  # a Read DENY is not a Describe DENY
    auth.add(binding(ALICE, Op.ALL, TOPIC, "t", permission=DENY))
    assert not auth.authorize(ALICE, HOST, Op.DESCRIBE, TOPIC, "t")


def test_deny_on_a_literal_beats_allow_on_a_prefix() -> None:
    auth = authorizer(
        binding(ALICE, Op.WRITE, TOPIC, "orders-", PREFIXED),
        binding(ALICE, Op.WRITE, TOPIC, "orders-secret", permission=DENY),
    )
    assert auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders-1")
    assert not auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders-secret")
    assert auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders-secret-2")  # literal, not a prefix


def test_deny_on_a_prefix_beats_allow_on_a_literal_and_a_shorter_prefix() -> None:
    auth = authorizer(
        binding(ALICE, Op.READ, TOPIC, "o", PREFIXED),
        binding(ALICE, Op.READ, TOPIC, "orders-eu-1"),
        binding(ALICE, Op.READ, TOPIC, "orders-eu", PREFIXED, permission=DENY),
    )
    assert auth.authorize(ALICE, HOST, Op.READ, TOPIC, "orders-us-1")
    assert not auth.authorize(ALICE, HOST, Op.READ, TOPIC, "orders-eu-1")


def test_wildcard_principal_and_resource() -> None:
    auth = authorizer(binding("User:*", Op.READ, TOPIC, "*"))
    assert auth.authorize(ALICE, HOST, Op.READ, TOPIC, "anything")
    assert auth.authorize(BOB, HOST, Op.DESCRIBE, TOPIC, "else")
    assert not auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "anything")
    assert not auth.authorize(ALICE, HOST, Op.READ, GROUP, "anything")
    # A "*" prefix is a literal asterisk prefix, not a wildcard.
    auth = authorizer(binding(ALICE, Op.READ, TOPIC, "*", PREFIXED))
    assert not auth.authorize(ALICE, HOST, Op.READ, TOPIC, "t")
    assert auth.authorize(ALICE, HOST, Op.READ, TOPIC, "*t")
    # Only User:* is a wildcard; other principal types match literally.
    auth = authorizer(binding("Group:*", Op.READ, TOPIC, "t"))
    assert not auth.authorize(ALICE, HOST, Op.READ, TOPIC, "t")


def test_wildcard_deny_beats_specific_allow() -> None:
    auth = authorizer(
        binding(ALICE, Op.READ, TOPIC, "t"),
        binding("User:*", Op.READ, TOPIC, "*", permission=DENY),
    )
    assert not auth.authorize(ALICE, HOST, Op.READ, TOPIC, "t")


def test_super_users_bypass_even_deny() -> None:
    auth = authorizer(
        binding("User:admin", Op.ALL, TOPIC, "*", permission=DENY), super_users=["User:admin"]
    )
    assert auth.authorize("User:admin", HOST, Op.DELETE, TOPIC, "t")
    assert auth.authorize("User:admin", HOST, Op.CLUSTER_ACTION, CLUSTER, CLUSTER_NAME)
    assert not auth.authorize(ALICE, HOST, Op.DELETE, TOPIC, "t")


def test_hosts() -> None:
    auth = authorizer(
        binding(ALICE, Op.READ, TOPIC, "t", host=HOST),
        binding(BOB, Op.READ, TOPIC, "t"),
        binding(BOB, Op.READ, TOPIC, "t", permission=DENY, host="10.0.0.66"),
    )
    assert auth.authorize(ALICE, HOST, Op.READ, TOPIC, "t")
    assert not auth.authorize(ALICE, "10.0.0.6", Op.READ, TOPIC, "t")
    assert auth.authorize(BOB, HOST, Op.READ, TOPIC, "t")
    assert not auth.authorize(BOB, "10.0.0.66", Op.READ, TOPIC, "t")


def test_allow_everyone_if_no_acl_found() -> None:
    strict = authorizer(binding(ALICE, Op.READ, TOPIC, "guarded"))
    lenient = authorizer(
        binding(ALICE, Op.READ, TOPIC, "guarded"), allow_everyone_if_no_acl_found=True
    )
    assert not strict.authorize(BOB, HOST, Op.READ, TOPIC, "open")
    assert lenient.authorize(BOB, HOST, Op.READ, TOPIC, "open")
    # Once a resource has any ACL (for anyone), the default no longer applies.
    assert not lenient.authorize(BOB, HOST, Op.READ, TOPIC, "guarded")
    # Prefixed and wildcard ACLs count as ACLs of the resource too.
    lenient.add(binding(ALICE, Op.READ, TOPIC, "op", PREFIXED))
    assert not lenient.authorize(BOB, HOST, Op.READ, TOPIC, "open")
    assert lenient.authorize(BOB, HOST, Op.READ, GROUP, "open")
    lenient.add(binding(ALICE, Op.READ, GROUP, "*"))
    assert not lenient.authorize(BOB, HOST, Op.READ, GROUP, "open")


def test_authorize_by_resource_type_and_idempotent_write() -> None:
    auth = authorizer(binding(ALICE, Op.WRITE, TOPIC, "orders-", PREFIXED))
    assert auth.authorize_by_resource_type(ALICE, HOST, Op.WRITE, TOPIC)
    assert not auth.authorize_by_resource_type(ALICE, HOST, Op.READ, TOPIC)
    assert not auth.authorize_by_resource_type(BOB, HOST, Op.WRITE, TOPIC)
    # Write on any topic implies the right to an idempotent producer id (KIP-679) ...
    assert auth.authorize_idempotent_write(ALICE, HOST)
    assert not auth.authorize_idempotent_write(BOB, HOST)
    # ... as does IdempotentWrite on the cluster.
    auth.add(binding(BOB, Op.IDEMPOTENT_WRITE, CLUSTER, CLUSTER_NAME))
    assert auth.authorize_idempotent_write(BOB, HOST)
    # A dominating DENY takes the topic route away: a deny prefix covering the allowed prefix ...
    auth.add(binding(ALICE, Op.WRITE, TOPIC, "ord", PREFIXED, permission=DENY))
    assert not auth.authorize_idempotent_write(ALICE, HOST)


def test_authorize_by_resource_type_dominance_rules() -> None:
    literal_denied = authorizer(
        binding(ALICE, Op.READ, TOPIC, "t"), binding(ALICE, Op.READ, TOPIC, "t", permission=DENY)
    )
    assert not literal_denied.authorize_by_resource_type(ALICE, HOST, Op.READ, TOPIC)
    other_literal = authorizer(
        binding(ALICE, Op.READ, TOPIC, "t"), binding(ALICE, Op.READ, TOPIC, "u", permission=DENY)
    )
    assert other_literal.authorize_by_resource_type(ALICE, HOST, Op.READ, TOPIC)
    wildcard_deny = authorizer(
        binding(ALICE, Op.READ, TOPIC, "t"), binding("User:*", Op.READ, TOPIC, "*", permission=DENY)
    )
    assert not wildcard_deny.authorize_by_resource_type(ALICE, HOST, Op.READ, TOPIC)
    assert authorizer(binding(ALICE, Op.ALL, TOPIC, "*")).authorize_by_resource_type(
        ALICE, HOST, Op.READ, TOPIC
    )
    assert authorizer(super_users=[ALICE]).authorize_by_resource_type(ALICE, HOST, Op.READ, TOPIC)
    assert authorizer(allow_everyone_if_no_acl_found=True).authorize_by_resource_type(
        ALICE, HOST, Op.READ, TOPIC
    )
    with pytest.raises(InvalidAcl):
        authorizer().authorize_by_resource_type(ALICE, HOST, Op.ANY, TOPIC)


# =================================================================================================
# Describe and delete filters
# =================================================================================================

ACLS = [
    binding(ALICE, Op.READ, TOPIC, "orders"),
    binding(ALICE, Op.WRITE, TOPIC, "orders-", PREFIXED),
    binding(BOB, Op.READ, TOPIC, "*"),
    binding(BOB, Op.READ, TOPIC, "payments", permission=DENY, host="10.1.1.1"),
    binding(ALICE, Op.READ, GROUP, "orders"),
    binding(BOB, Op.ALTER, CLUSTER, CLUSTER_NAME),
]


def _names(bindings: list[AclBinding]) -> set[tuple[str, str, str]]:
    return {(b.pattern.resource_type.name, b.pattern.name, b.entry.principal) for b in bindings}


@pytest.mark.parametrize(
    ("pattern_filter", "entry_filter", "expected"),
    [
        (ResourcePatternFilter(), AccessControlEntryFilter(), len(ACLS)),
        (ResourcePatternFilter(TOPIC), AccessControlEntryFilter(), 4),
        (ResourcePatternFilter(TOPIC, "orders", PatternType.ANY), AccessControlEntryFilter(), 1),
        (ResourcePatternFilter(ResourceType.ANY, "orders"), AccessControlEntryFilter(), 2),
        (ResourcePatternFilter(TOPIC, "orders-", PREFIXED), AccessControlEntryFilter(), 1),
        (ResourcePatternFilter(TOPIC, "orders-", LITERAL), AccessControlEntryFilter(), 0),
        # MATCH: every pattern that applies to the named resource: literal, "*" and prefixes.
        (
            ResourcePatternFilter(TOPIC, "orders-1", PatternType.MATCH),
            AccessControlEntryFilter(),
            2,
        ),
        (ResourcePatternFilter(TOPIC, "orders", PatternType.MATCH), AccessControlEntryFilter(), 2),
        (
            ResourcePatternFilter(ResourceType.ANY, "orders", PatternType.MATCH),
            AccessControlEntryFilter(),
            3,
        ),
        (ResourcePatternFilter(TOPIC, None, PatternType.MATCH), AccessControlEntryFilter(), 4),
        # A "*" name with a specific pattern type finds only the wildcard ACL itself.
        (ResourcePatternFilter(TOPIC, "*", LITERAL), AccessControlEntryFilter(), 1),
        (ResourcePatternFilter(), AccessControlEntryFilter(principal=BOB), 3),
        (ResourcePatternFilter(), AccessControlEntryFilter(host="10.1.1.1"), 1),
        (ResourcePatternFilter(), AccessControlEntryFilter(operation=Op.READ), 4),
        (ResourcePatternFilter(), AccessControlEntryFilter(permission=DENY), 1),
        (ResourcePatternFilter(TOPIC), AccessControlEntryFilter(ALICE, "*", Op.WRITE, ALLOW), 1),
        # Entry filters compare values; "User:*" in a filter finds only the wildcard-principal ACLs.
        (ResourcePatternFilter(), AccessControlEntryFilter(principal="User:*"), 0),
    ],
)
def test_describe_filters(pattern_filter, entry_filter, expected: int) -> None:
    auth = authorizer(*ACLS)
    found = auth.bindings(AclBindingFilter(pattern_filter, entry_filter))
    assert len(found) == expected, _names(found)
    assert all(AclBindingFilter(pattern_filter, entry_filter).matches(b) for b in found)


def test_delete_removes_exactly_what_describe_finds() -> None:
    auth = authorizer(*ACLS)
    delete = AclBindingFilter(ResourcePatternFilter(TOPIC, "orders-1", PatternType.MATCH))
    deleted = auth.delete(delete)
    assert _names(deleted) == {("TOPIC", "orders-", ALICE), ("TOPIC", "*", BOB)}
    assert auth.bindings(delete) == []
    assert len(auth) == len(ACLS) - 2
    assert not auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, "orders-1")
    assert auth.authorize(ALICE, HOST, Op.READ, TOPIC, "orders")
    assert auth.delete(delete) == []


def test_add_remove_and_set_resource() -> None:
    auth = Authorizer()
    acl = binding(ALICE, Op.READ, TOPIC, "t")
    assert auth.add(acl) and not auth.add(acl)
    assert len(auth) == 1
    assert auth.remove(acl) and not auth.remove(acl)
    assert len(auth) == 0 and auth.bindings() == []
    pattern = ResourcePattern(TOPIC, "t-", PREFIXED)
    entries = {
        AccessControlEntry(ALICE, "*", Op.READ, ALLOW),
        AccessControlEntry(BOB, "*", Op.READ, ALLOW),
    }
    auth.set_resource(pattern, entries)
    assert auth.acls_of(pattern) == entries
    assert auth.authorize(BOB, HOST, Op.READ, TOPIC, "t-1")
    auth.set_resource(pattern, [])
    assert auth.acls_of(pattern) == frozenset() and len(auth) == 0
    assert not auth.authorize(BOB, HOST, Op.READ, TOPIC, "t-1")


@pytest.mark.parametrize(
    ("acl", "reason"),
    [
        (binding(ALICE, Op.READ, ResourceType.ANY, "t"), "Invalid resourceType ANY"),
        (binding(ALICE, Op.READ, ResourceType.UNKNOWN, "t"), "Invalid resourceType UNKNOWN"),
        (binding(ALICE, Op.READ, TOPIC, "t", PatternType.MATCH), "Invalid patternType MATCH"),
        (binding(ALICE, Op.ANY, TOPIC, "t"), "Invalid operation ANY"),
        (
            binding(ALICE, Op.READ, TOPIC, "t", permission=AclPermissionType.ANY),
            "Invalid permissionType",
        ),
        (binding(ALICE, Op.READ, TOPIC, ""), "should not be empty"),
        (binding(ALICE, Op.ALTER, CLUSTER, "my-cluster"), "only valid name for the CLUSTER"),
        (binding("alice", Op.READ, TOPIC, "t"), "principalType:principalName"),
        (binding(ALICE, Op.READ, GROUP, "a/b"), "'/' is not allowed"),
        (binding(ALICE, Op.READ, TOPIC, "t", host=""), "Host should not be empty"),
    ],
)
def test_invalid_bindings_are_refused(acl: AclBinding, reason: str) -> None:
    with pytest.raises(InvalidAcl, match=reason):
        Authorizer().add(acl)


def test_filters_with_unknown_parts_are_refused() -> None:
    validate_filter(AclBindingFilter())
    with pytest.raises(InvalidAcl, match="patternFilter"):
        validate_filter(AclBindingFilter(ResourcePatternFilter(ResourceType.UNKNOWN)))
    with pytest.raises(InvalidAcl, match="entryFilter"):
        validate_filter(
            AclBindingFilter(entry=AccessControlEntryFilter(operation=AclOperation.UNKNOWN))
        )


@settings(max_examples=200, deadline=None, database=None)
@given(
    prefixes=st.lists(st.text("ab-", min_size=1, max_size=4), max_size=5),
    literals=st.lists(st.text("ab-*", min_size=1, max_size=4), max_size=5),
    name=st.text("ab-", min_size=1, max_size=6),
)
def test_indexed_decision_agrees_with_a_brute_force_scan(prefixes, literals, name) -> None:
    # The index must find exactly the ACLs a MATCH filter over all bindings finds.
    auth = Authorizer()
    for prefix in prefixes:
        auth.add(binding(ALICE, Op.READ, TOPIC, prefix, PREFIXED))
    for literal in literals:
        auth.add(binding(ALICE, Op.WRITE, TOPIC, literal, LITERAL))
    match = ResourcePatternFilter(TOPIC, name, PatternType.MATCH)
    scanned = [b for b in auth.bindings() if match.matches(b.pattern)]
    assert sorted(map(repr, auth.bindings(AclBindingFilter(match)))) == sorted(map(repr, scanned))
    assert auth.authorize(ALICE, HOST, Op.READ, TOPIC, name) == any(
        b.entry.operation == Op.READ for b in scanned
    )
    assert auth.authorize(ALICE, HOST, Op.WRITE, TOPIC, name) == any(
        b.entry.operation == Op.WRITE for b in scanned
    )


# =================================================================================================
# ZooKeeper storage
# =================================================================================================


def test_znode_paths_as_kafka_lays_them_out() -> None:
    cases = {
        ResourcePattern(TOPIC, "topic-1"): "/kafka-acl/Topic/topic-1",
        ResourcePattern(CLUSTER, CLUSTER_NAME): "/kafka-acl/Cluster/kafka-cluster",
        ResourcePattern(ResourceType.TRANSACTIONAL_ID, "tx"): "/kafka-acl/TransactionalId/tx",
        ResourcePattern(GROUP, "group-1", PREFIXED): "/kafka-acl-extended/prefixed/Group/group-1",
        ResourcePattern(TOPIC, "*"): "/kafka-acl/Topic/*",
    }
    for pattern, path in cases.items():
        assert acl_znode_path(pattern) == path
        assert parse_acl_znode_path(path) == pattern
    for bad in ("/kafka-acl/Topic", "/kafka-acl/Nope/x", "/kafka-acl/Topic/a/b", "/other/Topic/x"):
        with pytest.raises(InvalidAcl):
            parse_acl_znode_path(bad)
    with pytest.raises(InvalidAcl):
        acl_znode_path(ResourcePattern(TOPIC, "t", PatternType.MATCH))
    with pytest.raises(InvalidAcl):
        acl_znode_path(ResourcePattern(GROUP, "a/b"))


def test_znode_json_as_kafka_writes_it() -> None:
    entries = {
        AccessControlEntry(ALICE, "*", Op.READ, ALLOW),
        AccessControlEntry("User:bob", "host1", Op.DESCRIBE_CONFIGS, DENY),
        AccessControlEntry("User:carol", "*", Op.IDEMPOTENT_WRITE, ALLOW),
    }
    data = format_acl_znode(entries)
    document = json.loads(data)
    assert document["version"] == 1
    assert {
        "principal": "User:bob",
        "permissionType": "Deny",
        "operation": "DescribeConfigs",
        "host": "host1",
    } in document["acls"]
    assert {
        "principal": "User:carol",
        "permissionType": "Allow",
        "operation": "IdempotentWrite",
        "host": "*",
    } in document["acls"]
    assert parse_acl_znode(data) == entries
    # Kafka's own example from ZkData.scala.
    kafka = b'{"version": 1, "acls": [ { "host":"host1", "permissionType": "Allow","operation": "Read","principal": "User:alice"}]}'
    assert parse_acl_znode(kafka) == {AccessControlEntry(ALICE, "host1", Op.READ, ALLOW)}
    assert parse_acl_znode(None) == set() and parse_acl_znode(b"") == set()
    # A name from a newer Kafka reads as UNKNOWN, as Kafka reads it.
    newer = b'{"version":1,"acls":[{"host":"*","permissionType":"Allow","operation":"Teleport","principal":"User:a"}]}'
    assert parse_acl_znode(newer) == {AccessControlEntry("User:a", "*", Op.UNKNOWN, ALLOW)}


@pytest.mark.parametrize(
    "data",
    [
        b"{nope",
        b"[]",
        b'{"version":2,"acls":[]}',
        b'{"version":1}',
        b'{"version":1,"acls":[{"host":"*"}]}',
        b'{"version":1,"acls":[{"host":"*","permissionType":"Allow","operation":"Read","principal":"alice"}]}',
        b"\xff",
    ],
)
def test_malformed_znodes_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidAcl):
        parse_acl_znode(data)


_ENTRIES = st.builds(
    AccessControlEntry,
    principal=st.text(min_size=1, max_size=8).map(lambda s: f"User:{s}"),
    host=st.sampled_from(["*", "10.0.0.1", "::1"]),
    operation=st.sampled_from([op for op in Op if op not in (Op.UNKNOWN, Op.ANY)]),
    permission=st.sampled_from([ALLOW, DENY]),
)


@settings(max_examples=100, deadline=None, database=None)
@given(st.sets(_ENTRIES, max_size=6))
def test_znode_json_round_trips(entries: set[AccessControlEntry]) -> None:
    assert parse_acl_znode(format_acl_znode(entries)) == entries


@settings(max_examples=100, deadline=None, database=None)
@given(
    resource_type=st.sampled_from([TOPIC, GROUP, ResourceType.TRANSACTIONAL_ID, ResourceType.USER]),
    name=st.text(
        st.characters(exclude_characters="/", exclude_categories=["Cs"]), min_size=1, max_size=10
    ),
    pattern_type=st.sampled_from([LITERAL, PREFIXED]),
)
def test_znode_path_round_trips(resource_type, name: str, pattern_type) -> None:
    pattern = ResourcePattern(resource_type, name, pattern_type)
    assert parse_acl_znode_path(acl_znode_path(pattern)) == pattern
