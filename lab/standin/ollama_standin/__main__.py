"""`python -m ollama_standin ...` runs the stand-in CLI (TEST FIXTURE)."""

import sys

from .cli import main

sys.exit(main())
