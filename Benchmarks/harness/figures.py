"""Figures a row returns, the targets they are checked against (Benchmarks/thresholds.json) and
the statistics over repetitions."""

import json
import math
import operator
import statistics
from dataclasses import dataclass, field, asdict


def stat(samples):
    """Median, min and max of one measurement's repetitions (samples kept, in run order)."""
    samples = [float(s) for s in samples]
    if not samples or any(math.isnan(s) for s in samples):
        raise ValueError(f"no valid samples: {samples}")
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def ratio(numerator, denominator):
    """Ratio of two stats' medians, with min/max over the repetitions' own ratios (paired)."""
    pairs = [a / b for a, b in zip(numerator["samples"], denominator["samples"]) if b]
    value = numerator["median"] / denominator["median"] if denominator["median"] else math.nan
    return value, pairs


@dataclass
class Figure:
    """One line of the table. `value` is the number the target is checked against (a ratio, a
    difference, a count); `parts` are the measurements it was derived from."""
    id: str                 # stable key, also the key of its target in thresholds.json
    row: str                # the docs table's row column ("1", "1b", "2", ...)
    what: str
    measured: str           # the medians it came from, as text
    value: float | None
    unit: str               # "x", "ns", "instructions", "%", "frames", "pps", "us", "count"
    headline: str = ""      # how the value reads in the table (default: value and unit)
    samples: list = field(default_factory=list)   # the value per repetition, where it has one
    parts: dict = field(default_factory=dict)     # name -> stat(...) or a plain number

    def as_json(self):
        figure = asdict(self)
        if self.samples:
            figure["min"], figure["max"] = min(self.samples), max(self.samples)
        return figure


def ratio_figure(id, row, what, measured, numerator, denominator, **extra):
    """A figure whose value is the ratio of two measurements' medians (`numerator` and
    `denominator`: (name, stat) pairs), its spread the repetitions' own ratios."""
    (top_name, top), (bottom_name, bottom) = numerator, denominator
    value, pairs = ratio(top, bottom)
    return Figure(id=id, row=row, what=what, measured=measured, value=value, unit="x", samples=pairs,
                  parts={top_name: top, bottom_name: bottom}, **extra)


OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


def load_thresholds(path):
    """{figure id: {"op": "<="|">="|"==", "value": number, "unit": ..., "why": ...}} or
    {"note": text} for rows shown for context. Malformed entries are an error naming the key."""
    with open(path) as f:
        entries = json.load(f)
    entries.pop("_comment", None)
    for key, entry in entries.items():
        if "note" in entry and "op" not in entry:
            continue
        if entry.get("op") not in OPERATORS or not isinstance(entry.get("value"), (int, float)):
            raise ValueError(f"{path}: '{key}': needs \"op\" (<=, >= or ==) and a numeric \"value\", got {entry}")
    return entries


def target_text(entry):
    if entry is None:
        return ""
    if "op" not in entry:
        return entry["note"]
    value = entry["value"]
    unit = entry.get("unit", "")
    text = f"{entry['op']} {value:g}{'' if unit in ('x', '%') else ' '}{unit}".rstrip()
    return f"{text} ({entry['note']})" if entry.get("note") else text


def check(figures, thresholds, rows_run):
    """Misses, as messages: a figure whose value misses its target, a target of a row that ran
    but produced no such figure, a figure without a value that has a target."""
    misses = []
    by_id = {f["id"]: f for f in figures}
    for key, entry in thresholds.items():
        if "op" not in entry or entry.get("row") not in rows_run:
            continue
        figure = by_id.get(key)
        if figure is None:
            misses.append(f"{key}: row {entry['row']} ran but produced no such figure")
        elif figure["value"] is None or (isinstance(figure["value"], float) and math.isnan(figure["value"])):
            misses.append(f"{key}: no value measured (target {target_text(entry)})")
        elif not OPERATORS[entry["op"]](figure["value"], entry["value"]):
            misses.append(f"{key}: {figure['value']:.4g} {entry.get('unit', '')}, target {target_text(entry)}"
                          f" -- {figure['what']}")
    return misses
