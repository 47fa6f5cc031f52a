"""The one environment reader every settings module uses."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env file is a convenience for development; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Files the embedded defaults write (SQLite, the filesystem broker, e-mail and SMS files, the
# generated staff password). The test settings point it at a temporary folder.
VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
