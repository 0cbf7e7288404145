"""The package layout; everything else is in pyproject.toml.

The design card's top-level folders (flows/, tasks/, models/) install as subpackages of one
package, `kofu`: kofu.flows, kofu.tasks, kofu.models. kofu/ itself holds the ground floor
(kofu.base) and the roof (kofu.cli)."""

from setuptools import find_packages, setup

FOLDERS = ("flows", "tasks", "models")

setup(
    packages=[
        *find_packages(include=["kofu", "kofu.*"]),
        *(
            f"kofu.{name}"
            for name in find_packages(include=[*FOLDERS, *(f"{f}.*" for f in FOLDERS)])
        ),
        # Alembic's scripts: folders without __init__.py, which find_packages skips.
        "kofu.models.migrations",
        "kofu.models.migrations.versions",
    ],
    package_dir={f"kofu.{folder}": folder for folder in FOLDERS},
)
