"""The benchmark rows. A row is one function registered with @row: it gets the run's context
(lab, tools, repetitions) and returns its Figures. Its targets live in Benchmarks/thresholds.json,
keyed by figure id. Adding a row = one function here (in the module of its kind) + its entries
there; docs/BENCHMARKS.md says how."""

from dataclasses import dataclass


@dataclass
class Row:
    key: str                # what --rows names ("3b", "2-instructions")
    table_row: str          # the docs table's row column ("3b", "2")
    function: object
    deterministic: bool     # instruction / allocation counts: same result on any machine, CI runs them
    root: bool              # needs namespaces, TAPs or XDP
    products: tuple         # release Swift products it runs
    c_programs: tuple       # Benchmarks/ and Examples/ C programs it runs (tools.py builds them)
    commands: tuple         # system commands it needs (scripts/setup.sh installs them)


ROWS = {}


def row(key, *, table_row=None, deterministic=False, root=True, products=("spantap-bench",), c_programs=(),
        commands=()):
    def register(function):
        ROWS[key] = Row(key, table_row or key.split("-")[0], function, deterministic, root, tuple(products),
                        tuple(c_programs), tuple(commands))
        return function
    return register


def select(selectors):
    """Rows in table order for `--rows` selectors: a row key, a table row ("2": all of row 2),
    "deterministic" (what CI runs) or "all". An unknown selector is an error."""
    chosen = set()
    for selector in selectors:
        matched = {k for k, r in ROWS.items()
                   if selector in ("all", k, r.table_row) or (selector == "deterministic" and r.deterministic)}
        if not matched:
            raise SystemExit(f"bench: --rows: no row '{selector}' (rows: {', '.join(ROWS)}, deterministic, all)")
        chosen |= matched
    return sorted((r for k, r in ROWS.items() if k in chosen), key=lambda r: table_order(r.table_row))


def table_order(table_row):
    """1 < 1b < 2 < ... < 3 < 3b < 4: the docs' order, which is also the order rows run in (row 4
    compares with 3b's figures). Rows of one table row keep their registration order."""
    digits = "".join(c for c in table_row if c.isdigit())
    return int(digits or 0), table_row[len(digits):]


# Registration order is table order.
from rows import sink, remote, hook, forward, daemon, producer, filter  # noqa: E402,F401
