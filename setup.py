"""The wheel carries the dbt project: ``dbt_project/`` is copied into the built package as
``kam_transforms/dbt_project`` (``kam_transforms.config.DBT_PROJECT_DIR`` finds it there when
``kam`` does not run from a checkout). Everything else is in ``pyproject.toml``."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: What dbt writes into a project folder: never shipped.
NOT_SHIPPED = shutil.ignore_patterns(
    "target", "logs", "dbt_packages", ".user.yml", "__pycache__", "*.pyc", "*.duckdb*"
)


class BuildPyWithDbtProject(build_py):
    """``build_py`` that also copies the dbt project into the package (not for editable
    installs: those read ``dbt_project/`` of the checkout)."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            shutil.copytree(
                HERE / "dbt_project",
                Path(self.build_lib) / "kam_transforms" / "dbt_project",
                ignore=NOT_SHIPPED,
                dirs_exist_ok=True,
            )


setup(cmdclass={"build_py": BuildPyWithDbtProject})
