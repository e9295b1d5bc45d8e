"""``moonhook check``: the scripts tried the way the engine loads them, and the settings looked
at as ``moonhook run`` reads them; one finding a line (``engine.app.checker``), each script
named by its path, then a line for each folder checked.

Exit status: 0 when nothing is an error (warnings included); 1 on any error; 2 when its engine
could not start (the sandbox's workers dying as they start: ``engine.interfaces.refused``)."""

from __future__ import annotations

import argparse

from engine.domain.config import Settings
from engine.interfaces.refused import REFUSED_EXIT, run_unless_refused


def main(a: argparse.Namespace, settings: Settings) -> int:
    from engine.app.checker import check_files, settings_findings, summary

    settings_file = str(a.config)
    checked = run_unless_refused(check_files, a.files, settings.engine, settings_file)
    if checked is None:
        return REFUSED_EXIT
    findings = [*settings_findings(settings, settings_file), *checked]
    for finding in findings:
        print(finding)
    for line in summary(findings):
        print(line)
    return 1 if any(f.level == "error" for f in findings) else 0
