from django.db import migrations


class Migration(migrations.Migration):
    """The gene registry moves to the conversion app: first its tables get that app's names."""

    dependencies = [
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="gene", table="conversion_gene"),
        migrations.AlterModelTable(name="genealias", table="conversion_genealias"),
    ]
