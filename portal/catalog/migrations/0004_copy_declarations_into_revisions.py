from django.db import migrations


def copy_declarations_into_revisions(apps, schema_editor):
    """Each service's declaration becomes its revision 1. It counts as applied when the latest run
    of its service workspace applied it; otherwise nothing is applied yet."""
    Service = apps.get_model("catalog", "Service")
    ServiceRevision = apps.get_model("catalog", "ServiceRevision")
    Run = apps.get_model("runs", "Run")
    fields = ["container_port", "cpu", "memory", "desired_count", "health_check_path", "image_tag"]
    for service in Service.objects.all():
        revision = ServiceRevision.objects.create(
            service=service, number=1, proposed_by_id=service.created_by_id,
            **{field: getattr(service, field) for field in fields},
        )
        latest = (
            Run.objects.filter(workspace__service=service, workspace__module="ecs-service")
            .order_by("-created_at").first()
        )
        if latest is not None and latest.status == "applied":
            service.applied_revision = revision
            service.save(update_fields=["applied_revision"])


class Migration(migrations.Migration):
    # Its own migration (own transaction): PostgreSQL refuses to alter a table with pending
    # constraint checks from rows written in the same transaction.

    dependencies = [
        ("catalog", "0003_service_revisions_and_lifecycle"),
        ("runs", "0002_alter_run_kind_change_run_change"),
    ]

    operations = [
        migrations.RunPython(copy_declarations_into_revisions, migrations.RunPython.noop),
    ]
