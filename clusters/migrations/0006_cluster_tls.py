import django.db.models.deletion
from django.db import migrations, models

CHOICES = [
    ("SASL_SSL", "SASL_SSL (TLS, SCRAM users and ACLs)"),
    ("PLAINTEXT", "PLAINTEXT (no TLS, no authentication)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("clusters", "0005_seed_aws"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClusterCA",
            fields=[
                (
                    "cluster",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="ca",
                        serialize=False,
                        to="clusters.cluster",
                    ),
                ),
                ("certificate_pem", models.TextField()),
                ("key_encrypted", models.TextField(editable=False)),
                ("client_certificate_pem", models.TextField()),
                ("client_key_encrypted", models.TextField(editable=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        # Clusters that exist already run a single PLAINTEXT listener; only new ones default to
        # SASL_SSL.
        migrations.AddField(
            model_name="cluster",
            name="security_protocol",
            field=models.CharField(choices=CHOICES, default="PLAINTEXT", max_length=16),
        ),
        migrations.AlterField(
            model_name="cluster",
            name="security_protocol",
            field=models.CharField(choices=CHOICES, default="SASL_SSL", max_length=16),
        ),
        migrations.AddField(
            model_name="node",
            name="certificate_pem",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="node",
            name="key_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
    ]
