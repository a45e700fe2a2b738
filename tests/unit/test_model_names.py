"""Model names follow Ollama's name rules: [host/][namespace/]model[:tag]."""

from __future__ import annotations

import pytest
from ollama_fleet.model_names import (
    ModelName,
    ModelNameError,
    is_valid_model_name,
    manifest_relpath,
    normalize_model_name,
    parse_model_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen2.5:7b", ModelName("registry.ollama.ai", "library", "qwen2.5", "7b")),
        ("qwen2.5", ModelName("registry.ollama.ai", "library", "qwen2.5", "latest")),
        ("library/llama3", ModelName("registry.ollama.ai", "library", "llama3", "latest")),
        ("user/model:tag", ModelName("registry.ollama.ai", "user", "model", "tag")),
        ("hf.co/org/repo:Q4_K_M", ModelName("hf.co", "org", "repo", "Q4_K_M")),
        # A ":" before the last "/" is a port, not a tag.
        ("localhost:5000/ns/m", ModelName("localhost:5000", "ns", "m", "latest")),
        ("localhost:5000/ns/m:v1", ModelName("localhost:5000", "ns", "m", "v1")),
        ("llama3:7b-instruct-q4_K_M", ModelName("registry.ollama.ai", "library", "llama3",
                                                "7b-instruct-q4_K_M")),
        ("_x/_y:_z", ModelName("registry.ollama.ai", "_x", "_y", "_z")),
        ("a" * 80 + ":" + "b" * 80, ModelName("registry.ollama.ai", "library", "a" * 80, "b" * 80)),
    ],
)
def test_parse_valid(name: str, expected: ModelName) -> None:
    assert parse_model_name(name) == expected
    assert is_valid_model_name(name)


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("", "empty name"),
        ("x:", "empty tag"),
        (":tag", "empty model"),
        ("/x", "empty namespace"),
        ("ns/", "empty model"),
        ("a//b", "empty namespace"),
        ("a/b/c/d", "too many '/'"),
        ("hf.co/repo", "host/namespace/model"),
        ("-model", "must start with a letter, digit or '_'"),
        ("model/.x", "must start with"),
        ("mo del", "whitespace"),
        (" llama3", "whitespace"),
        ("model!", "contains '!'"),
        ("ns:x/model", "namespace 'ns:x' contains ':'"),
        ("gpt-oss:20b:cloud", "':' may appear only once"),
        ("model@sha256:abcd", "digest"),
        ("https://registry.example.com/ns/model", "URL scheme"),
        ("a" * 81, "longer than 80"),
        ("ns/model:" + "t" * 81, "longer than 80"),
        ("h" * 351 + "/ns/model", "longer than 350"),
        ("modèle", "contains 'è'"),
    ],
)
def test_parse_invalid(name: str, phrase: str) -> None:
    with pytest.raises(ModelNameError) as info:
        parse_model_name(name)
    assert phrase in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not is_valid_model_name(name)


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("qwen2.5", "qwen2.5:latest"),
        ("qwen2.5:7b", "qwen2.5:7b"),
        ("library/llama3", "llama3:latest"),
        ("registry.ollama.ai/library/llama3:8b", "llama3:8b"),
        # Defaults are recognised case-insensitively, as Ollama compares them.
        ("Registry.Ollama.AI/Library/llama3", "llama3:latest"),
        ("registry.ollama.ai/user/model", "user/model:latest"),
        ("user/model:tag", "user/model:tag"),
        ("hf.co/org/repo:Q4_K_M", "hf.co/org/repo:Q4_K_M"),
        ("hf.co/org/repo", "hf.co/org/repo:latest"),
    ],
)
def test_normalize(name: str, normal: str) -> None:
    assert normalize_model_name(name) == normal
    # Normalising is idempotent, so normalised names compare directly.
    assert normalize_model_name(normal) == normal
    assert str(parse_model_name(name)) == normal


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("qwen2.5:7b", "manifests/registry.ollama.ai/library/qwen2.5/7b"),
        ("llama3", "manifests/registry.ollama.ai/library/llama3/latest"),
        ("user/model:tag", "manifests/registry.ollama.ai/user/model/tag"),
        ("hf.co/org/repo:Q4_K_M", "manifests/hf.co/org/repo/Q4_K_M"),
    ],
)
def test_manifest_path(name: str, path: str) -> None:
    assert manifest_relpath(name) == path
    assert parse_model_name(name).manifest_path == path


def test_full_name() -> None:
    assert parse_model_name("llama3").full == "registry.ollama.ai/library/llama3:latest"


def test_error_carries_reason() -> None:
    with pytest.raises(ModelNameError) as info:
        normalize_model_name("x:")
    assert info.value.name == "x:"
    assert info.value.reason == "empty tag after ':'"
