from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.services import ImportFileError, customers_import_csv


class Command(BaseCommand):
    help = (
        "Import customers from a CSV file (UTF-8, header row). Phones become E.164, e-mails lower case; "
        "rows matching an existing customer by external id, e-mail or phone update it, filling in blank "
        "identifiers but never replacing one. Bad and conflicting rows are reported by line number and "
        "skipped; the exit status is 1 when any row was rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--region", help="Region for local phone numbers (default: DEFAULT_PHONE_REGION)")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report, write nothing")

    def handle(self, *args, path: Path, region, dry_run, **options):
        try:
            with path.open(encoding="utf-8-sig", newline="") as file:
                report = customers_import_csv(file=file, region=region, dry_run=dry_run)
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text") from None
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        for error in report.errors:
            self.stderr.write(str(error))
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(prefix + report.summary)
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} row(s) rejected; the other rows were imported"
                if not dry_run
                else f"{len(report.errors)} row(s) would be rejected"
            )
