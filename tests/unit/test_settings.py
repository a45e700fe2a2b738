"""Settings: Ollama's parsing rules, minus its silent fallbacks; errors name host, key, value."""

from __future__ import annotations

import pytest
from ollama_fleet.settings import OllamaSettings, SettingsError, settings_from_data

BASE = {"ollama_version": "0.13.5"}


def settings(**data: object) -> OllamaSettings:
    return settings_from_data({**BASE, **{f"ollama_{k}": v for k, v in data.items()}}, "web1")


def error_for(**data: object) -> str:
    with pytest.raises(SettingsError) as caught:
        settings(**data)
    return str(caught.value)


def test_defaults_render_upstream_environment() -> None:
    env = settings().environment()
    assert env == {
        "OLLAMA_HOST": "127.0.0.1:11434",
        "OLLAMA_MODELS": "/usr/share/ollama/.ollama/models",
    }


def test_every_knob_reaches_the_environment() -> None:
    env = settings(
        keep_alive="1h30m", load_timeout=600, context_length=32768, num_parallel=4,
        max_loaded_models=2, max_queue=128, flash_attention=True, kv_cache_type="q8_0",
        origins=["https://a.example", "app://*"], gpu_overhead=1 << 30, sched_spread=False,
        noprune=True, debug=1, cuda_visible_devices="0,1", no_proxy=["registry.local"],
        extra_env={"OLLAMA_NOHISTORY": "1"},
    ).environment()
    assert env["OLLAMA_KEEP_ALIVE"] == "1h30m"
    assert env["OLLAMA_LOAD_TIMEOUT"] == "600"
    assert env["OLLAMA_CONTEXT_LENGTH"] == "32768"
    assert env["OLLAMA_FLASH_ATTENTION"] == "1"
    assert env["OLLAMA_SCHED_SPREAD"] == "0"
    assert env["OLLAMA_ORIGINS"] == "https://a.example,app://*"
    assert env["OLLAMA_GPU_OVERHEAD"] == str(1 << 30)
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env["NO_PROXY"] == "registry.local"
    assert env["OLLAMA_NOHISTORY"] == "1"


@pytest.mark.parametrize(
    ("data", "key", "phrase"),
    [
        ({"keep_alive": "1d"}, "ollama_keep_alive = '1d'", "there is no d or w"),
        ({"keep_alive": "24hours"}, "ollama_keep_alive = '24hours'", "Go duration"),
        ({"load_timeout": "5 min"}, "ollama_load_timeout", "Go duration"),
        ({"port": 0}, "ollama_port = 0", "1 to 65535"),
        ({"port": 70000}, "ollama_port = 70000", "1 to 65535"),
        ({"num_parallel": "four"}, "ollama_num_parallel = 'four'", "whole number"),
        ({"num_parallel": 2.5}, "ollama_num_parallel = 2.5", "whole number"),
        ({"kv_cache_type": "q5_1"}, "ollama_kv_cache_type = 'q5_1'", "f16, q8_0 or q4_0"),
        ({"models_dir": "models"}, "ollama_models_dir = 'models'", "absolute path"),
        ({"extra_env": {"HTTP_PROXY": "http://p:3128"}}, "ollama_extra_env", "breaks"),
        ({"extra_env": {"OLLAMA_HOST": "0.0.0.0"}}, "ollama_extra_env", "host / port"),
        ({"version": "latest"}, "ollama_version = 'latest'", "release number"),
        ({"version": "0.5.12", "context_length": 8192}, "ollama_context_length = 8192",
         "0.5.13"),
        ({"host": "http://10.0.0.5", "expose_unauthenticated": True}, "ollama_host",
         "port 80"),
        ({"host": "10.0.0.5:8080", "port": 9090, "expose_unauthenticated": True},
         "ollama_port = 9090", "carries port 8080"),
        ({"host": "https://10.0.0.5:443"}, "ollama_host", "plain HTTP"),
        ({"debug": 3}, "ollama_debug = 3", "0, 1 or 2"),
        ({"rollout_batch": "0%"}, "ollama_rollout_batch", "percentage"),
        ({"allow_networks": ["10.0.0.0/33"]}, "ollama_allow_networks", "CIDR"),
    ],
)
def test_bad_values_are_refused_with_host_key_value_and_accepted(
    data: dict, key: str, phrase: str
) -> None:
    message = error_for(**data)
    assert "host web1" in message
    assert key in message
    assert phrase in message


def test_unknown_key_suggests_the_right_one() -> None:
    message = error_for(num_paralel=4)
    assert "ollama_num_paralel is not a setting" in message
    assert "did you mean ollama_num_parallel" in message


def test_port_is_folded_into_ollama_host() -> None:
    assert settings(port=8080).environment()["OLLAMA_HOST"] == "127.0.0.1:8080"
    assert settings(host="[::1]", port=8080).environment()["OLLAMA_HOST"] == "[::1]:8080"
    assert settings(host="127.0.0.1:9000", port=9000).bind.port == 9000


def test_exposure_needs_an_allowlist_or_an_acknowledgement() -> None:
    message = error_for(host="0.0.0.0")
    assert "no authentication" in message
    assert "allow_networks" in message and "expose_unauthenticated" in message
    assert settings(host="0.0.0.0", allow_networks=["10.0.0.0/8"]).bind.host == "0.0.0.0"
    assert settings(host=":8080", expose_unauthenticated=True).bind.client_url == (
        "http://127.0.0.1:8080")


def test_secrets_never_appear_in_errors_or_environment() -> None:
    message = error_for(https_proxy="socks5://user:hunter2@proxy")
    assert "hunter2" not in message
    good = settings(https_proxy="http://user:hunter2@proxy:3128")
    assert "HTTPS_PROXY" not in good.environment()
    assert good.secret_environment() == {"HTTPS_PROXY": "http://user:hunter2@proxy:3128"}
    assert "hunter2" not in repr(good)


def test_every_problem_of_a_host_is_reported_at_once() -> None:
    message = error_for(keep_alive="1d", port=0, kv_cache_type="q2")
    assert message.count("host web1") == 3


def test_environment_variables_override_inventory_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_FLEET_NUM_PARALLEL", "6")
    monkeypatch.setenv("OLLAMA_FLEET_ORIGINS", '["https://ci.example"]')
    env = settings(num_parallel=2).environment()
    assert env["OLLAMA_NUM_PARALLEL"] == "6"
    assert env["OLLAMA_ORIGINS"] == "https://ci.example"


def test_archive_format_follows_upstream_switch_to_zstd() -> None:
    assert settings(version="0.13.5").archive_filename("amd64") == "ollama-linux-amd64.tgz"
    assert settings(version="0.14.0").archive_filename("arm64") == "ollama-linux-arm64.tar.zst"
    assert settings(version="0.14.0", archive_format="tgz").archive_ext == "tgz"


def test_settings_reference_is_generated_from_the_model() -> None:
    from pathlib import Path

    from ollama_fleet.settings_doc import render

    docs = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    assert docs.read_text() == render(), "run: ollama-fleet settings > docs/settings.md"
    for name in OllamaSettings.model_fields:
        assert f"`ollama_{name}`" in docs.read_text()
