from django.db import migrations, models


def storage_from_size(apps, schema_editor):
    cluster_model = apps.get_model("clusters", "Cluster")
    for cluster in cluster_model.objects.select_related("node_size"):
        cluster.storage_gib = cluster.node_size.disk_gib
        cluster.save(update_fields=["storage_gib"])


class Migration(migrations.Migration):
    dependencies = [
        ("clusters", "0003_node_size_and_resize"),
    ]

    operations = [
        migrations.AddField(
            model_name="cluster",
            name="storage_gib",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(storage_from_size, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="cluster",
            name="storage_gib",
            field=models.PositiveIntegerField(),
        ),
        migrations.AddField(
            model_name="cluster",
            name="allowed_cidrs",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="cluster",
            name="provider_data",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="node",
            name="provider_data",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="node",
            name="dataplane_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="+",
                to="clusters.dataplaneversion",
            ),
        ),
        migrations.AddField(
            model_name="provider",
            name="config",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="provider",
            name="credentials_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="provider",
            name="storage_gib_hourly_price",
            field=models.DecimalField(decimal_places=6, default=0, max_digits=10),
        ),
        migrations.AddField(
            model_name="dataplaneversion",
            name="package",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AlterField(
            model_name="dataplaneversion",
            name="version",
            field=models.CharField(max_length=40, unique=True),
        ),
    ]
