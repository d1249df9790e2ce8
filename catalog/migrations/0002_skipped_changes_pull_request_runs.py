"""SyncRun.changes may list skipped repositories; stored GitHub runs of pull requests are deleted.

Syncs and webhooks no longer keep a pull request's workflow run as a run of the default branch (GitHub's
``?branch=`` lists those whose head branch has that name, a fork's included). The ones kept before are
deleted here; each pipeline's latest status is recomputed by its next sync.
"""

from django.db import migrations, models

GITHUB_ACTIONS = "github-actions"  # catalog.connectors.github.PROVIDER when this migration was written


def delete_pull_request_runs(apps, schema_editor):
    PipelineRun = apps.get_model("catalog", "PipelineRun")
    PipelineRun.objects.filter(pipeline__provider=GITHUB_ACTIONS, event__startswith="pull_request").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="syncrun",
            name="changes",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='What changed: {"created"|"updated"|"orphaned"|"skipped": {kind: [names]}}.',
            ),
        ),
        migrations.RunPython(delete_pull_request_runs, migrations.RunPython.noop),
    ]
