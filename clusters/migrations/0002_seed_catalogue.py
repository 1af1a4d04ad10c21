from django.db import migrations


def seed(apps, schema_editor):
    from clusters.catalogue import seed_catalogue

    seed_catalogue(apps)


class Migration(migrations.Migration):
    dependencies = [("clusters", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
