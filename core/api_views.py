"""API: token, trial configuration (read-only), audit trail."""

from django.contrib.auth import authenticate
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core.api import updated_since
from core.models import Arm, Site, Timepoint
from labs.models import Analyte


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenApi(APIView):
    """POST username and password → {"token": ...}; failures count towards the account lockout."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AnonRateThrottle]
    serializer_class = TokenRequestSerializer

    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request, **serializer.validated_data)
        if user is None:
            return Response({"non_field_errors": ["Unable to log in with these credentials."]}, status=400)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["code", "name"]


class ArmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Arm
        fields = ["code", "label", "is_control"]


class TimepointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Timepoint
        fields = ["code", "label", "day_offset", "window_before", "window_after"]


class AnalyteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Analyte
        fields = ["code", "name", "canonical_unit", "accepted_units", "hard_max"]


class ConfigListApi(ListAPIView):
    """Configuration tables have no timestamps: `updated_since` is answered from their audit events."""

    def get_queryset(self):
        queryset = self.queryset.all()
        if not self.request.query_params.get("updated_since"):
            return queryset
        events = updated_since(self.request, self.queryset.model.pgh_event_model.objects.all(), "pgh_created_at")
        return queryset.filter(pk__in=events.values("pgh_obj_id"))


class SiteListApi(ConfigListApi):
    queryset = Site.objects.all()
    serializer_class = SiteSerializer


class ArmListApi(ConfigListApi):
    queryset = Arm.objects.all()
    serializer_class = ArmSerializer


class TimepointListApi(ConfigListApi):
    queryset = Timepoint.objects.all()
    serializer_class = TimepointSerializer


class AnalyteListApi(ConfigListApi):
    queryset = Analyte.objects.all()
    serializer_class = AnalyteSerializer
