"""Where the validator now agrees with upstream Ollama (issue 15): Go TEMPLATE syntax,
version-aware instructions, parameters and template functions, DRAFT vs FROM, file encodings,
empty values and quoting, Jinja2 delimiters that leave {{ }} to Go, and what render_declaration
can write. Each case names the upstream behaviour it pins down."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest
from ollama_fleet.gotemplate import GoTemplateError, check_go_template
from ollama_fleet.model_plan import ModelPlanError, plan_models
from ollama_fleet.modelfile import (
    ModelfileError,
    decode_modelfile,
    parse_modelfile,
    quote_value,
    render_declaration,
)
from ollama_fleet.modelfile_template import render_modelfile_template
from ollama_fleet.modelfile_versions import (
    INSTRUCTIONS,
    PARAMETERS,
    TEMPLATE_FUNCTIONS,
    parameter_types_for,
    template_functions_for,
)
from ollama_fleet.settings import settings_from_data

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lab" / "standin"))
from ollama_standin import modelfile as upstream_like  # noqa: E402 - the stand-in's parser

FUNCS = template_functions_for(None)

# --------------------------------------------------------------------------- Go templates

VALID_TEMPLATES = [
    "{{ .Prompt }}",
    "{{ .Unknown.Field.Chain }}",  # unknown fields are an execution matter, not a parse error
    "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "{{- range $i, $m := .Messages }}{{ if eq $m.Role \"user\" }}U{{ else if eq $m.Role "
    "\"assistant\" }}A{{ else }}S{{ end }}{{ $i }}{{ end }}",
    "{{ with .Tools }}{{ range . }}{{ json . }}{{ end }}{{ end }}",
    "{{ range .Messages }}{{ if .Content }}{{ break }}{{ end }}{{ continue }}{{ end }}",
    "{{/* a comment */}}{{- /* trimmed */ -}}",
    "{{ define \"sys\" }}{{ .System }}{{ end }}{{ template \"sys\" . }}",
    "{{ block \"b\" . }}{{ .Prompt }}{{ end }}",
    "{{ $x := 1 }}{{ $x = 2 }}{{ printf \"%d %s %c\" $x `raw` 'c' }}{{ (len .Messages) }}",
    "{{ index .Messages 0 | printf \"%v\" }}{{ 0x1F }}{{ 1.5e3 }}{{ -2 }}{{ nil | print }}",
    "{{ with .A }}a{{ else with .B }}b{{ end }}",
    "{{ .X | }}",  # Go accepts an empty last pipeline stage
]


@pytest.mark.parametrize("text", VALID_TEMPLATES)
def test_valid_go_templates_are_accepted(text: str) -> None:
    check_go_template(text, FUNCS)
    parse_modelfile(f'FROM x\nTEMPLATE """{text}"""\n')


INVALID_TEMPLATES = [
    ("{{ .Prompt", 1, 11, "unclosed action"),
    ("{{ if .X }}open", 1, 16, "unexpected EOF"),
    ("{{ end }}", 1, 1, "unexpected {{end}}"),
    ("ok\n{{ nosuch .X }}", 2, 4, 'function "nosuch" not defined'),
    ("{{ $y }}", 1, 4, 'undefined variable "$y"'),
    ("{{ if true }}{{ $v := 1 }}{{ end }}{{ $v }}", 1, 39, 'undefined variable "$v"'),
    ("{{ break }}", 1, 4, "{{break}} outside {{range}}"),
    ("{{ 1_ }}", 1, 4, 'illegal number syntax: "1_"'),
    ("{{ \"a }}", 1, 4, "unterminated quoted string"),
    ("{{ /* c */ }}", 1, 4, 'unexpected "/" in command'),
    ("{{/* c */ x }}", 1, 10, "comment ends before closing delimiter"),
    ("{{ if }}{{ end }}", 1, 7, "missing value for if"),
    ("{{ . | \"x\" }}", 1, 12, "non executable command in pipeline stage 2"),
    ("{{ \"x\".Y }}", 1, 4, 'unexpected . after term'),
    ("{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}", 1, 37,
     'multiple definition of template "a"'),
    ("{{ template \"a\" }}", 1, 4, "undefined template specified"),
    ("{{ (1 }}", 1, 7, "unclosed left paren"),
]


@pytest.mark.parametrize(("text", "line", "column", "phrase"), INVALID_TEMPLATES)
def test_invalid_go_templates_are_refused_with_line_and_column(
    text: str, line: int, column: int, phrase: str,
) -> None:
    with pytest.raises(GoTemplateError) as caught:
        check_go_template(text, FUNCS)
    assert phrase in caught.value.reason
    assert (caught.value.line, caught.value.column) == (line, column)


def test_template_errors_point_into_the_modelfile() -> None:
    text = 'FROM x\n# intro\nTEMPLATE """first line\n{{ if .System }}{{ .System }}\n"""\n'
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile(text, source="m.Modelfile")
    assert str(caught.value).startswith("m.Modelfile:5:1: TEMPLATE is not a valid Go template")
    assert "unexpected EOF" in str(caught.value)
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile("FROM x\nTEMPLATE   {{ foo }}\n", source="m")
    assert str(caught.value).startswith('m:2:15: TEMPLATE is not a valid Go template: function '
                                        '"foo" not defined')


def test_template_functions_follow_the_hosts_release() -> None:
    text = 'FROM x\nTEMPLATE "{{ currentDate }}"\n'
    parse_modelfile(text, version="0.11.1")
    with pytest.raises(ModelfileError, match=r"needs Ollama 0\.11\.1 or later"):
        parse_modelfile(text, version="0.11.0")
    with pytest.raises(ModelfileError, match=r"needs Ollama 0\.13\.3 or later"):
        parse_modelfile('FROM x\nTEMPLATE "{{ yesterdayDate }}"\n', version="0.13.2")
    with pytest.raises(ModelfileError, match=r"needs Ollama 0\.2\.6 or later"):
        parse_modelfile('FROM x\nTEMPLATE "{{ json . }}"\n', version="0.2.5")
    assert {"json", "currentDate", "yesterdayDate", "toTypeScriptType"} <= FUNCS


def test_empty_template_is_not_parsed() -> None:
    assert parse_modelfile('FROM x\nTEMPLATE ""\n').template == ""


# --------------------------------------------------------------------------- versions


@pytest.mark.parametrize(("text", "too_old", "new_enough", "needs"), [
    ("FROM x\nREQUIRES 0.14.0\n", "0.13.5", "0.14.0", "REQUIRES needs Ollama 0.14.0 or later"),
    ("FROM ./m.gguf\nDRAFT ./d.gguf\n", "0.23.0", "0.30.0", "DRAFT needs Ollama 0.23.1"),
    ("FROM x\nPARAMETER draft_num_predict 4\n", "0.29.9", "0.30.0",
     "needs Ollama 0.30.0 or later"),
    ("FROM x\nRENDERER qwen3-coder\n", "0.11.11", "0.12.0", "RENDERER needs Ollama 0.12.0"),
    ("FROM x\nPARAMETER min_p 0.1\n", "0.3.0", "0.3.1", "needs Ollama 0.3.1 or later"),
])
def test_instructions_and_parameters_need_their_release(
    text: str, too_old: str, new_enough: str, needs: str,
) -> None:
    parse_modelfile(text, version=new_enough)
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile(text, version=too_old)
    assert needs in str(caught.value)
    assert too_old in str(caught.value)


def test_parameters_that_came_and_went() -> None:
    # mirostat was a real parameter before 0.7.0, then deprecated (warned about and dropped).
    assert parse_modelfile("FROM x\nPARAMETER mirostat 2\n", version="0.6.8").parameters == {
        "mirostat": [2]}
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile("FROM x\nPARAMETER mirostat 2\n", version="0.7.0")
    assert "Ollama itself would accept the file" in caught.value.reason
    assert "silently ignore this line" in caught.value.reason
    # tfs_z was removed without a deprecation: "unknown parameter" upstream.
    parse_modelfile("FROM x\nPARAMETER tfs_z 1.0\n", version="0.5.1")
    with pytest.raises(ModelfileError, match=r"unknown parameter 'tfs_z' \(was removed in "
                                             r"Ollama 0\.5\.2"):
        parse_modelfile("FROM x\nPARAMETER tfs_z 1.0\n", version="0.5.2")


def test_the_table_is_one_place_with_sources() -> None:
    for table in (INSTRUCTIONS, TEMPLATE_FUNCTIONS):
        for row in table.values():
            assert row.source
    for row in PARAMETERS.values():
        assert row.present.source
    assert INSTRUCTIONS["requires"].since == (0, 14, 0)
    assert INSTRUCTIONS["draft"].since == (0, 23, 1)
    assert PARAMETERS["draft_num_predict"].present.since == (0, 30, 0)
    assert "draft_num_predict" not in parameter_types_for((0, 13, 5))


def test_the_hosts_pinned_version_selects_the_rules() -> None:
    data: dict[str, Any] = {
        "ollama_version": "0.13.5", "ollama_models": ["qwen2.5:7b"],
        "ollama_custom_models": [{"name": "c", "from": "qwen2.5:7b",
                                  "parameters": {"draft_num_predict": 4}}]}
    with pytest.raises(ModelPlanError, match=r"needs Ollama 0\.30\.0 or later"):
        plan_models(settings_from_data(data, "h"), "h", data)
    data["ollama_version"] = "0.30.0"
    plan_models(settings_from_data(data, "h"), "h", data)


# --------------------------------------------------------------------------- DRAFT vs FROM


@pytest.mark.parametrize("text", [
    "FROM ./model.gguf\nDRAFT ./model.gguf\n",
    "FROM ./models/m\nDRAFT ./models/m/\n",
    "DRAFT ./a/../m.gguf\nFROM ./m.gguf\n",
])
def test_a_draft_naming_the_from_file_is_refused(text: str) -> None:
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile(text, version="0.30.0")
    assert "names the same file or folder as FROM" in caught.value.reason
    assert "DRAFT must not reference the same local path as FROM" in caught.value.reason


@pytest.mark.parametrize("version", ["0.23.1", "0.29.9"])
def test_draft_before_0_30_needs_the_experimental_flag_ollama_fleet_does_not_pass(
    version: str,
) -> None:
    # Those releases answer a plain `ollama create` with "DRAFT requires --experimental".
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile("FROM ./model.gguf\nDRAFT ./draft.gguf\n", version=version)
    assert "needs Ollama 0.30.0 or later" in caught.value.reason
    assert "DRAFT requires --experimental" in caught.value.reason


def test_a_draft_from_another_file_is_fine() -> None:
    parse_modelfile("FROM ./model.gguf\nDRAFT ./draft.gguf\n", version="0.30.0")
    with pytest.raises(ModelfileError, match="expected a local file or folder"):
        parse_modelfile("FROM ./model.gguf\nDRAFT qwen3:0.6b\n")


# --------------------------------------------------------------------------- encodings

TEXT = 'FROM x\nSYSTEM "Grüße ✓"\n'


@pytest.mark.parametrize("data", [
    TEXT.encode("utf-8"),
    b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
    b"\xff\xfe" + TEXT.encode("utf-16-le"),
    b"\xfe\xff" + TEXT.encode("utf-16-be"),
])
def test_encodings_upstream_reads(data: bytes) -> None:
    assert parse_modelfile(decode_modelfile(data, "m")).system == "Grüße ✓"


@pytest.mark.parametrize(("data", "phrase"), [
    (b"FROM x\nSYSTEM \xff\xfe oops\n", "is not valid UTF-8: byte(s) ff at line 2, column 8"),
    (TEXT.encode("utf-16-le"), "looks like UTF-16 without a byte-order mark"),
    ("FROM x\nSYSTEM Grüße\n".encode("latin-1"), "is not valid UTF-8"),
    (b"\xff\xfe" + TEXT.encode("utf-16-le")[:-1], "is not valid UTF-16-LE"),
])
def test_other_bytes_get_a_clear_error(data: bytes, phrase: str) -> None:
    with pytest.raises(ModelfileError) as caught:
        decode_modelfile(data, "models/m.Modelfile.j2")
    message = str(caught.value)
    assert message.startswith("models/m.Modelfile.j2:")
    assert phrase in message
    assert "codec can't decode" not in message


def test_a_utf16_template_file_renders(tmp_path: Path) -> None:
    path = tmp_path / "m.Modelfile.j2"
    path.write_bytes(b"\xff\xfe" + 'FROM x\nSYSTEM "[[ who ]]"\n'.encode("utf-16-le"))
    assert render_modelfile_template(path, {"who": "Zoë"}) == 'FROM x\nSYSTEM "Zoë"\n'
    path.write_bytes(b"FROM x\nSYSTEM \xff\n")
    with pytest.raises(ModelfileError, match="m.Modelfile.j2:2: the file is not valid UTF-8"):
        render_modelfile_template(path, {})


# --------------------------------------------------------------------------- empty values, quoting


def test_empty_values_upstream_accepts() -> None:
    mf = parse_modelfile('FROM x\nSYSTEM ""\nPARAMETER stop ""\nMESSAGE user ""\nLICENSE """"""\n')
    assert mf.system == ""
    assert mf.parameters == {"stop": [""]}
    assert mf.messages == (("user", ""),)


def test_a_padded_quoted_from_name() -> None:
    assert parse_modelfile('FROM "  llama3.2  "\n', version="0.17.6").from_ == "llama3.2"
    with pytest.raises(ModelfileError, match="older than 0.17.6 refuses the padded name"):
        parse_modelfile('FROM " llama3.2 "\n', version="0.13.5")
    with pytest.raises(ModelfileError, match="reads them as part of the path"):
        parse_modelfile('FROM " ./m.gguf"\n')
    assert parse_modelfile('FROM   "llama3.2"   \n').from_ == "llama3.2"


def test_a_multi_line_system_with_a_quote_and_a_hash_is_not_a_comment() -> None:
    text = 'FROM x\nSYSTEM "Answer "yes" # or no\nand nothing else"\n'
    assert parse_modelfile(text).system == 'Answer "yes" # or no\nand nothing else'
    assert upstream_like.parse(text)[1].args == 'Answer "yes" # or no\nand nothing else'
    text = 'FROM x\nSYSTEM """Use "quotes" # like this\nok"""\n'
    assert parse_modelfile(text).system == 'Use "quotes" # like this\nok'


def test_a_real_trailing_comment_is_still_refused_saying_what_ollama_would_do() -> None:
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile('FROM x\nSYSTEM "be brief" # tone\nPARAMETER num_ctx 4096\nSYSTEM "x"\n')
    assert "Ollama itself would accept the file and read the comment" in caught.value.reason


@pytest.mark.parametrize(("text", "phrase"), [
    ("FROM x\nPARAMETER mirostat 1\n", "silently ignore this line"),
    ("FROM x\nSYSTEM a\nSYSTEM b\n", "silently keep only the last one"),
    ("FROM x\nPARAMETER seed 1\nPARAMETER seed 2\n", "silently keep only the last value"),
    ("FROM x\nPARAMETER num_ctx -1\n", "pass the meaningless size on"),
    ("FROM x\nSYSTEM a\u00a0b\n", "silently drop"),
    ("FROM x\nPARAMETER stop </s> #end\n", "make the '#' and what follows part of the value"),
    ("FROM x\nFROM y\n", "silently use only the last FROM"),
])
def test_deliberate_strictness_says_what_ollama_would_do(text: str, phrase: str) -> None:
    with pytest.raises(ModelfileError) as caught:
        parse_modelfile(text)
    assert phrase in caught.value.reason
    assert "Ollama" in caught.value.reason and ("would" in caught.value.reason)


# --------------------------------------------------------------------------- render_declaration

NOW_WRITABLE = [
    'ends with a quote"',
    'say "hi"',
    'line "one"\nline two"',
    '"',
    '""',
    'x"""y\nz',  # """ inside a line is plain text
    'a"\nb',  # a line ending in " is fine inside """..."""
    "tab\tand # hash",
    "",
]


@pytest.mark.parametrize("value", NOW_WRITABLE)
def test_render_declaration_writes_what_quoting_can_carry(value: str) -> None:
    text = render_declaration("x", system=value)
    assert parse_modelfile(text).system == value
    assert upstream_like.parse(text)[1].args == value  # and upstream reads the same


def test_render_declaration_still_refuses_what_no_quoting_carries() -> None:
    with pytest.raises(ValueError, match="no Modelfile quoting can hold it"):
        render_declaration("x", system='a"\nb"""\nc')


def test_quote_value_round_trips_through_an_upstream_like_parser() -> None:
    alphabet = ['"', '"', "\n", " ", "\t", "#", "a", "\r", "S"]
    rng = random.Random(15)
    for _ in range(4000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        try:
            quoted = quote_value(value)
        except ValueError:
            continue
        text = f"FROM x\nSYSTEM {quoted}\nPARAMETER num_ctx 1\n"
        assert parse_modelfile(text).system == value, (value, quoted)
        commands = upstream_like.parse(text)
        assert [c.name for c in commands] == ["model", "system", "num_ctx"], (value, quoted)
        assert commands[1].args == value, (value, quoted)


# --------------------------------------------------------------------------- Jinja2 delimiters


def test_a_go_template_needs_no_raw_block(tmp_path: Path) -> None:
    path = tmp_path / "m.Modelfile.j2"
    path.write_text('FROM x\nTEMPLATE """{{ if .System }}[[ tag ]]{{ .System }}{{ end }}\n'
                    '{{ .Prompt }}"""\n[# a Jinja comment #]\n[% if strict %]PARAMETER seed 1\n'
                    "[% endif %]")
    text = render_modelfile_template(path, {"tag": "<s>", "strict": True})
    mf = parse_modelfile(text)
    assert mf.template == "{{ if .System }}<s>{{ .System }}{{ end }}\n{{ .Prompt }}"
    assert mf.parameters == {"seed": [1]}


def test_jinja_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "m.Modelfile.j2"
    path.write_text("FROM x\n\nSYSTEM [% if %]\n")
    with pytest.raises(ModelfileError) as caught:
        render_modelfile_template(path, {})
    assert caught.value.line == 3
    assert caught.value.source.endswith("m.Modelfile.j2")


def test_old_style_braces_for_host_values_get_a_hint(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.Modelfile.j2").write_text('FROM qwen2.5:7b\nTEMPLATE "{{ company }}"\n')
    data: dict[str, Any] = {"ollama_version": "0.13.5", "ollama_models": ["qwen2.5:7b"],
                            "company": "ACME",
                            "ollama_custom_models": [{"name": "b", "modelfile": "m.Modelfile.j2"}]}
    with pytest.raises(ModelPlanError) as caught:
        plan_models(settings_from_data(data, "h"), "h", data)
    assert 'function "company" not defined' in str(caught.value)
    assert "[[ company ]]" in str(caught.value)


def test_the_shipped_example_has_a_real_go_template_and_a_host_value() -> None:
    data: dict[str, Any] = {
        "ollama_version": "0.13.5", "ollama_models": ["qwen2.5:7b"],
        "assistant_site": "Depot 7",
        "ollama_custom_models": [{
            "name": "site-assistant",
            "modelfile": "templates/modelfiles/chatml-assistant.Modelfile.j2"}]}
    plan = plan_models(settings_from_data(data, "h"), "h", data)
    mf = parse_modelfile(plan.custom[0].modelfile)
    assert mf.template is not None and "range .Messages" in mf.template
    assert mf.template.count("\n") >= 5
    assert mf.system is not None
    assert mf.system.startswith("You are the on-site assistant for Depot 7.")
    del data["assistant_site"]
    mf = parse_modelfile(plan_models(settings_from_data(data, "h"), "h", data).custom[0].modelfile)
    assert mf.system is not None and "assistant for h." in mf.system
