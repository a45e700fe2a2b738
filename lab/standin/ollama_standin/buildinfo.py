"""Build-time constants. TEST FIXTURE.

release_build.py rewrites this file inside each release archive, so the version (and the "broken
release" switch) is baked into the archive the way upstream bakes version.Version into the binary.
The values here are what an unpacked source tree reports.
"""

VERSION = "0.0.0"
BROKEN = False
