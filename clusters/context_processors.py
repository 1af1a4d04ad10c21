from clusters.models import Membership


def organisation(request) -> dict:
    """The signed-in member's organisation and role, for the console's header."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    membership = Membership.objects.select_related("organisation").filter(user=user).first()
    return {"membership": membership}
