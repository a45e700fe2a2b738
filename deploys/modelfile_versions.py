"""Which Ollama release accepts which Modelfile instruction, PARAMETER and template function.

This is the one table of those facts. Every row names where upstream (github.com/ollama/ollama)
introduced or removed the thing: the commit (and pull request when the commit message names
one) and the first release tag that contains it, found with ``git log -S`` on parser/parser.go,
api/types.go and template/template.go and ``git tag --contains``. Rows marked UNVERIFIED
could not be tied to one commit; their comment says what is known.

Releases older than :data:`OLDEST` are checked with the rules of :data:`OLDEST`: the table
does not go further back (Ollama's parser was rewritten in 0.1.34; template functions and the
current parameter set settle after that).

Stdlib only: the settings model and the deploy code both use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Version = tuple[int, int, int]

OLDEST: Version = (0, 2, 0)


def parse_version(text: str) -> Version:
    """``0.13.5`` (a ``v`` prefix and ``-rc1``/``+build`` suffixes are ignored) as a tuple."""
    match = re.fullmatch(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:[-+].*)?", text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a release number like 0.13.5")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class Since:
    """When a thing arrived (``since``) and, if it went away, the first release without it."""

    since: Version
    source: str
    until: Version | None = None
    removed_by: str = ""

    def present(self, version: Version) -> bool:
        return self.since <= version and (self.until is None or version < self.until)


_BEFORE = "present before 0.2.0 (the table's oldest release)"

# --------------------------------------------------------------------------- instructions
# parser/parser.go isValidCommand.
INSTRUCTIONS: dict[str, Since] = {
    **{
        name: Since(OLDEST, _BEFORE)
        for name in ("from", "parameter", "template", "system", "adapter", "license", "message")
    },
    # 47991940d "add qwen3-coder tool support", first in v0.12.0
    "renderer": Since((0, 12, 0), "commit 47991940d, v0.12.0"),
    "parser": Since((0, 12, 0), "commit 47991940d, v0.12.0"),
    # 8852220f5 "add REQUIRES command to Modelfile" (#13361), first in v0.14.0
    "requires": Since((0, 14, 0), "commit 8852220f5 (PR 13361), v0.14.0"),
    # 15e6076d7 "mlx: Gemma4 MTP speculative decoding" (#15980), first in v0.23.1
    "draft": Since((0, 23, 1), "commit 15e6076d7 (PR 15980), v0.23.1"),
}

# --------------------------------------------------------------------------- parameters
# api/types.go Options and Runner json tags (what api.FormatParams accepts), with their types.


@dataclass(frozen=True)
class ParameterRow:
    kind: type  # int, float, bool, or list (a string that may repeat)
    present: Since
    # From this release on Ollama only warns "parameter X is deprecated" and drops the line
    # (parser/parser.go deprecatedParameters).
    deprecated: Since | None = None


_V070_DEPRECATION = Since((0, 7, 0), "commit 3b2d2c832 (PR 10574), v0.7.0")
_UNTIL_070 = Since(OLDEST, _BEFORE, until=(0, 7, 0),
                   removed_by="commit 3b2d2c832 (PR 10574), v0.7.0")

PARAMETERS: dict[str, ParameterRow] = {
    **{
        name: ParameterRow(int, Since(OLDEST, _BEFORE))
        for name in ("num_ctx", "num_batch", "num_gpu", "main_gpu", "num_thread", "num_keep",
                     "seed", "num_predict", "top_k", "repeat_last_n")
    },
    **{
        name: ParameterRow(float, Since(OLDEST, _BEFORE))
        for name in ("top_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty",
                     "frequency_penalty")
    },
    "use_mmap": ParameterRow(bool, Since(OLDEST, _BEFORE)),
    "stop": ParameterRow(list, Since(OLDEST, _BEFORE)),
    # f3d7a481b "feat: add support for min_p" (#1825), first in v0.3.1
    "min_p": ParameterRow(float, Since((0, 3, 1), "commit f3d7a481b (PR 1825), v0.3.1")),
    # 9db4bdbad "runner: Remove CGO engines, use llama-server exclusively" (#16031), v0.30.0
    "draft_num_predict": ParameterRow(
        int, Since((0, 30, 0), "commit 9db4bdbad (PR 16031), v0.30.0")),
    # Removed without a deprecation period: later releases answer "unknown parameter".
    # f457d6340 "Implement linux NUMA detection", first without it v0.3.4
    "numa": ParameterRow(bool, Since(OLDEST, _BEFORE, until=(0, 3, 4),
                                     removed_by="commit f457d6340, v0.3.4")),
    # 527cc9789 "llama: update vendored code to commit 40c6d79f" (#7875), v0.5.2
    "tfs_z": ParameterRow(float, Since(OLDEST, _BEFORE, until=(0, 5, 2),
                                       removed_by="commit 527cc9789 (PR 7875), v0.5.2")),
    # 1deafd825 "llama: update vendored code to commit 46e3556" (#8308), v0.5.5: removed from
    # the options and added to the deprecated list.
    "penalize_newline": ParameterRow(
        bool,
        Since(OLDEST, _BEFORE, until=(0, 5, 5), removed_by="commit 1deafd825 (PR 8308), v0.5.5"),
        deprecated=Since((0, 5, 5), "commit 1deafd825 (PR 8308), v0.5.5"),
    ),
    # 3b2d2c832 "api: remove unused or unsupported api options" (#10574), v0.7.0: removed from
    # the options and added to the deprecated list.
    **{
        name: ParameterRow(bool, _UNTIL_070,
                           deprecated=_V070_DEPRECATION)
        for name in ("low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock")
    },
    "mirostat": ParameterRow(int, _UNTIL_070,
                             deprecated=_V070_DEPRECATION),
    **{
        name: ParameterRow(float, _UNTIL_070,
                           deprecated=_V070_DEPRECATION)
        for name in ("mirostat_tau", "mirostat_eta")
    },
}

# --------------------------------------------------------------------------- template functions
# Go's text/template builtins: every release (Ollama has always been built with Go 1.18 or later,
# which also brought {{break}} and {{continue}}).
GO_BUILTINS: frozenset[str] = frozenset({
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "call", "html", "js", "urlquery",
})

# template/template.go `funcs`, the FuncMap Ollama's template.Parse adds.
TEMPLATE_FUNCTIONS: dict[str, Since] = {
    # d02bbebb1 "tools", first in v0.2.6
    "json": Since((0, 2, 6), "commit d02bbebb1, v0.2.6"),
    # fa7776fd2 "gpt-oss" (#11672), first in v0.11.1
    "currentDate": Since((0, 11, 1), "commit fa7776fd2 (PR 11672), v0.11.1"),
    # 30f8a68c4 "tools: support anyOf types", first in v0.11.3
    "toTypeScriptType": Since((0, 11, 3), "commit 30f8a68c4, v0.11.3"),
    # 48e78e9be "template: add yesterdayDate helper function" (#13431), first in v0.13.3
    "yesterdayDate": Since((0, 13, 3), "commit 48e78e9be (PR 13431), v0.13.3"),
}

# Go template syntax that depends on the Go release Ollama was built with.
# UNVERIFIED: {{else with}} arrived in Go 1.23; go.mod requires Go 1.23.4 from v0.5.2 on
# (commit 527cc9789). Earlier releases may have been built with a newer Go than go.mod asks
# for, so this may be later than the truth; it is the first release that certainly has it.
ELSE_WITH = Since((0, 5, 2), "go.mod go 1.23.4 from v0.5.2 (Go 1.23 added {{else with}})")

# --------------------------------------------------------------------------- create-time checks
# cmd/cmd.go CreateHandler: from v0.23.1 to v0.29.x a plain `ollama create` answers "DRAFT
# requires --experimental"; v0.30.0 (9db4bdbad, PR 16031) handles DRAFT without the flag and,
# in parser/parser.go rejectMatchingLocalPath, refuses a DRAFT naming the FROM path. ollama-fleet
# runs plain `ollama create`, so DRAFT needs 0.30.0 here (and the same-path refusal always
# applies).
DRAFT_WITHOUT_EXPERIMENTAL = Since((0, 30, 0), "commit 9db4bdbad (PR 16031), v0.30.0")
# template/template.go Identifiers: "undefined template specified" for {{template "x"}} without
# a value. 1ed2881ef "templates: fix crash in improperly defined templates" (#12483), v0.12.4;
# before that the same template crashed the create request.
TEMPLATE_WITHOUT_VALUE_REFUSED = Since((0, 12, 4), "commit 1ed2881ef (PR 12483), v0.12.4")


# A FROM model name with spaces around it inside the quotes (FROM " llama3 "): the server trims
# it from 8207e55ec "don't require pulling stubs for cloud models" (#14574), first in v0.17.6
# (internal/modelref ParseRef); before, the padded name was an invalid model name.
FROM_NAME_TRIMMED = Since((0, 17, 6), "commit 8207e55ec (PR 14574), v0.17.6")


# --------------------------------------------------------------------------- queries


def effective(version: Version | str | None) -> Version | None:
    """The release whose rules apply: ``None`` (no version known) means the newest rules."""
    if version is None:
        return None
    value = parse_version(version) if isinstance(version, str) else version
    return max(value, OLDEST)


def _present(row: Since, version: Version | None) -> bool:
    return row.until is None if version is None else row.present(version)


def instructions_for(version: Version | None) -> tuple[str, ...]:
    return tuple(name for name, row in INSTRUCTIONS.items() if _present(row, version))


def parameter_types_for(version: Version | None) -> dict[str, type]:
    """Parameters Ollama types and keeps at ``version``."""
    return {name: row.kind for name, row in PARAMETERS.items() if _present(row.present, version)}


def deprecated_for(version: Version | None) -> frozenset[str]:
    """Parameters Ollama warns about and drops at ``version``."""
    return frozenset(
        name for name, row in PARAMETERS.items()
        if row.deprecated is not None and _present(row.deprecated, version)
    )


def template_functions_for(version: Version | None) -> frozenset[str]:
    return GO_BUILTINS | {
        name for name, row in TEMPLATE_FUNCTIONS.items() if _present(row, version)
    }


def too_new(row: Since, version: Version | None) -> str | None:
    """``needs Ollama X or later`` when ``row`` arrived after ``version``, else None."""
    if version is None or row.since <= version:
        return None
    return f"needs Ollama {format_version(row.since)} or later"


def gone(row: Since, version: Version | None) -> str | None:
    """``removed in Ollama X`` when ``row`` was gone by ``version``, else None."""
    if row.until is None or (version is not None and version < row.until):
        return None
    return f"was removed in Ollama {format_version(row.until)} ({row.removed_by})"
