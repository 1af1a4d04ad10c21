"""Every kind of operation says what its cluster's status is while it runs and after it ends: a kind
without one would leave its operation running forever after its last step."""

from __future__ import annotations


def test_every_operation_kind_has_cluster_statuses(django_db: str) -> None:
    from provisioning.models import CLUSTER_STATUSES, OperationKind

    assert set(CLUSTER_STATUSES) == set(OperationKind.values)
