"""REST API for clusters, topics, node sizes, tokens and the audit log. Views only translate."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters import selectors, services, tokens, topics
from clusters.api.serializers import (
    AuditEventSerializer,
    ClusterConnectionSerializer,
    ClusterCreateSerializer,
    ClusterDeleteSerializer,
    ClusterSerializer,
    ClusterUpdateSerializer,
    NodeSerializer,
    NodeSizeSerializer,
    OperationSerializer,
    TokenCreateSerializer,
    TokenSerializer,
    TopicSerializer,
    TopicUpdateSerializer,
)
from clusters.connection import connection_info
from clusters.errors import InvalidInput
from clusters.idempotency import HEADER, with_idempotency
from clusters.models import ClusterStatus
from clusters.permissions import actor_for
from provisioning.selectors import operations_of

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Retries with the same key replay the first answer.",
)


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _topic_dict(topic) -> dict:
    return {
        "name": topic.name,
        "partitions": topic.partitions,
        "replication_factor": topic.replication_factor,
        "configs": topic.configs,
    }


class NodeSizeList(generics.ListAPIView):
    serializer_class = NodeSizeSerializer

    def get_queryset(self):
        return selectors.node_sizes()


class ClusterList(generics.ListAPIView):
    serializer_class = ClusterSerializer

    def get_queryset(self):
        queryset = selectors.clusters_visible(actor_for(self.request).organisation)
        if status_filter := self.request.query_params.get("status"):
            if status_filter not in ClusterStatus.values:
                raise InvalidInput(
                    "The filter is invalid.",
                    field_errors={"status": [f"One of {', '.join(ClusterStatus.values)}."]},
                )
            queryset = queryset.filter(status=status_filter)
        return queryset

    @extend_schema(
        request=ClusterCreateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request) -> Response:
        actor = actor_for(request)
        data = _valid(ClusterCreateSerializer, request.data)

        def create():
            cluster, operation = services.cluster_create(actor=actor, **data)
            return status.HTTP_202_ACCEPTED, {
                "cluster": ClusterSerializer(cluster).data,
                "operation": OperationSerializer(operation).data,
            }

        code, body, replayed = with_idempotency(
            actor=actor,
            key=request.headers.get(HEADER),
            scope="cluster.create",
            payload=data,
            create=create,
        )
        response = Response(body, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class ClusterDetail(APIView):
    def cluster(self, request: Request, cluster_id):
        return selectors.cluster_get(actor_for(request).organisation, cluster_id)

    @extend_schema(responses=ClusterSerializer)
    def get(self, request: Request, cluster_id) -> Response:
        return Response(ClusterSerializer(self.cluster(request, cluster_id)).data)

    @extend_schema(request=ClusterUpdateSerializer, responses=ClusterSerializer)
    def patch(self, request: Request, cluster_id) -> Response:
        cluster = self.cluster(request, cluster_id)
        data = _valid(ClusterUpdateSerializer, request.data)
        services.cluster_update(actor=actor_for(request), cluster=cluster, **data)
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(
        request=ClusterDeleteSerializer,
        responses={202: OperationSerializer},
        parameters=[
            OpenApiParameter(
                "confirm_name", str, description="The cluster's name, as confirmation."
            )
        ],
    )
    def delete(self, request: Request, cluster_id) -> Response:
        cluster = self.cluster(request, cluster_id)
        confirm = request.query_params.get("confirm_name") or (
            request.data.get("confirm_name") if isinstance(request.data, dict) else None
        )
        if not confirm:
            raise InvalidInput(
                "Confirm the deletion with the cluster's name.",
                field_errors={"confirm_name": ["This field is required."]},
            )
        operation = services.cluster_delete(
            actor=actor_for(request), cluster=cluster, confirm_name=str(confirm)
        )
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)


class ClusterConnection(APIView):
    @extend_schema(responses=ClusterConnectionSerializer)
    def get(self, request: Request, cluster_id) -> Response:
        """How client applications connect: bootstrap servers, security settings, snippets."""
        cluster = selectors.cluster_get(actor_for(request).organisation, cluster_id)
        info = connection_info(cluster)
        ca_url = (
            request.build_absolute_uri(reverse("api-cluster-ca", args=[cluster.pk]))
            if info.ca_required
            else None
        )
        data = {**info.__dict__, "ca_certificate_url": ca_url}
        return Response(ClusterConnectionSerializer(data).data)


class ClusterCACertificate(APIView):
    @extend_schema(
        operation_id="v1_clusters_ca_certificate_retrieve",
        responses={(200, "application/x-pem-file"): OpenApiTypes.STR},
    )
    def get(self, request: Request, cluster_id) -> HttpResponse:
        """The cluster's CA certificate (PEM), for clients to verify the brokers."""
        cluster = selectors.cluster_get(actor_for(request).organisation, cluster_id)
        certificate = selectors.cluster_ca_certificate(cluster)
        if certificate is None:
            raise Http404("This cluster does not use TLS; it has no CA certificate.")
        return HttpResponse(
            certificate,
            content_type="application/x-pem-file",
            headers={"Content-Disposition": f'attachment; filename="{cluster.name}-ca.pem"'},
        )


class ChangeRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text="Answer with the plan only.")


class ResizeRequestSerializer(ChangeRequestSerializer):
    node_size = serializers.CharField(max_length=50)


class UpgradeRequestSerializer(ChangeRequestSerializer):
    dataplane_version = serializers.CharField(max_length=40)


class StorageRequestSerializer(ChangeRequestSerializer):
    storage_gib = serializers.IntegerField(min_value=1, help_text="Data volume per broker.")


class ScaleRequestSerializer(ChangeRequestSerializer):
    broker_count = serializers.IntegerField(min_value=1, max_value=12)
    throttle_mb_per_s = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        default=services.DEFAULT_THROTTLE_MB_PER_S,
        help_text="Replication throttle per broker while partitions move; 0 for none.",
    )


class ClusterChange(APIView):
    """A long change to a cluster: 202 with the operation, or 200 with the plan for a dry run."""

    request_serializer: type[serializers.Serializer] = ChangeRequestSerializer
    service: Callable[..., object]

    def post(self, request: Request, cluster_id) -> Response:
        actor = actor_for(request)
        cluster = selectors.cluster_get(actor.organisation, cluster_id)
        data = _valid(self.request_serializer, request.data)
        result = type(self).service(actor=actor, cluster=cluster, **data)
        if isinstance(result, dict):
            return Response(result)
        return Response(OperationSerializer(result).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    post=extend_schema(
        request=ScaleRequestSerializer,
        responses={202: OperationSerializer},
        summary="Add or remove brokers",
    )
)
class ClusterScale(ClusterChange):
    request_serializer = ScaleRequestSerializer
    service = staticmethod(services.cluster_scale)


@extend_schema_view(
    post=extend_schema(
        request=ChangeRequestSerializer,
        responses={202: OperationSerializer},
        summary="Restart brokers one at a time",
    )
)
class ClusterRestart(ClusterChange):
    request_serializer = ChangeRequestSerializer
    service = staticmethod(services.cluster_restart)


@extend_schema_view(
    post=extend_schema(
        request=ResizeRequestSerializer,
        responses={202: OperationSerializer},
        summary="Move brokers to another node size",
    )
)
class ClusterResize(ClusterChange):
    request_serializer = ResizeRequestSerializer
    service = staticmethod(services.cluster_resize)


@extend_schema_view(
    post=extend_schema(
        request=UpgradeRequestSerializer,
        responses={202: OperationSerializer},
        summary="Move brokers to a newer dataplane version",
    )
)
class ClusterUpgrade(ClusterChange):
    request_serializer = UpgradeRequestSerializer
    service = staticmethod(services.cluster_upgrade)


@extend_schema_view(
    post=extend_schema(
        request=StorageRequestSerializer,
        responses={202: OperationSerializer},
        summary="Grow every broker's storage while it serves",
    )
)
class ClusterExpandStorage(ClusterChange):
    request_serializer = StorageRequestSerializer
    service = staticmethod(services.cluster_expand_storage)


class ClusterNodes(generics.ListAPIView):
    serializer_class = NodeSerializer

    def get_queryset(self):
        cluster = selectors.cluster_get(
            actor_for(self.request).organisation, self.kwargs["cluster_id"]
        )
        return selectors.cluster_nodes(cluster).select_related(
            "cluster__node_size", "cluster__dataplane_version", "node_size", "dataplane_version"
        )


class ClusterOperations(generics.ListAPIView):
    serializer_class = OperationSerializer

    def get_queryset(self):
        cluster = selectors.cluster_get(
            actor_for(self.request).organisation, self.kwargs["cluster_id"]
        )
        return operations_of(cluster)


class TopicList(APIView):
    @extend_schema(
        responses=inline_serializer("TopicListResponse", {"results": TopicSerializer(many=True)})
    )
    def get(self, request: Request, cluster_id) -> Response:
        cluster = selectors.cluster_get(actor_for(request).organisation, cluster_id)
        return Response({"results": [_topic_dict(t) for t in topics.topics_of(cluster)]})

    @extend_schema(request=TopicSerializer, responses={201: TopicSerializer})
    def post(self, request: Request, cluster_id) -> Response:
        actor = actor_for(request)
        cluster = selectors.cluster_get(actor.organisation, cluster_id)
        data = _valid(TopicSerializer, request.data)
        topic = topics.topic_create(
            actor=actor,
            cluster=cluster,
            name=data["name"],
            partitions=data["partitions"],
            replication_factor=data.get("replication_factor"),
            configs=data["configs"],
        )
        return Response(_topic_dict(topic), status=status.HTTP_201_CREATED)


class TopicDetail(APIView):
    def _topic(self, request: Request, cluster_id, name: str):
        cluster = selectors.cluster_get(actor_for(request).organisation, cluster_id)
        topic = topics.topic_get(cluster, name)
        if topic is None:
            raise Http404("No such topic.")
        return cluster, topic

    @extend_schema(responses=TopicSerializer)
    def get(self, request: Request, cluster_id, name: str) -> Response:
        _cluster, topic = self._topic(request, cluster_id, name)
        return Response(_topic_dict(topic))

    @extend_schema(request=TopicUpdateSerializer, responses=TopicSerializer)
    def patch(self, request: Request, cluster_id, name: str) -> Response:
        cluster, _topic = self._topic(request, cluster_id, name)
        data = _valid(TopicUpdateSerializer, request.data)
        topics.topic_update(
            actor=actor_for(request), cluster=cluster, name=name, configs=data["configs"]
        )
        return Response(_topic_dict(topics.topic_get(cluster, name)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, cluster_id, name: str) -> Response:
        cluster, _topic = self._topic(request, cluster_id, name)
        topics.topic_delete(actor=actor_for(request), cluster=cluster, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenList(generics.ListAPIView):
    serializer_class = TokenSerializer

    def get_queryset(self):
        return selectors.tokens_of(actor_for(self.request).organisation)

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(TokenCreateSerializer, request.data)
        token, secret = tokens.api_token_create(actor=actor_for(request), **data)
        return Response(
            {**TokenSerializer(token).data, "secret": secret}, status=status.HTTP_201_CREATED
        )


class TokenDetail(APIView):
    @extend_schema(responses={200: TokenSerializer})
    def delete(self, request: Request, token_id) -> Response:
        actor = actor_for(request)
        token = selectors.token_get(actor.organisation, token_id)
        tokens.api_token_revoke(actor=actor, token=token)
        return Response(TokenSerializer(token).data)


class AuditList(generics.ListAPIView):
    serializer_class = AuditEventSerializer

    def get_queryset(self):
        return selectors.audit_of(actor_for(self.request).organisation)
