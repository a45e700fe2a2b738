"""TEST FIXTURE: a stdlib-only stand-in for the Ollama server and CLI.

It imitates what a deploy tool can observe of a real Ollama release (CLI output, HTTP API,
environment parsing, on-disk model store) so the fleet tooling can be exercised on hosts that
cannot download the real program. It performs no inference. Behaviour follows upstream
ollama/ollama v0.13.5 (envconfig/config.go, parser/parser.go, server/*.go, cmd/cmd.go).
"""

from .buildinfo import BROKEN, VERSION

__all__ = ["BROKEN", "VERSION"]
