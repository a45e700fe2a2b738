"""Models on real hosts: pulls, custom Modelfiles (template and declaration), create-on-change,
prune, pull retries and failures."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from .conftest import REGISTRY_URL, deploy, sh, ssh, wipe

pytestmark = pytest.mark.lab

HOSTS = ["lab01", "lab02", "lab03"]
TEMPLATE = Path(__file__).with_name("fixtures") / "assistant.Modelfile.j2"


def models_data(num_ctx: int, **extra: object) -> dict[str, object]:
    return {
        "ollama_models": ["qwen2.5:0.5b", "tinyllama:1b"],
        "ollama_custom_models": [
            {"name": "qwen2.5:0.5b-long", "from": "qwen2.5:0.5b",
             "parameters": {"num_ctx": num_ctx, "stop": ["<|im_end|>", "<|endoftext|>"]},
             "system": 'Answer in "one" line.'},
            {"name": "assistant", "modelfile": str(TEMPLATE)},
        ],
        "assistant_ctx": 4096,
        **extra,
    }


def fleet(big_ctx: int = 16384, small_ctx: int = 8192, **extra: object) -> dict[str, dict]:
    """lab01 and lab02 form the 'big' group, lab03 the 'small' one."""
    return {"lab01": models_data(big_ctx, **extra), "lab02": models_data(big_ctx, **extra),
            "lab03": models_data(small_ctx, **extra)}


def tags(name: str) -> dict[str, dict]:
    answer = json.loads(sh(name, "curl -fsS localhost:11434/api/tags"))
    return {m["name"]: m for m in answer["models"]}


def record_mtimes(name: str) -> str:
    return sh(name, "stat -c '%n %Y.%y' /var/lib/ollama-fleet/modelfiles/*.created")


def registry_fail(count: int) -> None:
    request = urllib.request.Request(
        f"{REGISTRY_URL}/_control/fail?count={count}&status=503", method="POST")
    urllib.request.urlopen(request, timeout=5).read()


@pytest.fixture(scope="module")
def converged(lab, artifacts):  # noqa: ANN001 - fixtures
    wipe(HOSTS)
    result = deploy(fleet())
    assert result.returncode == 0, result.output
    return result


def test_declared_models_are_pulled_and_created(converged) -> None:  # noqa: ANN001
    for name in HOSTS:
        present = tags(name)
        for model in ("qwen2.5:0.5b", "tinyllama:1b", "qwen2.5:0.5b-long",
                      "assistant:latest"):
            assert model in present, f"{model} missing on {name}: {sorted(present)}"


def test_show_modelfile_matches_the_declared_parameters(converged) -> None:  # noqa: ANN001
    big = sh("lab01", "ollama show --modelfile qwen2.5:0.5b-long")
    small = sh("lab03", "ollama show --modelfile qwen2.5:0.5b-long")
    assert "PARAMETER num_ctx 16384" in big
    assert "PARAMETER num_ctx 8192" in small
    assert 'PARAMETER stop "<|im_end|>"' in big or "PARAMETER stop <|im_end|>" in big
    assert "one" in big and "SYSTEM" in big
    templated = sh("lab02", "ollama show --modelfile assistant")
    assert "PARAMETER num_ctx 4096" in templated
    assert "lab02" in templated  # rendered with the host's own data


def test_second_run_pulls_and_creates_nothing(converged) -> None:  # noqa: ANN001
    before = {name: (record_mtimes(name), tags(name)) for name in HOSTS}
    result = deploy(fleet())
    assert result.returncode == 0, result.output
    for name in HOSTS:
        assert result.changed(name) == [], f"{name}: {result.changed(name)}"
        assert (record_mtimes(name), tags(name)) == before[name]


def test_changing_num_ctx_for_one_group_recreates_only_that_model_there(  # noqa: ANN001
    converged,
) -> None:
    before = {name: tags(name) for name in HOSTS}
    result = deploy(fleet(big_ctx=32768))
    assert result.returncode == 0, result.output
    for name in ("lab01", "lab02"):
        assert result.changed(name) == ["Ollama | Models"]
        after = tags(name)
        assert after["qwen2.5:0.5b-long"]["digest"] != (
            before[name]["qwen2.5:0.5b-long"]["digest"])
        assert after["assistant:latest"] == before[name]["assistant:latest"]
        assert "PARAMETER num_ctx 32768" in sh(name, "ollama show --modelfile qwen2.5:0.5b-long")
    assert result.changed("lab03") == []
    assert tags("lab03") == before["lab03"]


def test_prune_removes_exactly_the_undeclared_models_and_keeps_bases(  # noqa: ANN001
    converged,
) -> None:
    sh("lab03", "OLLAMA_HOST=127.0.0.1:11434 ollama pull smollm:135m >/dev/null")
    sh("lab03", "OLLAMA_HOST=127.0.0.1:11434 ollama cp tinyllama:1b tinyllama:copy")
    assert {"smollm:135m", "tinyllama:copy"} <= set(tags("lab03"))
    # Without prune nothing is removed.
    result = deploy({"lab03": models_data(8192)})
    assert {"smollm:135m", "tinyllama:copy"} <= set(tags("lab03"))
    # With prune: the two undeclared models go (tinyllama:copy shares every blob with a kept
    # model, so it goes by name, not by content); the declared ones and the bases stay.
    result = deploy({"lab03": models_data(8192, ollama_prune_models=True)})
    assert result.returncode == 0, result.output
    assert set(tags("lab03")) == {"qwen2.5:0.5b", "tinyllama:1b", "qwen2.5:0.5b-long",
                                  "assistant:latest"}


def test_a_failed_pull_succeeds_on_retry(converged) -> None:  # noqa: ANN001
    registry_fail(1)
    data = models_data(8192)
    data["ollama_models"] = [*data["ollama_models"], "smollm:135m"]
    result = deploy({"lab03": data}, "-vvv")  # -vvv: print command output
    assert result.returncode == 0, result.output
    assert "smollm:135m" in tags("lab03")
    assert "attempt 2" in result.output


def test_a_permanently_failing_pull_fails_that_host_while_the_others_finish(  # noqa: ANN001
    converged,
) -> None:
    ssh("lab01", "OLLAMA_HOST=127.0.0.1:11434 ollama rm smollm:135m >/dev/null 2>&1")
    broken = models_data(16384, ollama_pull_retries=2)
    broken["ollama_models"] = [*broken["ollama_models"], "nosuchmodel:1b"]
    good = models_data(16384)
    good["ollama_models"] = [*good["ollama_models"], "smollm:135m"]
    result = deploy({"lab01": good, "lab02": broken})
    assert result.returncode != 0
    assert "pull of nosuchmodel:1b failed after 2 attempt(s)" in result.output
    # The closing summary names the failed host and why.
    assert "ollama-fleet: 1 host(s) failed" in result.output
    assert "lab02: Models: pull of nosuchmodel:1b failed" in result.output
    assert result.failed("lab02") and not result.failed("lab01")
    assert "smollm:135m" in tags("lab01")


def test_a_malformed_modelfile_stops_the_run_before_any_host_is_touched(  # noqa: ANN001
    converged, tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.Modelfile"
    bad.write_text("FROM qwen2.5:0.5b\nPARAMETER num_ctx lots\n")
    before = record_mtimes("lab01")
    data = models_data(16384)
    data["ollama_custom_models"] = [{"name": "broken", "modelfile": str(bad)}]
    result = deploy({"lab01": models_data(16384), "lab02": data})
    assert result.returncode != 0
    assert f"{bad}:2" in result.output and "num_ctx" in result.output
    assert "host lab02" in result.output
    assert record_mtimes("lab01") == before
