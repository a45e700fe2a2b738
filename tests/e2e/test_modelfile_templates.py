"""A shipped Modelfile template with a real multi-line Go TEMPLATE and a per-host value, deployed
to a lab host: `ollama show --modelfile` there shows the TEMPLATE exactly as written and the
SYSTEM prompt with that host's value."""

from __future__ import annotations

import json

import pytest
from ollama_fleet.modelfile import parse_modelfile

from .conftest import deploy, sh, wipe

pytestmark = pytest.mark.lab

HOST = "lab03"
TEMPLATE_FILE = "templates/modelfiles/chatml-assistant.Modelfile.j2"
GO_TEMPLATE = (
    "{{- if .System }}<|im_start|>system\n"
    "{{ .System }}<|im_end|>\n"
    "{{ end }}\n"
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n"
    "{{ .Content }}<|im_end|>\n"
    "{{ end }}<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def deployed(lab, artifacts):  # noqa: ANN001 - fixtures
    wipe([HOST])
    result = deploy({HOST: {
        "ollama_models": ["qwen2.5:0.5b"],
        "ollama_custom_models": [{"name": "site-assistant", "modelfile": TEMPLATE_FILE}],
        "assistant_base": "qwen2.5:0.5b",
        "assistant_site": 'the "North" depot',
        "ollama_context_length": 8192,
    }})
    assert result.returncode == 0, result.output
    return result


def test_show_modelfile_has_the_go_template_and_the_hosts_system_prompt(deployed) -> None:  # noqa: ANN001
    shown = sh(HOST, "ollama show --modelfile site-assistant")
    parsed = parse_modelfile(shown, source="ollama show")
    assert parsed.template == GO_TEMPLATE
    assert parsed.system == ('You are the on-site assistant for the "North" depot.\n'
                             "Answer in at most three sentences.")
    assert parsed.parameters["num_ctx"] == [8192]
    assert parsed.parameters["stop"] == ["<|im_end|>"]


def test_api_show_reports_the_same_template(deployed) -> None:  # noqa: ANN001
    answer = json.loads(sh(HOST, "curl -fsS localhost:11434/api/show "
                                 "-d '{\"model\": \"site-assistant\"}'"))
    assert answer["template"] == GO_TEMPLATE


def test_a_second_run_changes_nothing(deployed) -> None:  # noqa: ANN001
    again = deploy({HOST: {
        "ollama_models": ["qwen2.5:0.5b"],
        "ollama_custom_models": [{"name": "site-assistant", "modelfile": TEMPLATE_FILE}],
        "assistant_base": "qwen2.5:0.5b",
        "assistant_site": 'the "North" depot',
        "ollama_context_length": 8192,
    }})
    assert again.returncode == 0, again.output
    assert not [name for name in again.changed(HOST) if "model" in name.lower()], again.output
