"""REST API for operations: follow one, retry a failed one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.api.serializers import OperationSerializer
from clusters.permissions import actor_for
from provisioning import selectors, services


class OperationDetail(APIView):
    @extend_schema(responses=OperationSerializer)
    def get(self, request: Request, operation_id) -> Response:
        operation = selectors.operation_get(actor_for(request).organisation, operation_id)
        return Response(OperationSerializer(operation).data)


class OperationRetry(APIView):
    @extend_schema(request=None, responses={202: OperationSerializer})
    def post(self, request: Request, operation_id) -> Response:
        actor = actor_for(request)
        operation = selectors.operation_get(actor.organisation, operation_id)
        operation = services.operation_retry(actor=actor, operation=operation)
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)


class OperationCancel(APIView):
    @extend_schema(request=None, responses={202: OperationSerializer})
    def post(self, request: Request, operation_id) -> Response:
        actor = actor_for(request)
        operation = selectors.operation_get(actor.organisation, operation_id)
        operation = services.operation_cancel(actor=actor, operation=operation)
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)
