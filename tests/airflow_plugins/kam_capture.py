"""Test-only Airflow plugin (``tests/test_airflow_backfill.py`` points
``AIRFLOW__CORE__PLUGINS_FOLDER`` here): when a ``kam_pipeline`` run's ``alerts`` task
succeeds, its task process copies that date's serving warehouse, alert state and outbox to
``$KAM_CAPTURE_DIR/<as_of>/`` (:func:`backfill_capture.capture`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


class _CaptureListener:
    @hookimpl
    def on_task_instance_success(self, previous_state, task_instance) -> None:  # noqa: ANN001
        if task_instance.dag_id != "kam_pipeline" or task_instance.task_id != "alerts":
            return
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from backfill_capture import capture

        capture(Path(os.environ["KAM_HOME"]), Path(os.environ["KAM_CAPTURE_DIR"]))


class KamCapturePlugin(AirflowPlugin):
    name = "kam_capture"
    listeners = [_CaptureListener()]
