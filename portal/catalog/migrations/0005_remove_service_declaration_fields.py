from django.db import migrations


class Migration(migrations.Migration):
    """The declaration lives in ServiceRevision now (copied by 0004)."""

    dependencies = [
        ("catalog", "0004_copy_declarations_into_revisions"),
    ]

    operations = [
        migrations.RemoveField(
            model_name='service',
            name='container_port',
        ),
        migrations.RemoveField(
            model_name='service',
            name='cpu',
        ),
        migrations.RemoveField(
            model_name='service',
            name='desired_count',
        ),
        migrations.RemoveField(
            model_name='service',
            name='health_check_path',
        ),
        migrations.RemoveField(
            model_name='service',
            name='image_tag',
        ),
        migrations.RemoveField(
            model_name='service',
            name='memory',
        ),
    ]
