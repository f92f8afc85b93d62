"""Every file in ../shared/data/identity is read: recognised by content, nothing rejected."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import IDENTITY, ingest_paths

EXPECTED = {
    "entra_auditlogs/otrf_GoldenSAMLADFSMailAccess_AADAuditEvents.json": ("entra_audit", 0),
    "entra_auditlogs/sentinel-traininglab_AuditLogs_Hunting.csv": ("entra_audit", 0),
    "entra_diagnostic_records/elastic-integrations_test-signinlogs-raw_subset.ndjson": (
        "entra_diagnostic", 2,
    ),
    "entra_signinlogs/sentinel-traininglab_disable_accounts.csv": ("entra_sentinel", 4),
    "entra_signinlogs/sentinel-traininglab_sign-in_adelete.csv": ("entra_sentinel", 56),
    "google_workspace/azure-sentinel_GWorkspace_ReportsAPI_login_CL.json": ("google_login", 3),
    "google_workspace/elastic-integrations_google_workspace_test-login.log": ("google_login", 17),
    "linux_sshd/LICENSE-loghub.txt": (None, 0),
    "linux_sshd/loghub_Linux_2k.log": ("sshd_syslog", 489),
    "linux_sshd/loghub_OpenSSH_2k.log": ("sshd_syslog", 529),
    "linux_sshd/loghub_OpenSSH_2k.log_structured.csv": ("sshd_loghub_csv", 529),
    "linux_sshd/loghub_OpenSSH_2k.log_templates.csv": ("loghub_templates", 0),
    "m365_officeactivity/elastic-integrations_o365-azuread-sts-logon_raw_subset.ndjson": (
        "m365_audit", 2,
    ),
    "m365_officeactivity/otrf_GoldenSAMLADFSMailAccess_OfficeActivityEvents.json": (
        "m365_officeactivity", 1,
    ),
    "m365_officeactivity/sentinel-traininglab_office_activity.csv": ("m365_officeactivity", 11),
    "m365_officeactivity/sentinel-traininglab_office_activity_inbox_rule.csv": (
        "m365_officeactivity", 2,
    ),
    "okta_systemlog/azure-sentinel_Okta_CL_subset.json": ("okta_sentinel", 2),
    "okta_systemlog/elastic-integrations_okta-system-events_subset.ndjson": ("okta_systemlog", 8),
}  # fmt: skip


def test_every_shared_identity_file_is_read(tmp_path: Path) -> None:
    got = ingest_paths(tmp_path, IDENTITY)
    seen = {
        str(Path(r.path).relative_to(IDENTITY)): (r.format, r.events) for r in got.result.reports
    }
    assert seen == EXPECTED
    assert got.rejects.count == 0, [(r.file, r.line, r.reason) for r in got.rejects.kept[:5]]
    for report in got.result.reports:
        # Everything read is either an event or a skip with a reason; nothing vanishes.
        if report.format:
            assert report.records >= report.events
            assert all(reason.strip() for reason in report.skipped)
    # The structured CSV repeats the .log's lines: the same events, stored once.
    assert got.result.commit.duplicates == 529
