"""`python -m bot.healthcheck [--metrics]`: the container healthcheck (Dockerfile, compose.yaml).

Asks this container's own process whether it is well, on the port it was configured with:
the web process's /health on UMKM_PORT (default 8000), or with --metrics the /health of the
metrics server that `umkm-bot sender` and `umkm-bot scheduler` run on METRICS_PORT. Standard
library only, so a check every few seconds costs almost nothing. Exit 0 when healthy, 1 if not.
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def url(metrics: bool) -> str:
    if metrics:
        port = os.environ.get("METRICS_PORT", "").strip()
        if not port:
            raise SystemExit("METRICS_PORT is not set: the process serves no health endpoint")
    else:
        port = os.environ.get("UMKM_PORT", "").strip() or "8000"
    return f"http://127.0.0.1:{int(port)}/health"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    target = url("--metrics" in argv)
    try:
        with urllib.request.urlopen(target, timeout=5) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {target}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
