"""Render docs/settings.md from the settings model, so the docs cannot drift from the code.

    ollama-fleet settings > docs/settings.md
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticUndefined

from .settings import DATA_PREFIX, ENV_PREFIX, OllamaSettings

HEADER = f"""# Settings reference

Generated from `deploys/settings.py` (`ollama_fleet.settings`) by `ollama-fleet settings`; do not
edit by hand.

Each setting is a pyinfra data key `{DATA_PREFIX}<name>` (in `group_data/*.py`, in the inventory,
or `--data {DATA_PREFIX}<name>=value`). Later sources win: `group_data/all.py`, then group
data, then host data, then `--data`; an environment variable `{ENV_PREFIX}<NAME>` (JSON for
lists and mappings) overrides them all, for CI pipelines; an `{ENV_PREFIX}*` variable that
names no setting is an error (except the `{ENV_PREFIX}LAB_*` and `{ENV_PREFIX}TEST_*` variables
of the lab and the test suites). Every value is validated for every host before any host is
touched, and every problem of every host is listed at once; unknown `{DATA_PREFIX}*` keys are
errors.

Every string, at any depth (list items, mapping keys and values, nested settings, secrets), is
refused when it holds a control character (U+0000 to U+001F, U+007F, U+0080 to U+009F, U+2028,
U+2029), leading or trailing whitespace, or wrapping quotes: nothing is stripped, the value
checked is the value written. `extra_env` values are carried byte-exact, so edge spaces and
quotes are allowed there (control characters are not). Only the multi-line Modelfile text of a
custom model (`system`, `template`, message `content`) may hold line feeds and tabs.

Legal but suspicious values (thresholds in the table below) are warned about before any change
and again at the end of the run; `{DATA_PREFIX}strict: true` makes them errors.

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


if __name__ == "__main__":  # the same as `ollama-fleet settings`
    print(render(), end="")
