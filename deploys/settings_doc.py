"""Render docs/settings.md from the settings model, so the docs cannot drift from the code.

    python -m deploys.settings_doc > docs/settings.md
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticUndefined

from .settings import DATA_PREFIX, ENV_PREFIX, OllamaSettings

HEADER = f"""# Settings reference

Generated from `deploys/settings.py` by `python -m deploys.settings_doc`; do not edit by hand.

Each setting is a pyinfra data key `{DATA_PREFIX}<name>` (in `group_data/*.py`, in the inventory,
or `--data {DATA_PREFIX}<name>=value`). Later sources win: `group_data/all.py`, then group
data, then host data, then `--data`; an environment variable `{ENV_PREFIX}<NAME>` (JSON for
lists and mappings) overrides them all, for CI pipelines. Every value is validated for every
host before any host is touched; unknown `{DATA_PREFIX}*` keys are errors.

| setting | default | accepted | what it does |
|---|---|---|---|
"""


def _default(value: Any) -> str:
    if value is PydanticUndefined:
        return "(required)"
    if value is None:
        return "unset"
    return f"`{json.dumps(value)}`"


def render() -> str:
    rows = []
    for name, info in OllamaSettings.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        accepted = str(extra.get("accepted", "") or "true or false")
        description = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{DATA_PREFIX}{name}` | {_default(info.default)} | "
                    f"{accepted.replace('|', chr(92) + '|')} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
