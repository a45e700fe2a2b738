"""Environment parsing must accept exactly what upstream envconfig accepts."""

from __future__ import annotations

import pytest
from ollama_standin import envconfig
from ollama_standin.gocompat import format_duration


@pytest.mark.parametrize(("value", "expected"), [
    ("", "http://127.0.0.1:11434"),
    ("0.0.0.0", "http://0.0.0.0:11434"),
    (":1234", "http://:1234"),
    ("127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://example.com", "http://example.com:80"),
    ("https://example.com", "https://example.com:443"),
    ("http://example.com:9999/base", "http://example.com:9999/base"),
    ("[::1]", "http://[::1]:11434"),
    ("::1", "http://[::1]:11434"),
    ("[::]:8080", "http://[::]:8080"),
    ("  '0.0.0.0:5000'  ", "http://0.0.0.0:5000"),
    ("example.com", "http://example.com:11434"),
    ("ollama.com", "https://ollama.com:443"),
])
def test_host(value: str, expected: str) -> None:
    assert str(envconfig.host({"OLLAMA_HOST": value})) == expected


@pytest.mark.parametrize("value", ["127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:abc"])
def test_invalid_port_is_logged_and_replaced(value: str, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    assert envconfig.host({"OLLAMA_HOST": value}).port == "11434"
    assert 'msg="invalid port, using default"' in capsys.readouterr().err


@pytest.mark.parametrize(("value", "expected"), [
    ("", "5m0s"), ("10m", "10m0s"), ("1h30m", "1h30m0s"), ("300ms", "300ms"),
    ("3600", "1h0m0s"), ("0", "0s"), ("-1", "2562047h47m16.854775807s"),
    ("1d", "5m0s"), ("24hours", "5m0s"), ("1w", "5m0s"),  # silently the default
])
def test_keep_alive(value: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert format_duration(envconfig.keep_alive({"OLLAMA_KEEP_ALIVE": value})) == expected
    assert capsys.readouterr().err == ""  # upstream does not log a bad keep-alive


def test_keep_alive_fallback_shows_in_server_config() -> None:
    values = envconfig.values({"OLLAMA_KEEP_ALIVE": "1d", "HOME": "/h"})
    assert values["OLLAMA_KEEP_ALIVE"] == "5m0s"
    assert "OLLAMA_KEEP_ALIVE:5m0s" in envconfig.format_map(values)


@pytest.mark.parametrize(("value", "expected", "logged"), [
    ("4", 4, False), ("0", 0, False), ("-1", 1, True), ("two", 1, True), ("1.5", 1, True),
])
def test_uint(value: str, expected: int, logged: bool, capsys: pytest.CaptureFixture[str]
              ) -> None:
    assert envconfig.num_parallel({"OLLAMA_NUM_PARALLEL": value}) == expected
    assert ("invalid environment variable" in capsys.readouterr().err) is logged


@pytest.mark.parametrize(("value", "expected"), [
    ("", False), ("1", True), ("false", False), ("FALSE", False), ("0", False),
    ("yes", True), ("no", True), ("off", True),  # not Go bools: TRUE, as upstream
])
def test_bool(value: str, expected: bool) -> None:
    assert envconfig.no_prune({"OLLAMA_NOPRUNE": value}) is expected


def test_models_default_and_origins() -> None:
    assert envconfig.models({"HOME": "/home/u"}) == "/home/u/.ollama/models"
    assert envconfig.models({"OLLAMA_MODELS": '"/data/m"'}) == "/data/m"
    origins = envconfig.allowed_origins({"OLLAMA_ORIGINS": "https://a.example,https://b"})
    assert origins[:2] == ["https://a.example", "https://b"] and "app://*" in origins


def test_context_length_default_and_debug_level() -> None:
    assert envconfig.context_length({}) == 4096
    assert envconfig.values({"OLLAMA_DEBUG": "2", "HOME": "/h"})["OLLAMA_DEBUG"] == "DEBUG-4"
