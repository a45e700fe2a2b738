"""Modelfile grammar and error messages, checked against upstream parser/parser.go behaviour."""

from __future__ import annotations

import pytest
from ollama_standin import modelfile
from ollama_standin.modelfile import Command, ModelfileError


def test_parses_all_instructions() -> None:
    text = ('# comment\nfrom llama3:8b\nPARAMETER temperature 0.7\nPARAMETER stop "<|x|>"\n'
            'SYSTEM """multi\nline"""\nTEMPLATE "{{ .Prompt }}"\nMESSAGE user hi there\n'
            "LICENSE MIT\n")
    assert modelfile.parse(text) == [
        Command("model", "llama3:8b"), Command("temperature", "0.7"), Command("stop", "<|x|>"),
        Command("system", "multi\nline"), Command("template", "{{ .Prompt }}"),
        Command("message", "user: hi there"), Command("license", "MIT")]


@pytest.mark.parametrize(("text", "message"), [
    ("PARAMETER temperature 1\n", "no FROM line"),
    ("FROM x\nFOO bar\n", '(line 2): command must be one of "from", "license", "template", '
                          '"system", "adapter", "renderer", "parser", "parameter", or "message"'),
    ("FROM x\nMESSAGE bot hi\n", '(line 2): message role must be one of "system", "user", or '
                                 '"assistant"'),
    ('FROM x\nSYSTEM "unterminated\n', "unexpected EOF"),
    ("FROM x\nPARAMETER top-k 1\n", "unexpected EOF: top"),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ModelfileError) as e:
        modelfile.parse(text)
    assert str(e.value) == message


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("num_ctx", "4096", 4096), ("temperature", "0.7", 0.7), ("use_mmap", "false", False),
    ("stop", "</s>", ["</s>"]),
])
def test_parameter_types(key: str, value: str, expected: object) -> None:
    assert modelfile.format_param(key, value) == expected


@pytest.mark.parametrize(("key", "value", "message"), [
    ("foo", "1", "unknown parameter 'foo'"),
    ("num_ctx", "big", "invalid int value [big]"),
    ("temperature", "warm", "invalid float value [warm]"),
    ("use_mmap", "maybe", "invalid bool value [maybe]"),
])
def test_parameter_errors(key: str, value: str, message: str) -> None:
    with pytest.raises(ModelfileError) as e:
        modelfile.format_param(key, value)
    assert str(e.value) == message


def test_create_request_collects_parameters(tmp_path: object) -> None:
    cmds = modelfile.parse("FROM base\nPARAMETER stop a\nPARAMETER stop b\nPARAMETER seed 3\n")
    req = modelfile.create_request(cmds, "/nonexistent")
    assert req.body == {"from": "base", "parameters": {"stop": ["a", "b"], "seed": 3}}
    assert req.files == []


def test_render_quotes_like_upstream() -> None:
    assert str(Command("system", "one line")) == "SYSTEM one line"
    assert str(Command("system", "two\nlines")) == 'SYSTEM "two\nlines"'
    assert str(Command("template", 'say "hi"\n')) == 'TEMPLATE """say "hi"\n"""'
    assert str(Command("num_ctx", "4096")) == "PARAMETER num_ctx 4096"


@pytest.mark.parametrize(("release", "has", "lacks"), [
    ((0, 13, 5), ["renderer", "parser"], ["requires", "draft"]),
    ((0, 14, 0), ["requires"], ["draft"]),
    ((0, 23, 1), ["requires", "draft"], []),
])
def test_commands_follow_the_release_played(release: tuple[int, int, int], has: list[str],
                                            lacks: list[str]) -> None:
    commands = modelfile.commands_for(release)
    assert all(c in commands for c in has)
    assert not any(c in commands for c in lacks)
    assert modelfile.invalid_command_error((0, 13, 5)) == modelfile.ERR_INVALID_COMMAND


@pytest.mark.parametrize("data", [
    b'\xef\xbb\xbfFROM x\nSYSTEM "\xc3\xbc"\n',
    b"\xff\xfe" + 'FROM x\nSYSTEM "ü"\n'.encode("utf-16-le"),
    b"\xfe\xff" + 'FROM x\nSYSTEM "ü"\n'.encode("utf-16-be"),
])
def test_reads_the_encodings_upstream_reads(data: bytes) -> None:
    assert modelfile.parse(modelfile.decode(data))[1] == Command("system", "ü")


def test_bad_utf8_becomes_replacement_characters_like_upstream() -> None:
    assert modelfile.parse(modelfile.decode(b"FROM x\nSYSTEM a\xffb\n"))[1].args == "a\ufffdb"
