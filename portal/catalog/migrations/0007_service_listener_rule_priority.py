from django.db import migrations, models
from django.db.models import Q


def keep_todays_priorities(apps, schema_editor):
    """A live service keeps the priority its rule has (its id, as the portal gave it until now), so
    that no plan moves a rule."""
    Service = apps.get_model("catalog", "Service")
    for service in Service.objects.exclude(status="decommissioned").only("pk"):
        Service.objects.filter(pk=service.pk).update(listener_rule_priority=service.pk)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_service_secrets")]

    operations = [
        migrations.AddField(
            model_name="service",
            name="listener_rule_priority",
            field=models.PositiveIntegerField(
                blank=True,
                editable=False,
                help_text="Its rule's priority on the shared listener, 1-100: one slot per live service.",
                null=True,
            ),
        ),
        migrations.RunPython(keep_todays_priorities, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="service",
            constraint=models.UniqueConstraint(
                condition=~Q(status="decommissioned"),
                fields=("listener_rule_priority",),
                name="one_live_service_per_listener_rule_priority",
            ),
        ),
    ]
