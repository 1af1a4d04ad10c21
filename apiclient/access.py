"""`streamplane users|acls|firewall`: a cluster's Kafka users, ACLs and firewall rules.

streamplane users create orders app-producer          # prints the password, once
streamplane users rotate orders app-producer          # a new password; the old one stops working
streamplane acls preset orders producer --user app-producer --prefix orders-
streamplane acls add orders --user app --resource topic --name audit --operation Read
streamplane firewall allow orders 203.0.113.0/24 --description office
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from apiclient.client import Api

RESOURCE_TYPES = ["topic", "group", "cluster", "transactional_id"]
OPERATIONS = [
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
]


def _base(api: Api, args: argparse.Namespace) -> str:
    return f"/clusters/{api.find_cluster(args.cluster)['id']}"


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _print_password(user: dict[str, Any]) -> None:
    # The password goes to stdout alone, so `$(streamplane users create ...)` captures just it.
    print(
        f"password of {user['name']} (shown once; mechanisms {', '.join(user['mechanisms'])}):",
        file=sys.stderr,
    )
    print(user["password"])


def cmd_users_list(api: Api, args: argparse.Namespace) -> int:
    users = api.request("GET", f"{_base(api, args)}/users/")["results"]
    if args.json:
        _print_json(users)
        return 0
    print(f"{'NAME':<32} {'MECHANISMS':<30} PASSWORD CHANGED")
    for user in users:
        print(
            f"{user['name']:<32} {','.join(user['mechanisms']):<30} {user['password_changed_at']}"
        )
    return 0


def cmd_users_create(api: Api, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name}
    if args.mechanism:
        body["mechanisms"] = args.mechanism
    _print_password(api.request("POST", f"{_base(api, args)}/users/", json=body))
    return 0


def cmd_users_rotate(api: Api, args: argparse.Namespace) -> int:
    _print_password(api.request("POST", f"{_base(api, args)}/users/{args.name}/rotate/"))
    return 0


def cmd_users_delete(api: Api, args: argparse.Namespace) -> int:
    api.request("DELETE", f"{_base(api, args)}/users/{args.name}/")
    print(f"deleted Kafka user {args.name} with its ACLs")
    return 0


def _print_acls(acls: list[dict[str, Any]]) -> None:
    print(
        f"{'PRINCIPAL':<24} {'RESOURCE':<28} {'OPERATION':<16} {'PERMISSION':<10} {'HOST':<16} ID"
    )
    for acl in acls:
        resource = f"{acl['resource_type']}:{acl['pattern_type']}:{acl['resource_name']}"
        print(
            f"{acl['principal']:<24} {resource:<28} {acl['operation']:<16} "
            f"{acl['permission']:<10} {acl['host']:<16} {acl['id']}"
        )


def cmd_acls_list(api: Api, args: argparse.Namespace) -> int:
    acls = api.request("GET", f"{_base(api, args)}/acls/")["results"]
    if args.json:
        _print_json(acls)
    else:
        _print_acls(acls)
    return 0


def cmd_acls_add(api: Api, args: argparse.Namespace) -> int:
    body = {
        "principal": f"User:{args.user}",
        "resource_type": args.resource,
        "pattern_type": "prefixed" if args.prefixed else "literal",
        "resource_name": args.name,
        "operation": args.operation,
        "permission": "Deny" if args.deny else "Allow",
        "host": args.host,
    }
    _print_acls([api.request("POST", f"{_base(api, args)}/acls/", json=body)])
    return 0


def cmd_acls_preset(api: Api, args: argparse.Namespace) -> int:
    body = {
        "preset": args.preset,
        "principal": f"User:{args.user}",
        "topic_prefix": args.prefix,
        "group": args.group or "",
        "host": args.host,
    }
    _print_acls(api.request("POST", f"{_base(api, args)}/acls/presets/", json=body)["results"])
    return 0


def cmd_acls_delete(api: Api, args: argparse.Namespace) -> int:
    api.request("DELETE", f"{_base(api, args)}/acls/{args.acl_id}/")
    print("ACL removed")
    return 0


def cmd_firewall_list(api: Api, args: argparse.Namespace) -> int:
    rules = api.request("GET", f"{_base(api, args)}/firewall/")["results"]
    if args.json:
        _print_json(rules)
        return 0
    print(f"{'NETWORK':<44} DESCRIPTION")
    for rule in rules:
        print(f"{rule['cidr']:<44} {rule['description']}")
    return 0


def cmd_firewall_allow(api: Api, args: argparse.Namespace) -> int:
    body = {"cidr": args.cidr, "description": args.description}
    rule = api.request("POST", f"{_base(api, args)}/firewall/", json=body)
    print(f"{rule['cidr']} may connect")
    return 0


def cmd_firewall_revoke(api: Api, args: argparse.Namespace) -> int:
    api.request("DELETE", f"{_base(api, args)}/firewall/{args.cidr}/")
    print(f"{args.cidr} may no longer connect")
    return 0


def _command(parent, name: str, run, help_text: str) -> argparse.ArgumentParser:
    command = parent.add_parser(name, help=help_text)
    command.add_argument("cluster", help="the cluster's name (or id)")
    command.set_defaults(run=run)
    return command


def add_access_commands(groups) -> None:
    """The users, acls and firewall command groups, added to the `streamplane` parser."""
    users = groups.add_parser("users", help="a cluster's Kafka users").add_subparsers(
        dest="command", required=True
    )
    _command(users, "list", cmd_users_list, "list Kafka users").add_argument(
        "--json", action="store_true"
    )
    create = _command(users, "create", cmd_users_create, "create a user; prints its password")
    create.add_argument("name")
    create.add_argument(
        "--mechanism",
        action="append",
        choices=["SCRAM-SHA-256", "SCRAM-SHA-512"],
        help="repeat for several (default: both)",
    )
    _command(
        users, "rotate", cmd_users_rotate, "new password; the old one stops working"
    ).add_argument("name")
    _command(users, "delete", cmd_users_delete, "delete a user and its ACLs").add_argument("name")

    acls = groups.add_parser("acls", help="a cluster's ACLs").add_subparsers(
        dest="command", required=True
    )
    _command(acls, "list", cmd_acls_list, "the ACLs the cluster holds").add_argument(
        "--json", action="store_true"
    )
    add = _command(acls, "add", cmd_acls_add, "add one ACL")
    add.add_argument("--user", required=True, help="a Kafka user of the cluster")
    add.add_argument("--resource", required=True, choices=RESOURCE_TYPES)
    add.add_argument(
        "--name", default="", help="resource name or prefix (kafka-cluster for cluster)"
    )
    add.add_argument("--prefixed", action="store_true", help="the name is a prefix")
    add.add_argument("--operation", required=True, choices=OPERATIONS)
    add.add_argument("--deny", action="store_true", help="a Deny ACL (Allow otherwise)")
    add.add_argument("--host", default="*")
    preset = _command(acls, "preset", cmd_acls_preset, "add a producer's or a consumer's ACLs")
    preset.add_argument("preset", choices=["producer", "consumer"])
    preset.add_argument("--user", required=True)
    preset.add_argument("--prefix", required=True, help="topic prefix")
    preset.add_argument("--group", help="the consumer's group")
    preset.add_argument("--host", default="*")
    _command(acls, "delete", cmd_acls_delete, "remove an ACL by its id").add_argument("acl_id")

    firewall = groups.add_parser("firewall", help="networks allowed to connect").add_subparsers(
        dest="command", required=True
    )
    _command(firewall, "list", cmd_firewall_list, "the allow-list").add_argument(
        "--json", action="store_true"
    )
    allow = _command(firewall, "allow", cmd_firewall_allow, "allow a network")
    allow.add_argument("cidr")
    allow.add_argument("--description", default="")
    _command(firewall, "revoke", cmd_firewall_revoke, "stop allowing a network").add_argument(
        "cidr"
    )
