"""Running playbooks from ansible/ with ansible-runner, streaming their output into a step log."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ansible_runner
from django.conf import settings

PLAYBOOK_DIR = Path(settings.BASE_DIR) / "ansible"


class PlaybookFailed(RuntimeError):
    """A playbook ended with failed or unreachable hosts; the message says which task failed and why."""


def run_playbook(
    playbook: str,
    inventory: dict[str, Any],
    log: Callable[[str], None],
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
) -> None:
    failures: list[str] = []

    def on_event(event: dict[str, Any]) -> bool:
        text = event.get("stdout", "").strip()
        if text:
            log(text)
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            data = event.get("event_data", {})
            if not data.get("ignore_errors"):
                result = data.get("res", {})
                reason = result.get("msg") or result.get("stderr") or "failed"
                failures.append(f"{data.get('host')}: {data.get('task')}: {reason}")
        return True

    venv_bin = str(Path(sys.executable).parent)
    with tempfile.TemporaryDirectory(prefix="ansible-run-") as private_dir:
        result = ansible_runner.run(
            private_data_dir=private_dir,
            project_dir=str(PLAYBOOK_DIR),
            playbook=playbook,
            inventory=inventory,
            extravars=extravars or {},
            limit=limit,
            event_handler=on_event,
            quiet=True,
            envvars={
                "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_HOST_KEY_CHECKING": "0",
            },
            settings={"suppress_ansible_output": True},
        )
    if result.status != "successful" or result.rc != 0:
        detail = "; ".join(failures) or f"ansible-playbook ended {result.status} (rc {result.rc})"
        raise PlaybookFailed(f"{playbook}: {detail}")
