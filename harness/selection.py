"""How a list option is written: repeated, or as a comma list, or both.

`--quant fp32,int8 --quant fp16` and `--device a --device b,c` read alike;
blanks around a word and empty words are dropped. Every list option of the
command line and every `--device` selection (a script's too) is split here.
This module imports nothing from the harness, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterable


def split_list(values: Iterable[str] | None) -> list[str]:
    """The words of repeated options and comma lists alike, in order, blanks dropped."""
    return [word.strip() for value in values or [] for word in value.split(",") if word.strip()]
