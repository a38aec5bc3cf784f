"""Escapes some HTML with MarkupSafe, and proves that its C extension loaded."""

import sys
from importlib.metadata import version

import markupsafe
from markupsafe import _speedups  # the C extension: fails if it cannot load


def main():
    print(markupsafe.escape("<script>alert('boom')</script>"))
    print(f"markupsafe {version('markupsafe')} C extension: {_speedups.__file__}")
    print(f"escape is {markupsafe.escape.__module__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
