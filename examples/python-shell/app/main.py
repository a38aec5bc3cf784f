"""Runs a shell health check, the reason this app keeps a shell."""

import subprocess
import sys


def main():
    out = subprocess.run(["sh", "/app/health.sh"], capture_output=True, text=True)
    print(out.stdout, end="")
    print(out.stderr, end="", file=sys.stderr)
    with open("/app/data/state", "w") as f:
        f.write("ok\n")
    print("state written to /app/data")
    return out.returncode


if __name__ == "__main__":
    sys.exit(main())
