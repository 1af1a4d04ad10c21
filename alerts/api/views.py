"""REST API for alerts, alert rules, silences and notification channels. Views only translate:
tenancy through the cluster and channel selectors, meaning in the services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import selectors, services
from alerts.api.serializers import (
    AlertRuleCreateSerializer,
    AlertRuleSerializer,
    AlertRuleUpdateSerializer,
    AlertSerializer,
    ChannelCreatedSerializer,
    ChannelCreateSerializer,
    ChannelSerializer,
    ChannelTestSerializer,
    ChannelUpdateSerializer,
    DeliverySerializer,
    SilenceCreateSerializer,
    SilenceSerializer,
)
from alerts.models import AlertState, RuleKind
from clusters.errors import InvalidInput
from clusters.permissions import actor_for
from clusters.selectors import cluster_get


def _valid(serializer_class, data, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _cluster(request: Request, cluster_id):
    return cluster_get(actor_for(request).organisation, cluster_id)


class AlertList(generics.ListAPIView):
    serializer_class = AlertSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state",
                str,
                enum=[*AlertState.values, "open"],
                description="Only alerts in this state; open is pending or firing.",
            ),
            OpenApiParameter("kind", str, enum=RuleKind.values),
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        errors = {}
        if params.get("state") and params["state"] not in [*AlertState.values, "open"]:
            errors["state"] = [f"One of {', '.join([*AlertState.values, 'open'])}."]
        if params.get("kind") and params["kind"] not in RuleKind.values:
            errors["kind"] = [f"One of {', '.join(RuleKind.values)}."]
        if errors:
            raise InvalidInput("The filter is invalid.", field_errors=errors)
        return selectors.alerts_of(
            _cluster(self.request, self.kwargs["cluster_id"]),
            state=params.get("state"),
            kind=params.get("kind"),
        )


class AlertRuleList(generics.ListAPIView):
    serializer_class = AlertRuleSerializer

    def get_queryset(self):
        return selectors.rules_of(_cluster(self.request, self.kwargs["cluster_id"]))

    @extend_schema(request=AlertRuleCreateSerializer, responses={201: AlertRuleSerializer})
    def post(self, request: Request, cluster_id) -> Response:
        rule = services.rule_create(
            actor=actor_for(request),
            cluster=_cluster(request, cluster_id),
            **_valid(AlertRuleCreateSerializer, request.data),
        )
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class AlertRuleDetail(APIView):
    def _rule(self, request: Request, cluster_id, rule_id):
        return selectors.rule_get(_cluster(request, cluster_id), rule_id)

    @extend_schema(responses=AlertRuleSerializer)
    def get(self, request: Request, cluster_id, rule_id: int) -> Response:
        return Response(AlertRuleSerializer(self._rule(request, cluster_id, rule_id)).data)

    @extend_schema(request=AlertRuleUpdateSerializer, responses=AlertRuleSerializer)
    def patch(self, request: Request, cluster_id, rule_id: int) -> Response:
        rule = services.rule_update(
            actor=actor_for(request),
            rule=self._rule(request, cluster_id, rule_id),
            **_valid(AlertRuleUpdateSerializer, request.data, partial=True),
        )
        return Response(AlertRuleSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, cluster_id, rule_id: int) -> Response:
        services.rule_delete(
            actor=actor_for(request), rule=self._rule(request, cluster_id, rule_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SilenceList(generics.ListAPIView):
    serializer_class = SilenceSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "active", bool, description="true: in force now; false: ended or not yet started."
            )
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        active = {"true": True, "false": False}.get(self.request.query_params.get("active", ""))
        return selectors.silences_of(
            _cluster(self.request, self.kwargs["cluster_id"]), active=active
        )

    @extend_schema(request=SilenceCreateSerializer, responses={201: SilenceSerializer})
    def post(self, request: Request, cluster_id) -> Response:
        silence = services.silence_create(
            actor=actor_for(request),
            cluster=_cluster(request, cluster_id),
            **_valid(SilenceCreateSerializer, request.data),
        )
        return Response(SilenceSerializer(silence).data, status=status.HTTP_201_CREATED)


class SilenceExpire(APIView):
    @extend_schema(request=None, responses=SilenceSerializer, summary="End a silence now")
    def post(self, request: Request, cluster_id, silence_id: int) -> Response:
        silence = selectors.silence_get(_cluster(request, cluster_id), silence_id)
        silence = services.silence_expire(actor=actor_for(request), silence=silence)
        return Response(SilenceSerializer(silence).data)


class ChannelList(generics.ListAPIView):
    serializer_class = ChannelSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cluster", str, description="Only channels that receive this cluster's alerts."
            )
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        organisation = actor_for(self.request).organisation
        cluster_id = self.request.query_params.get("cluster")
        cluster = cluster_get(organisation, cluster_id) if cluster_id else None
        return selectors.channels_of(organisation, cluster=cluster)

    @extend_schema(request=ChannelCreateSerializer, responses={201: ChannelCreatedSerializer})
    def post(self, request: Request) -> Response:
        actor = actor_for(request)
        data = _valid(ChannelCreateSerializer, request.data)
        if data.get("cluster"):
            data["cluster"] = cluster_get(actor.organisation, data["cluster"])
        channel, secret = services.channel_create(actor=actor, **data)
        return Response(
            {**ChannelSerializer(channel).data, "secret": secret},
            status=status.HTTP_201_CREATED,
        )


class ChannelDetail(APIView):
    def _channel(self, request: Request, channel_id):
        return selectors.channel_get(actor_for(request).organisation, channel_id)

    @extend_schema(responses=ChannelSerializer)
    def get(self, request: Request, channel_id: int) -> Response:
        return Response(ChannelSerializer(self._channel(request, channel_id)).data)

    @extend_schema(request=ChannelUpdateSerializer, responses=ChannelSerializer)
    def patch(self, request: Request, channel_id: int) -> Response:
        channel = services.channel_update(
            actor=actor_for(request),
            channel=self._channel(request, channel_id),
            **_valid(ChannelUpdateSerializer, request.data, partial=True),
        )
        return Response(ChannelSerializer(channel).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, channel_id: int) -> Response:
        services.channel_delete(
            actor=actor_for(request), channel=self._channel(request, channel_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelRotateSecret(APIView):
    @extend_schema(
        request=None,
        responses={200: ChannelCreatedSerializer},
        summary="Give a webhook a new signing secret (shown in this answer only)",
    )
    def post(self, request: Request, channel_id: int) -> Response:
        actor = actor_for(request)
        channel = selectors.channel_get(actor.organisation, channel_id)
        channel, secret = services.channel_rotate_secret(actor=actor, channel=channel)
        return Response({**ChannelSerializer(channel).data, "secret": secret})


class ChannelTest(APIView):
    @extend_schema(
        request=ChannelTestSerializer,
        responses={202: DeliverySerializer},
        summary="Send a test notification",
    )
    def post(self, request: Request, channel_id: int) -> Response:
        actor = actor_for(request)
        channel = selectors.channel_get(actor.organisation, channel_id)
        data = _valid(ChannelTestSerializer, request.data)
        cluster = cluster_get(actor.organisation, data["cluster"]) if data.get("cluster") else None
        delivery = services.channel_test(actor=actor, channel=channel, cluster=cluster)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class ChannelDeliveries(generics.ListAPIView):
    serializer_class = DeliverySerializer

    def get_queryset(self):
        channel = selectors.channel_get(
            actor_for(self.request).organisation, self.kwargs["channel_id"]
        )
        return selectors.deliveries_of(channel)
