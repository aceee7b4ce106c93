"""`harness fetch-binary`: download the official benchmark_model nightly for an ABI."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from harness.device.download import ABI_TARGETS, OFFICIAL_BASE_URL
from harness.device.download import fetch_binary as fetch
from harness.textsafe import echo


def fetch_binary(
    abi: Annotated[
        str, typer.Option("--abi", help=f"Target ABI: {', '.join(ABI_TARGETS)}.")
    ] = "arm64-v8a",
    force: Annotated[bool, typer.Option("--force", help="Download even if cached.")] = False,
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where the nightly binaries live (a mirror).")
    ] = OFFICIAL_BASE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Fetch benchmark_model into the cache, record its sha256 (then: --benchmark-binary)."""
    got = fetch(abi, base_url=base_url, force=force)
    if as_json:
        echo(json.dumps(got.to_dict(), indent=2))
        return
    state = "cached" if got.cached else "downloaded"
    kind = "official nightly" if got.official else "NOT from the official bucket"
    echo(f"{got.path}", nl=True)
    echo(
        f"{state} {got.abi} benchmark_model ({kind}), {got.size_bytes} bytes, sha256 {got.sha256}",
        err=True,
    )


def register(app: typer.Typer) -> None:
    """Add `harness fetch-binary`."""
    app.command("fetch-binary")(fetch_binary)
