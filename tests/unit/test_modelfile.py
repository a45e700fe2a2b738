"""Modelfile parsing (Ollama's grammar), up-front validation, canonical text and rendering."""

from __future__ import annotations

import random
import re

import pytest
from ollama_fleet.modelfile import (
    PARAMETER_TYPES,
    Instruction,
    Modelfile,
    ModelfileError,
    format_float32,
    is_local_path,
    parse_modelfile,
    quote_value,
    render_declaration,
)

# --------------------------------------------------------------------------- malformed

MALFORMED: list[tuple[str, str, int, str]] = [
    # (id, text, line, phrase in the reason)
    ("no FROM", "PARAMETER num_ctx 4096\n", 1, "no FROM line"),
    ("empty file", "", 1, "no FROM line"),
    ("comments only", "# nothing\n# here\n", 1, "no FROM line"),
    ("misspelt instruction", "FROM llama3\n\nFORM x\n", 3,
     "unknown instruction 'FORM'; expected one of FROM, PARAMETER"),
    ("instruction with punctuation", "FROM llama3\nSYSTEM: hi\n", 2,
     "SYSTEM must be followed by a space"),
    ("FROM without value", "# base\nFROM\n", 2, "FROM has no value"),
    ("FROM without value at EOF", "FROM", 1, "FROM has no value"),
    ("FROM invalid name", "FROM llama 3\n", 1, "FROM 'llama 3': contains whitespace"),
    ("FROM invalid char", "FROM llama3!\n", 1, "contains '!'"),
    ("two FROM names", "FROM llama3\nFROM mistral\n", 2, "second FROM (first on line 1)"),
    ("FROM name and file", "FROM ./a.gguf\nFROM llama3\n", 2, "only local files"),
    ("unknown parameter", "FROM x\nPARAMETER num_context 4096\n", 2,
     "unknown parameter 'num_context'"),
    ("parameter case", "FROM x\nPARAMETER Temperature 0.5\n", 2, "did you mean 'temperature'"),
    ("deprecated parameter", "FROM x\nPARAMETER mirostat 2\n", 2, "deprecated"),
    ("parameter name instruction", "FROM x\nPARAMETER system hello\n", 2,
     "unknown parameter 'system'"),
    ("int not int", "FROM x\nPARAMETER num_ctx abc\n", 2,
     "PARAMETER num_ctx: 'abc' is not an integer"),
    ("int with decimals", "FROM x\nPARAMETER num_ctx 4096.0\n", 2, "is not an integer"),
    ("int with underscore", "FROM x\nPARAMETER num_ctx 4_096\n", 2, "is not an integer"),
    ("int quoted with space", 'FROM x\nPARAMETER num_ctx " 4096"\n', 2, "is not an integer"),
    ("int overflow", "FROM x\nPARAMETER seed 9223372036854775808\n", 2, "64-bit integer range"),
    ("negative num_ctx", "FROM x\nPARAMETER num_ctx -2048\n", 2, "negative"),
    ("float word", "FROM x\nPARAMETER temperature hot\n", 2,
     "PARAMETER temperature: 'hot' is not a number"),
    ("float comma", "FROM x\nPARAMETER top_p 0,9\n", 2, "is not a number"),
    ("float bad underscore", "FROM x\nPARAMETER top_p 1_.5\n", 2, "is not a number"),
    ("hex float without p", "FROM x\nPARAMETER top_p 0x1\n", 2, "is not a number"),
    ("float NaN", "FROM x\nPARAMETER temperature NaN\n", 2, "not a finite number"),
    ("float infinity", "FROM x\nPARAMETER temperature -Inf\n", 2, "not a finite number"),
    ("float32 overflow", "FROM x\nPARAMETER temperature 1e39\n", 2, "32-bit float range"),
    ("bool maybe", "FROM x\nPARAMETER use_mmap maybe\n", 2, "'maybe' is not a boolean"),
    ("bool yes", "FROM x\nPARAMETER use_mmap yes\n", 2, "expected true/false"),
    ("bool mixed case", "FROM x\nPARAMETER use_mmap tRUE\n", 2, "is not a boolean"),
    ("trailing comment on number", "FROM x\nPARAMETER temperature 0.7 # warm\n", 2,
     "'#' starts a comment only at the beginning of a line"),
    ("trailing comment on stop", "FROM x\nPARAMETER stop </s> # end\n", 2, "contains ' #'"),
    ("parameter without value", "FROM x\nPARAMETER num_ctx\nSYSTEM hi\n", 2,
     "PARAMETER num_ctx has no value"),
    ("parameter at EOF", "FROM x\nPARAMETER num_ctx", 2, "PARAMETER num_ctx has no value"),
    ("parameter double space", "FROM x\nPARAMETER  num_ctx 1\n", 2, "single space"),
    ("parameter bad char", "FROM x\nPARAMETER num-ctx 1\n", 2, "contains '-'"),
    ("repeated scalar parameter", "FROM x\nPARAMETER seed 1\n\nPARAMETER seed 2\n", 4,
     "PARAMETER seed given twice (first on line 2)"),
    ("empty num_ctx", 'FROM x\nPARAMETER num_ctx ""\n', 2, "num_ctx has an empty value"),
    ("empty adapter", 'FROM x\nADAPTER ""\n', 2, "ADAPTER has an empty value"),
    ("system twice", "FROM x\nSYSTEM a\nSYSTEM b\n", 3, "SYSTEM given twice (first on line 2)"),
    ("template twice", 'FROM x\nTEMPLATE "a"\nTEMPLATE "b"\n', 3, "TEMPLATE given twice"),
    ("adapter twice", "FROM x\nADAPTER ./a\nADAPTER ./b\n", 3, "ADAPTER given twice"),
    ("role capitalised", "FROM x\nMESSAGE User hi\n", 2, "invalid MESSAGE role 'User'"),
    ("role unknown", "FROM x\nMESSAGE tool {}\n", 2, "expected one of system, user, assistant"),
    ("role with colon", "FROM x\nMESSAGE user: hi\n", 2, "invalid MESSAGE role 'user:'"),
    ("message without text", "FROM x\nMESSAGE user\n", 2, "MESSAGE user has no text"),
    ("empty FROM", 'FROM ""\n', 1, "FROM has an empty value"),
    ("unterminated quote", 'FROM x\nSYSTEM "You are\nhelpful\n', 2, 'unterminated " value'),
    ("unterminated triple", 'FROM x\nPARAMETER stop x\nTEMPLATE """{{ .Prompt }}\n\n', 3,
     'unterminated """ value'),
    ("triple closed by two quotes", 'FROM x\nSYSTEM """hello""\n', 2, 'unterminated """'),
    ("comment after quote at EOF", 'FROM x\nSYSTEM "be brief" # style\n', 2,
     "text follows the closing"),
    ("comment after quote swallows lines", 'FROM x\nSYSTEM "brief" # c\nPARAMETER stop "x"\n',
     2, "a '#' comment after the closing \" is not allowed"),
    ("requires not semver", "FROM x\nREQUIRES 0.14.x\n", 2, "is not a semantic version"),
    ("requires leading zero", "FROM x\nREQUIRES 0.014.0\n", 2, "is not a semantic version"),
    ("requires capital V", "FROM x\nREQUIRES V0.14.0\n", 2, "is not a semantic version"),
    ("requires prerelease on short", "FROM x\nREQUIRES 1.2-rc1\n", 2, "semantic version"),
    ("non-breaking space", "FROM x\n\nSYSTEM a\u00a0b\n", 3, "U+00A0 (NO-BREAK SPACE)"),
    ("control character", 'FROM x\nSYSTEM """a\n\x07b"""\n', 3, "U+0007"),
    ("CRLF line numbers", "FROM x\r\n# c\r\nFORM y\r\n", 3, "unknown instruction 'FORM'"),
    ("old Mac line breaks", "FROM x\r\rPARAMETER num_ctx z\r", 3, "is not an integer"),
]


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [pytest.param(text, line, phrase, id=name) for name, text, line, phrase in MALFORMED],
)
def test_malformed(text: str, line: int, phrase: str) -> None:
    with pytest.raises(ModelfileError) as info:
        parse_modelfile(text, source="models/x.Modelfile")
    error = info.value
    assert error.line == line, str(error)
    assert phrase in error.reason
    assert error.source == "models/x.Modelfile"
    assert str(error) == f"models/x.Modelfile:{line}: {error.reason}"
    assert isinstance(error, ValueError)


def test_catalogue_is_large() -> None:
    assert len(MALFORMED) >= 20


def test_error_default_source() -> None:
    with pytest.raises(ModelfileError, match=r"^<Modelfile>:1: no FROM line"):
        parse_modelfile("")


# --------------------------------------------------------------------------- valid

DOCS_BASIC = """FROM llama3.2
# sets the temperature to 1 [higher is more creative, lower is more coherent]
PARAMETER temperature 1
# sets the context window size to 4096, this controls how many tokens the LLM can use as context to generate the next token
PARAMETER num_ctx 4096

# sets a custom system message to specify the behavior of the chat assistant
SYSTEM You are Mario from super mario bros, acting as an assistant.
"""  # noqa: E501  (verbatim from the upstream docs)

DOCS_SHOW = '''# Modelfile generated by "ollama show"
# To build a new Modelfile based on this one, replace the FROM line with:
# FROM llama3.2:latest
FROM /Users/pdevine/.ollama/models/blobs/sha256-00e1317cbf74d901080d7100f57580ba8dd8de57203072dc6f668324ba545f29
TEMPLATE """{{ if .System }}<|start_header_id|>system<|end_header_id|>

{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>

{{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

{{ .Response }}<|eot_id|>"""
PARAMETER stop "<|start_header_id|>"
PARAMETER stop "<|end_header_id|>"
PARAMETER stop "<|eot_id|>"
PARAMETER stop "<|reserved_special_token"
'''  # noqa: E501

DOCS_MESSAGES = """FROM llama3.2
MESSAGE user Is Toronto in Canada?
MESSAGE assistant yes
MESSAGE user Is Sacramento in Canada?
MESSAGE assistant no
MESSAGE user Is Ontario in Canada?
MESSAGE assistant yes
"""


def test_docs_basic_example() -> None:
    mf = parse_modelfile(DOCS_BASIC)
    assert mf.from_ == "llama3.2"
    assert not mf.base_is_file()
    assert mf.parameters == {"temperature": [1.0], "num_ctx": [4096]}
    assert mf.system == "You are Mario from super mario bros, acting as an assistant."
    assert [ins.line for ins in mf.instructions] == [1, 3, 5, 8]


def test_docs_show_example() -> None:
    mf = parse_modelfile(DOCS_SHOW)
    assert mf.base_is_file()
    assert mf.parameters["stop"] == [
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
        "<|reserved_special_token",
    ]
    assert mf.template is not None
    assert mf.template.startswith("{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n")
    assert mf.template.endswith("{{ .Response }}<|eot_id|>")


def test_docs_message_example() -> None:
    mf = parse_modelfile(DOCS_MESSAGES)
    assert mf.messages == (
        ("user", "Is Toronto in Canada?"),
        ("assistant", "yes"),
        ("user", "Is Sacramento in Canada?"),
        ("assistant", "no"),
        ("user", "Is Ontario in Canada?"),
        ("assistant", "yes"),
    )
    first = mf.instructions[1]
    assert first == Instruction("message", "Is Toronto in Canada?", 2, role="user")


def test_case_insensitive_instructions_and_layout() -> None:
    text = (
        "\n   # indented comment\n"
        "from   llama3:8b   \n"
        "Parameter\tnum_ctx\t8192\n"
        "pArAmEtEr top_p    0.9  \n"
        "sYsTeM    Be concise.  \n"
        "license MIT\n"
        "LICENSE Apache-2.0\n"
        "requires v0.14.0\n"
        "renderer qwen3\n"
        "PARSER qwen3\n"
        "DRAFT ./draft\n"
    )
    mf = parse_modelfile(text)
    assert [ins.name for ins in mf.instructions] == [
        "from", "parameter", "parameter", "system", "license", "license", "requires",
        "renderer", "parser", "draft",
    ]
    assert mf.from_ == "llama3:8b"
    assert mf.parameters == {"num_ctx": [8192], "top_p": [0.9]}
    assert mf.system == "Be concise."
    assert mf.licenses == ("MIT", "Apache-2.0")
    assert mf.requires == "v0.14.0"
    assert mf.instructions[0].line == 3


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # From the upstream parser tests.
        ('SYSTEM """\nThis is a\nmultiline system.\n"""', "\nThis is a\nmultiline system.\n"),
        ('SYSTEM """\nThis is a\nmultiline system."""', "\nThis is a\nmultiline system."),
        ('SYSTEM """This is a\nmultiline system."""', "This is a\nmultiline system."),
        ('SYSTEM """This is a multiline system."""', "This is a multiline system."),
        ('SYSTEM """\nwith "quotes".\n"""', '\nwith "quotes".\n'),
        ("SYSTEM \"'\"", "'"),
        ('SYSTEM """\'\'"\'""\'""\'"\'\'\'\'\'""\'""\'"""', '\'\'"\'""\'""\'"\'\'\'\'\'""\'""\''),
        ('SYSTEM "MIT       "', "MIT       "),
        ('SYSTEM """   spaced   """   ', "   spaced   "),
        ("SYSTEM text with \"inner\" quotes", 'text with "inner" quotes'),
        ('SYSTEM "multi\nline"', "multi\nline"),
        ("SYSTEM # not a comment here", "# not a comment here"),
        ("SYSTEM a\tb", "a\tb"),
        ('SYSTEM """a""""', 'a"'),
        ('SYSTEM """"a"""', '"a'),
        ('SYSTEM "a"""', 'a""'),
        ('SYSTEM """x""" y"""', 'x""" y'),
    ],
)
def test_quoting(body: str, expected: str) -> None:
    mf = parse_modelfile(f"FROM x\n{body}\n")
    assert mf.system == expected


@pytest.mark.parametrize(
    ("line", "name", "value"),
    [
        ("stop ### User:", "stop", "### User:"),
        ("stop ### User: ", "stop", "### User:"),
        ('stop "### User: "', "stop", "### User: "),
        ('stop """### User:\n"""', "stop", "### User:\n"),
        ("stop <|endoftext|>", "stop", "<|endoftext|>"),
        ("num_ctx 1", "num_ctx", 1),
        ("num_ctx +4096", "num_ctx", 4096),
        ("num_ctx 007", "num_ctx", 7),
        ('num_ctx "2048"', "num_ctx", 2048),
        ("num_ctx 0", "num_ctx", 0),
        ("num_predict -1", "num_predict", -1),
        ("seed -9223372036854775808", "seed", -(2**63)),
        ("main_gpu 1", "main_gpu", 1),
        ("temperature 0.7", "temperature", 0.7),
        ("temperature 0.70000001", "temperature", 0.7),
        ("temperature .5", "temperature", 0.5),
        ("temperature 5.", "temperature", 5.0),
        ("temperature 1e-1", "temperature", 0.1),
        ("temperature 1_0.2_5", "temperature", 10.25),
        ("temperature 0x1p-2", "temperature", 0.25),
        ("temperature 0x.8p1", "temperature", 1.0),
        ("temperature -0", "temperature", -0.0),
        ("temperature 1e-50", "temperature", 0.0),
        ("top_p 1", "top_p", 1.0),
        ("use_mmap true", "use_mmap", True),
        ("use_mmap T", "use_mmap", True),
        ("use_mmap 1", "use_mmap", True),
        ("use_mmap FALSE", "use_mmap", False),
        ("use_mmap f", "use_mmap", False),
        ("use_mmap 0", "use_mmap", False),
    ],
)
def test_parameter_values(line: str, name: str, value: object) -> None:
    mf = parse_modelfile(f"FROM x\nPARAMETER {line}\n")
    assert mf.parameters == {name: [value]}
    assert type(mf.parameters[name][0]) is type(value)
    assert mf.instructions[1].param == name


def test_every_parameter_type() -> None:
    samples = {int: "3", float: "0.5", bool: "true", list: "STOP"}
    text = "FROM x\n" + "".join(
        f"PARAMETER {name} {samples[kind]}\n" for name, kind in PARAMETER_TYPES.items()
    )
    params = parse_modelfile(text).parameters
    assert set(params) == set(PARAMETER_TYPES)
    assert params["stop"] == ["STOP"]
    assert params["num_ctx"] == [3] and params["top_p"] == [0.5] and params["use_mmap"] == [True]


def test_parameter_types_match_upstream_options() -> None:
    assert {
        "num_ctx": int, "num_batch": int, "num_gpu": int, "main_gpu": int, "use_mmap": bool,
        "num_thread": int, "draft_num_predict": int, "num_keep": int, "seed": int,
        "num_predict": int, "top_k": int, "top_p": float, "min_p": float, "typical_p": float,
        "repeat_last_n": int, "temperature": float, "repeat_penalty": float,
        "presence_penalty": float, "frequency_penalty": float, "stop": list,
    } == PARAMETER_TYPES


@pytest.mark.parametrize(
    "version", ["0.14.0", "v0.14.0", "1", "0.14", "1.2.3-rc.1", "1.2.3-rc-1+build.007", "10.0.0"]
)
def test_requires_accepts_go_semver(version: str) -> None:
    mf = parse_modelfile(f"FROM x\nREQUIRES {version}\n")
    assert mf.requires == version
    assert f"REQUIRES {version.removeprefix('v')}\n" in mf.canonical()


def test_several_files_in_from() -> None:
    mf = parse_modelfile("FROM ./model.gguf\nFROM ./mmproj.gguf\n")
    assert mf.from_ == "./model.gguf"
    assert mf.bases == ("./model.gguf", "./mmproj.gguf")


def test_bom_and_non_printable_keyword_prefix() -> None:
    assert parse_modelfile("\ufeffFROM x\n").from_ == "x"


@pytest.mark.parametrize(
    ("value", "is_file"),
    [
        ("./model.gguf", True),
        ("../models/llama", True),
        ("/srv/models/qwen", True),
        ("~/models/x.gguf", True),
        ("~ollama/x", True),
        (".", True),
        ("model.gguf", True),
        ("weights/model.safetensors", True),
        ("C:\\models\\x.gguf", True),
        (".\\x.gguf", True),
        ("llama3.2", False),
        ("user/model:tag", False),
        ("hf.co/org/repo:Q4_K_M", False),
    ],
)
def test_base_is_file(value: str, is_file: bool) -> None:
    assert is_local_path(value) is is_file
    assert parse_modelfile(f"FROM {value}\n").base_is_file() is is_file


def test_from_path_with_spaces() -> None:
    assert parse_modelfile("FROM /what/is/the path \n").from_ == "/what/is/the path"


# --------------------------------------------------------------------------- canonical


CANONICAL_INPUTS = [DOCS_BASIC, DOCS_SHOW, DOCS_MESSAGES, """
# scrambled order, odd spellings
parameter stop "<|im_end|>"
Parameter temperature 0.70
system \"\"\"You are "helpful".\"\"\"
FROM library/qwen2.5
PARAMETER stop <|im_start|>
PARAMETER use_mmap T
PARAMETER num_ctx +8192
message user hi
message assistant "hello there "
license \"\"\"
line one
  line two
\"\"\"
REQUIRES v0.14.0
"""]


@pytest.mark.parametrize("text", CANONICAL_INPUTS)
def test_canonical_is_stable(text: str) -> None:
    first = parse_modelfile(text)
    canonical = first.canonical()
    second = parse_modelfile(canonical)
    assert second.canonical() == canonical
    assert second.parameters == first.parameters
    assert second.messages == first.messages
    assert second.system == first.system
    assert second.template == first.template
    assert second.licenses == first.licenses


def test_canonical_same_meaning_same_text() -> None:
    a = parse_modelfile(
        "FROM qwen2.5\n# x\nPARAMETER temperature 0.70\nPARAMETER use_mmap 1\n"
        "PARAMETER stop a\nPARAMETER stop b\nSYSTEM hi\nREQUIRES v0.14.0\n"
    )
    b = parse_modelfile(
        'system "hi"\nparameter stop "a"\nPARAMETER use_mmap true\nrequires 0.14.0\n'
        "from registry.ollama.ai/library/qwen2.5:latest\nPARAMETER temperature .7\n"
        'PARAMETER stop """b"""\n'
    )
    assert a.canonical() == b.canonical()
    assert a.canonical() == (
        "FROM qwen2.5:latest\n"
        "SYSTEM hi\n"
        "PARAMETER stop a\n"
        "PARAMETER stop b\n"
        "PARAMETER temperature 0.7\n"
        "PARAMETER use_mmap true\n"
        "REQUIRES 0.14.0\n"
    )


def test_canonical_keeps_order_that_matters() -> None:
    a = parse_modelfile("FROM x\nPARAMETER stop a\nPARAMETER stop b\n")
    b = parse_modelfile("FROM x\nPARAMETER stop b\nPARAMETER stop a\n")
    assert a.canonical() != b.canonical()


def test_format_float32() -> None:
    assert format_float32(0.7) == "0.7"
    assert format_float32(0.699999988079071) == "0.7"
    assert format_float32(1.0) == "1"
    assert format_float32(1e-10) == "1e-10"


def test_modelfile_is_frozen() -> None:
    mf = parse_modelfile("FROM x\n")
    assert isinstance(mf, Modelfile)
    with pytest.raises(AttributeError):
        mf.instructions = ()  # type: ignore[misc]


# --------------------------------------------------------------------------- rendering

TRICKY = [
    "plain",
    "two words",
    " leading and trailing ",
    '"quoted"',
    '"',
    '""',
    '"""',
    'say """hi""" please',
    'ends with quote"',
    'ends with triple"""',
    '"""starts with triple',
    "line one\nline two",
    "\nleading newline",
    "trailing newline\n",
    'line "one"\nline two',
    'quote at line end"\nnext',
    "back\\slash \\n not a newline \\",
    "# looks like a comment",
    "value # with hash",
    "tab\tinside",
    "windows\r\nline",
    "unicode: héllo wörld ✓ 日本",
    "{{ .System }}<|im_end|>\n{{ .Prompt }}",
]


@pytest.mark.parametrize("text", TRICKY)
def test_render_round_trip(text: str) -> None:
    rendered = render_declaration(
        "qwen2.5:7b",
        parameters={"stop": [text, "<|im_end|>"], "temperature": 0.2, "num_ctx": 8192},
        system=text,
        template=text,
        messages=[("user", text), ("assistant", text)],
        license=text,
        adapter="./adapters/lora.gguf",
    )
    mf = parse_modelfile(rendered)
    assert mf.from_ == "qwen2.5:7b"
    assert mf.system == text
    assert mf.template == text
    assert mf.licenses == (text,)
    assert mf.adapter == "./adapters/lora.gguf"
    assert mf.messages == (("user", text), ("assistant", text))
    assert mf.parameters == {"stop": [text, "<|im_end|>"], "temperature": [0.2],
                             "num_ctx": [8192]}
    assert parse_modelfile(mf.canonical()).canonical() == mf.canonical()


def test_render_random_strings_round_trip() -> None:
    # Property-style: random strings over the characters that matter to the grammar.
    alphabet = ['"', '"', '"', "\n", " ", "\t", "\\", "#", "a", "b", "'", "\r"]
    rng = random.Random(20240601)
    unrepresentable = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        try:
            quoted = quote_value(text)
        except ValueError:
            # Refused only when every quoting would end early (a line ending in """
            # followed by more text) or look like a trailing comment.
            unrepresentable += 1
            lines = text.replace("\r", "\n").split("\n")
            early_end = any(line.rstrip(" \t").endswith('"""') for line in lines[:-1])
            comment_like = re.search(r'"[ \t]+#', lines[0]) and re.search(r'"""[ \t]+#', lines[0])
            assert early_end or comment_like, repr(text)
            continue
        mf = parse_modelfile(f"FROM x\nSYSTEM {quoted}\nPARAMETER num_ctx 1\n")
        assert mf.system == text, (text, quoted)
        assert mf.parameters == {"num_ctx": [1]}
    assert unrepresentable < 3000


def test_render_minimal() -> None:
    assert render_declaration("llama3.2") == "FROM llama3.2\n"


def test_render_uses_bare_values_when_safe() -> None:
    text = render_declaration(
        "llama3.2", parameters={"use_mmap": False, "top_k": 40}, system="Be brief."
    )
    assert text == (
        "FROM llama3.2\nSYSTEM Be brief.\nPARAMETER top_k 40\nPARAMETER use_mmap false\n"
    )


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"from_": ""}, "FROM has an empty value"),
        ({"from_": "bad name!"}, "contains whitespace"),
        ({"from_": "x", "parameters": {"num_ctx": "abc"}}, "is not an integer"),
        ({"from_": "x", "parameters": {"num_ctx": True}}, "is not an integer"),
        ({"from_": "x", "parameters": {"temperature": float("nan")}}, "not a finite number"),
        ({"from_": "x", "parameters": {"nope": 1}}, "unknown parameter 'nope'"),
        ({"from_": "x", "parameters": {"seed": [1, 2]}}, "given twice"),
        ({"from_": "x", "parameters": {"num_ctx": ""}}, "num_ctx has an empty value"),
    ],
)
def test_render_rejects_invalid_declarations(kwargs: dict[str, object], phrase: str) -> None:
    with pytest.raises(ModelfileError) as info:
        render_declaration(**kwargs)  # type: ignore[arg-type]
    assert phrase in info.value.reason
    assert info.value.source == "<declaration>"


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"from_": "x", "system": 'a"""\nb'}, 'line ending in """'),
        ({"from_": "x", "system": "a\u00a0b"}, "non-printable"),
        ({"from_": "x", "messages": [("tool", "x")]}, "message role 'tool'"),
        ({"from_": "x", "parameters": {"bad name": 1}}, "letters, digits"),
        ({"from_": "x", "parameters": {"stop": [None]}}, "expected a string, number"),
    ],
)
def test_render_rejects_unrepresentable(kwargs: dict[str, object], phrase: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        render_declaration(**kwargs)  # type: ignore[arg-type]
    assert not isinstance(info.value, ModelfileError)
    assert phrase in str(info.value)
