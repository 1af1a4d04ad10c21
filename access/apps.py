from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Kafka users, ACLs and firewall rules"
    default_auto_field = "django.db.models.BigAutoField"
