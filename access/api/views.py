"""REST API for a cluster's Kafka users, ACLs and firewall rules. Views only translate: another
organisation's cluster does not exist (404), read-only tokens read (the permission class refuses
their writes)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access import selectors, services
from access.acls import AclEntry, acl_entry, preset_entries
from access.api.serializers import (
    AclPresetSerializer,
    AclSerializer,
    FirewallRuleSerializer,
    KafkaUserCreateSerializer,
    KafkaUserSerializer,
    KafkaUserWithPasswordSerializer,
)
from clusters.models import Cluster
from clusters.permissions import actor_for
from clusters.selectors import cluster_get


def _cluster(request: Request, cluster_id) -> Cluster:
    return cluster_get(actor_for(request).organisation, cluster_id)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _acl_dict(entry: AclEntry) -> dict:
    return AclSerializer({**entry.__dict__, "id": entry.id}).data


class KafkaUserList(APIView):
    @extend_schema(
        responses=inline_serializer(
            "KafkaUserListResponse", {"results": KafkaUserSerializer(many=True)}
        ),
        summary="The cluster's Kafka users",
    )
    def get(self, request: Request, cluster_id) -> Response:
        users = selectors.kafka_users_of(_cluster(request, cluster_id))
        return Response({"results": KafkaUserSerializer(users, many=True).data})

    @extend_schema(
        request=KafkaUserCreateSerializer,
        responses={201: KafkaUserWithPasswordSerializer},
        summary="Create a Kafka user; its password is in this answer only",
    )
    def post(self, request: Request, cluster_id) -> Response:
        cluster = _cluster(request, cluster_id)
        data = _valid(KafkaUserCreateSerializer, request.data)
        user, password = services.kafka_user_create(
            actor=actor_for(request),
            cluster=cluster,
            name=data["name"],
            mechanisms=data.get("mechanisms"),
        )
        body = {**KafkaUserSerializer(user).data, "password": password}
        return Response(body, status=status.HTTP_201_CREATED)


class KafkaUserDetail(APIView):
    @extend_schema(responses=KafkaUserSerializer)
    def get(self, request: Request, cluster_id, name: str) -> Response:
        user = selectors.kafka_user_get(_cluster(request, cluster_id), name)
        return Response(KafkaUserSerializer(user).data)

    @extend_schema(
        responses={204: None}, summary="Delete a Kafka user with its credentials and ACLs"
    )
    def delete(self, request: Request, cluster_id, name: str) -> Response:
        cluster = _cluster(request, cluster_id)
        user = selectors.kafka_user_get(cluster, name)
        services.kafka_user_delete(actor=actor_for(request), cluster=cluster, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class KafkaUserRotate(APIView):
    @extend_schema(
        request=None,
        responses=KafkaUserWithPasswordSerializer,
        summary="Give a Kafka user a new password (in this answer only); the old one stops working",
    )
    def post(self, request: Request, cluster_id, name: str) -> Response:
        cluster = _cluster(request, cluster_id)
        user = selectors.kafka_user_get(cluster, name)
        password = services.kafka_user_rotate(actor=actor_for(request), cluster=cluster, user=user)
        user.refresh_from_db()
        return Response({**KafkaUserSerializer(user).data, "password": password})


class AclList(APIView):
    @extend_schema(
        responses=inline_serializer("AclListResponse", {"results": AclSerializer(many=True)}),
        summary="The ACLs the cluster holds",
    )
    def get(self, request: Request, cluster_id) -> Response:
        entries = selectors.acls_of(_cluster(request, cluster_id))
        return Response({"results": [_acl_dict(e) for e in entries]})

    @extend_schema(request=AclSerializer, responses={201: AclSerializer}, summary="Add an ACL")
    def post(self, request: Request, cluster_id) -> Response:
        cluster = _cluster(request, cluster_id)
        data = _valid(AclSerializer, request.data)
        entry = acl_entry(**data)
        services.acls_create(actor=actor_for(request), cluster=cluster, entries=[entry])
        return Response(_acl_dict(entry), status=status.HTTP_201_CREATED)


class AclPresetCreate(APIView):
    @extend_schema(
        request=AclPresetSerializer,
        responses={
            201: inline_serializer("AclPresetResponse", {"results": AclSerializer(many=True)})
        },
        summary="Add the ACLs of a producer or a consumer",
    )
    def post(self, request: Request, cluster_id) -> Response:
        cluster = _cluster(request, cluster_id)
        data = _valid(AclPresetSerializer, request.data)
        entries = preset_entries(**data)
        services.acls_create(
            actor=actor_for(request), cluster=cluster, entries=entries, preset=data["preset"]
        )
        return Response(
            {"results": [_acl_dict(e) for e in entries]}, status=status.HTTP_201_CREATED
        )


class AclDetail(APIView):
    @extend_schema(responses={204: None}, summary="Remove an ACL")
    def delete(self, request: Request, cluster_id, acl_id: str) -> Response:
        cluster = _cluster(request, cluster_id)
        entry = AclEntry.from_id(acl_id)
        services.acl_delete(actor=actor_for(request), cluster=cluster, entry=entry)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FirewallList(APIView):
    @extend_schema(
        responses=inline_serializer(
            "FirewallListResponse", {"results": FirewallRuleSerializer(many=True)}
        ),
        summary="Networks allowed to reach the client listener",
    )
    def get(self, request: Request, cluster_id) -> Response:
        entries = selectors.firewall_of(_cluster(request, cluster_id))
        return Response({"results": FirewallRuleSerializer(entries, many=True).data})

    @extend_schema(
        request=FirewallRuleSerializer,
        responses={201: FirewallRuleSerializer},
        summary="Allow a network",
    )
    def post(self, request: Request, cluster_id) -> Response:
        cluster = _cluster(request, cluster_id)
        data = _valid(FirewallRuleSerializer, request.data)
        rule = services.firewall_rule_add(actor=actor_for(request), cluster=cluster, **data)
        return Response(FirewallRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class FirewallDetail(APIView):
    @extend_schema(
        responses={204: None},
        summary="Stop allowing a network",
        description="Open connections from it are closed. The last network of the list stays "
        "(409 conflict): an empty list would mean any address, so allowing every address is "
        "said explicitly with 0.0.0.0/0 and ::/0.",
    )
    def delete(self, request: Request, cluster_id, cidr: str) -> Response:
        cluster = _cluster(request, cluster_id)
        services.firewall_rule_delete(actor=actor_for(request), cluster=cluster, cidr=cidr)
        return Response(status=status.HTTP_204_NO_CONTENT)
