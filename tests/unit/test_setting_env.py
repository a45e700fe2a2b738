"""Each setting names its environment variable once, in its field's metadata; everything else
(environment(), secret_environment(), RESERVED_ENV, the Linux drop-in, the Windows machine
variables) is derived from that. These tests fail if a hand-written table of names reappears."""

from __future__ import annotations

import ast
from pathlib import Path

import ollama_fleet
import pytest
from ollama_fleet.settings import (
    RESERVED_ENV,
    SECRET_FIELDS,
    OllamaSettings,
    env_fields,
    field_extra,
    settings_from_data,
)

# A value each field with env metadata accepts, different from its default.
SAMPLE = {
    "host": "0.0.0.0", "port": 8080, "models_dir": "/srv/models", "keep_alive": "10m",
    "load_timeout": "5m", "context_length": 4096, "num_parallel": 2, "max_loaded_models": 3,
    "max_queue": 9, "flash_attention": True, "kv_cache_type": "q8_0",
    "origins": ["https://a.example.com"], "gpu_overhead": 5, "sched_spread": False,
    "noprune": True, "debug": 1, "cuda_visible_devices": "0,1", "hip_visible_devices": "1",
    "rocr_visible_devices": "2", "hsa_override_gfx_version": "10.3.0",
    "https_proxy": "http://proxy:3128", "no_proxy": [".example.com"],
    "windows_models_dir": r"D:\models",
}
SOURCE = Path(ollama_fleet.__file__).parent


def test_every_field_with_env_metadata_reaches_the_environment_when_set() -> None:
    fields = env_fields()
    assert {field for field, _ in fields} == set(SAMPLE), "give the new field a SAMPLE value"
    for field, var in fields:
        platform = field_extra(field).get("env_platform", "linux")
        data = {"ollama_version": "0.13.5", "ollama_platform": platform,
                "ollama_expose_unauthenticated": True, f"ollama_{field}": SAMPLE[field]}
        settings = settings_from_data(data, "h1", environ={})
        env = settings.secret_environment() if field in SECRET_FIELDS else settings.environment()
        assert var in env, f"{field} is set but {var} is not in the server's environment"
        default = OllamaSettings(version="0.13.5", platform=platform)
        unset = (default.secret_environment() if field in SECRET_FIELDS
                 else default.environment())
        assert env[var] != unset.get(var), f"{field}'s value does not reach {var}"


def test_reserved_names_are_the_metadata_names() -> None:
    assert set(RESERVED_ENV) == {var for _, var in env_fields()}


def test_extra_env_cannot_smuggle_a_variable_that_has_a_setting() -> None:
    for var in RESERVED_ENV:
        for spelling in (var, var.lower()):
            with pytest.raises(ValueError, match="has a setting of its own"):
                settings_from_data({"ollama_version": "0.13.5",
                                    "ollama_extra_env": {spelling: "x"}}, "h1", environ={})


def test_drop_in_lines_follow_the_declared_order() -> None:
    """OLLAMA_HOST and OLLAMA_MODELS first, then field order: existing drop-ins stay
    byte-identical (a changed drop-in restarts the host)."""
    env = settings_from_data({"ollama_version": "0.13.5", "ollama_keep_alive": "1m",
                              "ollama_num_parallel": 2}, "h1", environ={}).environment()
    assert list(env) == ["OLLAMA_HOST", "OLLAMA_MODELS", "OLLAMA_KEEP_ALIVE",
                         "OLLAMA_NUM_PARALLEL"]


def test_no_module_spells_a_setting_variable_name_outside_settings() -> None:
    """Only settings.py may write e.g. "OLLAMA_KEEP_ALIVE" as a string: a literal anywhere else
    in the package is the start of a second table."""
    names = set(RESERVED_ENV)
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name == "settings.py" and path.parent == SOURCE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and node.value in names):
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno}: {node.value}")
    assert found == []
