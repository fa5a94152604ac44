import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # Apart from 0008, so that the rows it updated are not pending when the column becomes NOT NULL.
    dependencies = [("catalog", "0008_service_team")]

    operations = [
        migrations.AlterField(
            model_name="service",
            name="team",
            field=models.ForeignKey(
                help_text="The team that owns it: its members change and deploy it. Moved only by an admin.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="services",
                to="access.team",
            ),
        ),
    ]
