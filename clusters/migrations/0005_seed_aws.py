from django.db import migrations


def seed(apps, schema_editor):
    from clusters.catalogue import seed_aws

    seed_aws(apps)


class Migration(migrations.Migration):
    dependencies = [("clusters", "0004_storage_versions_provider_data")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
