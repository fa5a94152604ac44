from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0013_run_terraform_started"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="worker_started",
            field=models.BigIntegerField(
                blank=True, help_text="When the process worker_pid names started (clock ticks since boot, as terraform_started).", null=True
            ),
        ),
    ]
