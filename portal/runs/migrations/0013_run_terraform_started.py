from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0012_run_settled_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="terraform_started",
            field=models.BigIntegerField(
                blank=True,
                help_text="When the process terraform_pid names started (clock ticks since boot): its id may be another "
                "process's once it has ended, its start may not. Empty on runs recorded before it was kept.",
                null=True,
            ),
        ),
    ]
