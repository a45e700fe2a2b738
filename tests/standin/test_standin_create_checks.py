"""`ollama create` checks the stand-in shares with upstream: the Go template check, parameters
and DRAFT handling that depend on the release played, and a PATH-independent entry point."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import release_build
from ollama_standin import gguf, gotmpl, modelfile
from standin_helpers import Ollama, base_env, install, start

# ----------------------------------------------------------------------------- Go template check


@pytest.mark.parametrize(("text", "error"), [
    ("{{ foo .Prompt }}", 'template: :1: function "foo" not defined'),
    ("{{ if .System }}{{ .System }}", "template: :1: unexpected EOF"),
    ("a\n{{ .Prompt }", "template: :2: unexpected \"}\" in operand"),
    ("{{ .Prompt\n", "template: :2: unclosed action started at :1"),
    ("{{ end }}", "template: :1: unexpected {{end}}"),
    ("{{ $x }}", 'template: :1: undefined variable "$x"'),
    ("{{ break }}", "template: :1: {{break}} outside {{range}}"),
    ('{{ "open }}', "template: :1: unterminated quoted string"),
    ('{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}',
     'template: :1: template: multiple definition of template "a"'),
    ('{{ template "x" }}', "undefined template specified"),
])
def test_template_errors_are_gos(text: str, error: str) -> None:
    with pytest.raises(gotmpl.TemplateError) as e:
        gotmpl.check(text, (0, 13, 5))
    assert str(e.value) == error


@pytest.mark.parametrize("text", [
    "{{ .Prompt }}",
    "{{- if .System }}<|system|>{{ .System }}{{ end -}}\n{{ range $i, $m := .Messages }}"
    '{{ if eq $m.Role "user" }}{{ $m.Content }}{{ else if .X }}{{ break }}{{ end }}{{ end }}',
    '{{ block "b" . }}{{ json .Tools }}{{ end }}{{ template "b" . }}{{/* note */}}',
    "{{ with .A }}a{{ else with .B }}b{{ end }}",
])
def test_good_templates_pass(text: str) -> None:
    gotmpl.check(text, (0, 13, 5))


def test_template_functions_follow_the_release() -> None:
    gotmpl.check("{{ yesterdayDate }}", (0, 13, 3))
    with pytest.raises(gotmpl.TemplateError, match='function "yesterdayDate" not defined'):
        gotmpl.check("{{ yesterdayDate }}", (0, 13, 2))
    gotmpl.check('{{ template "x" }}', (0, 12, 3))  # older releases did not refuse it


# ----------------------------------------------------------------------------- parameters


def test_parameters_follow_the_release() -> None:
    assert "draft_num_predict" not in modelfile.parameter_types((0, 29, 9))
    assert modelfile.parameter_types((0, 30, 0))["draft_num_predict"] == "int"
    assert "min_p" not in modelfile.parameter_types((0, 3, 0))
    assert "numa" in modelfile.parameter_types((0, 3, 3))
    assert "numa" not in modelfile.parameter_types((0, 3, 4))
    assert "mirostat" in modelfile.parameter_types((0, 6, 8))
    assert "mirostat" not in modelfile.deprecated_parameters((0, 6, 8))
    assert "mirostat" in modelfile.deprecated_parameters((0, 7, 0))
    assert modelfile.parameter_types((0, 13, 5)) == modelfile.PARAMETER_TYPES


def test_draft_needs_experimental_before_0_30(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    (tmp_path / "d.gguf").write_bytes(b"GGUF")
    cmds = [modelfile.Command("model", "base"), modelfile.Command("draft", "./d.gguf")]
    monkeypatch.setattr(modelfile, "VERSION", "0.29.1")
    with pytest.raises(modelfile.ModelfileError, match="^DRAFT requires --experimental$"):
        modelfile.create_request(cmds, str(tmp_path))
    monkeypatch.setattr(modelfile, "VERSION", "0.30.0")
    assert modelfile.create_request(cmds, str(tmp_path)).drafts == [str(tmp_path / "d.gguf")]


# ----------------------------------------------------------------------------- CLI and server


def _gguf(path: Path, arch: str) -> None:
    header = gguf.encode_header({"general.architecture": arch,
                                 "general.parameter_count": 1_000_000, "general.file_type": 1})
    path.write_bytes(header + bytes(1024))


def _create(o: Ollama, folder: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    (folder / "Modelfile").write_text(text)
    return o.cli("create", name, "-f", str(folder / "Modelfile"))


def _release_server(version: str, tmp: Path) -> Ollama:
    release_build.build_release(version, str(tmp / "release"))
    binary = install(tmp / "release" / "ollama-linux-amd64.tgz", tmp / "prefix")
    return start(binary, base_env(tmp), tmp / "log")


@pytest.fixture(scope="module")
def v0135(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ollama]:
    o = _release_server("0.13.5", tmp_path_factory.mktemp("v0135"))
    yield o
    o.stop()


@pytest.fixture(scope="module")
def v0300(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ollama]:
    o = _release_server("0.30.0", tmp_path_factory.mktemp("v0300"))
    yield o
    o.stop()


def test_create_refuses_a_bad_template(v0135: Ollama, tmp_path: Path) -> None:
    _gguf(tmp_path / "m.gguf", "llama")
    # FROM a file: progress was streamed already, so the error arrives inside a 200 stream.
    out = _create(v0135, tmp_path, "bad", 'FROM ./m.gguf\nTEMPLATE "{{ foo .Prompt }}"\n')
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1] == (
        'Error: template error: template: :1: function "foo" not defined')
    assert _create(v0135, tmp_path, "base", "FROM ./m.gguf\n").returncode == 0
    # FROM a model: nothing was streamed, so upstream answers 400 and the CLI shows the status.
    out = _create(v0135, tmp_path, "bad", 'FROM base\nTEMPLATE """{{ if .System }}x"""\n')
    assert out.stderr.splitlines()[-1] == (
        "Error: 400 Bad Request: template error: template: :1: unexpected EOF")
    req = urllib.request.Request(v0135.url + "/api/create", method="POST", data=json.dumps(
        {"model": "bad", "from": "base", "template": "{{ .X }"}).encode())
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400
    assert json.loads(e.value.read()) == {
        "error": 'template error: template: :1: unexpected "}" in operand'}
    assert "bad" not in v0135.cli("list").stdout
    ok = _create(v0135, tmp_path, "good", 'FROM base\nTEMPLATE "{{ .Prompt }}"\n')
    assert ok.returncode == 0, ok.stderr


def test_parameter_of_a_later_release_is_unknown(v0135: Ollama, v0300: Ollama,
                                                 tmp_path: Path) -> None:
    _gguf(tmp_path / "m.gguf", "llama")
    text = "FROM ./m.gguf\nPARAMETER draft_num_predict 4\n"
    old = _create(v0135, tmp_path, "dnp", text)
    assert old.stderr.splitlines()[-1] == "Error: unknown parameter 'draft_num_predict'"
    new = _create(v0300, tmp_path, "dnp", text)
    assert new.returncode == 0, new.stderr
    assert v0300.cli("show", "dnp", "--parameters").stdout.split() == ["draft_num_predict", "4"]


def test_draft_files_are_uploaded_and_stored(v0300: Ollama, tmp_path: Path) -> None:
    _gguf(tmp_path / "m.gguf", "qwen3")
    _gguf(tmp_path / "d.gguf", "qwen3draft")
    out = _create(v0300, tmp_path, "withdraft", "FROM ./m.gguf\nDRAFT ./d.gguf\n")
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("copying file sha256:") == 2
    models = Path(v0300.env["OLLAMA_MODELS"])
    manifest = json.loads((models / "manifests/registry.ollama.ai/library/withdraft/latest")
                          .read_text())
    media = [layer["mediaType"] for layer in manifest["layers"]]
    assert media == ["application/vnd.ollama.image.model", "application/vnd.ollama.image.draft"]
    blob = models / "blobs" / manifest["config"]["digest"].replace(":", "-")
    config = json.loads(blob.read_text())
    assert config["draft"] == {"model_format": "gguf", "architecture": "qwen3draft"}
    assert config["model_families"] == ["qwen3"]
    same = _create(v0300, tmp_path, "selfdraft", "FROM ./m.gguf\nDRAFT ./m.gguf\n")
    assert same.stderr.splitlines()[-1] == (
        f"Error: DRAFT must not reference the same local path as FROM: {tmp_path / 'm.gguf'}")


# ----------------------------------------------------------------------------- entry point


def test_entry_point_does_not_depend_on_path(ollama_bin: Path, tmp_path: Path) -> None:
    assert ollama_bin.read_bytes().startswith(b"#!/usr/bin/python3\n")
    out = subprocess.run([str(ollama_bin), "--version"], env={}, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Warning: client version is" in out.stdout
    env = base_env(tmp_path, PATH="/nonexistent")
    o = start(ollama_bin, env, tmp_path / "log")
    try:
        assert o.proc is not None and o.proc.poll() is None, (tmp_path / "log").read_text()
        assert o.cli("list").returncode == 0
    finally:
        o.stop()
