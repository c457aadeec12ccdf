"""Unit tests of the harness's parsing and checking (no lab, no root):
python3 -B -m unittest discover -s Benchmarks/harness (scripts/test.sh runs them)."""

import json
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import callgrind
import render
from figures import Figure, check, load_thresholds
from lab import LabError, event, parse_json_lines
from rows import ROWS, select
from tools import ROOT, key_values

# A callgrind profile as valgrind writes it with --compress-strings=no --compress-pos=no.
PROFILE = """# callgrind format
version: 1
events: Ir
fl=loop.swift
fn=$s15SpanTapFastPath14ForwardingLoopV4passSbyFAA10MirrorHookV_Tg5
10 100
cfl=ring.c
cfn=helper
calls=64 20
20 640
fn=helper
20 640
fn=$s15SpanTapFastPath14ForwardingLoopV4passSbyFAA6NoHookV_Tg5
10 0
fn=main
1 5
cfn=swift_retain
calls=3 0
0 30
cfn=malloc
calls=2 0
0 40
totals: 1455
"""


class CallgrindTests(unittest.TestCase):
    def profile(self, text=PROFILE):
        path = Path(tempfile.mkdtemp()) / "cg.out"
        path.write_text(text)
        return callgrind.Profile(path)

    def test_inclusive_cost_adds_the_calls_it_made(self):
        p = self.profile()
        self.assertEqual(p.inclusive["$s15SpanTapFastPath14ForwardingLoopV4passSbyFAA10MirrorHookV_Tg5"], 740)
        self.assertEqual(p.calls["swift_retain"], 3)
        self.assertEqual(p.calls["malloc"], 2)
        self.assertEqual(p.total, 1455)

    def test_finds_the_specialization_by_demangled_name(self):
        pattern, description = r"^generic specialization <SpanTapFastPath\.MirrorHook> of .*ForwardingLoop\.pass\(\)", "x"
        self.assertEqual(callgrind.find_function(self.profile(), pattern, description), 740)

    def test_a_function_that_did_not_run_or_is_missing_is_an_error(self):
        with self.assertRaisesRegex(LabError, "0 functions match"):   # NoHook's pass has cost 0
            callgrind.find_function(self.profile(), r"<SpanTapFastPath\.NoHook> of", "ForwardingLoop<NoHook>.pass()")
        with self.assertRaisesRegex(LabError, "0 functions match"):
            callgrind.find_function(self.profile(), r"RenamedLoop\.pass", "RenamedLoop.pass()")

    def test_several_matches_are_an_error(self):
        with self.assertRaisesRegex(LabError, "2 functions match"):
            callgrind.find_function(self.profile(), r"ForwardingLoop|helper", "ForwardingLoop")

    def test_no_per_packet_work_is_an_error_not_zero(self):
        with mock.patch.object(callgrind, "run", return_value=self.profile()):
            with self.assertRaisesRegex(LabError, "no per-packet work"):
                callgrind.per_packet(lambda n: ["x"], 1000, r"^main$", "main", Path("/tmp"))

    def test_not_a_profile(self):
        with self.assertRaisesRegex(LabError, "not a callgrind profile"):
            self.profile("garbage\n")


def figure(id, value, row="2"):
    return Figure(id=id, row=row, what=f"what {id}", measured="", value=value, unit="x").as_json()


class CheckTests(unittest.TestCase):
    thresholds = {"a": {"row": "r", "op": ">=", "value": 1.2, "unit": "x"},
                  "b": {"row": "r", "op": "<=", "value": 0, "unit": ""},
                  "c": {"row": "r", "op": "<=", "value": 5, "unit": "ns"},
                  "d": {"row": "other", "op": "<=", "value": 5, "unit": "ns"},
                  "e": {"row": "r", "note": "context"}}

    def test_names_each_miss_and_only_misses(self):
        misses = check([figure("a", 1.19), figure("b", 0), figure("c", None)], self.thresholds, {"r"})
        self.assertEqual(len(misses), 2, misses)
        self.assertTrue(misses[0].startswith("a: 1.19 x, target >= 1.2x"), misses)
        self.assertTrue(misses[1].startswith("c: no value measured"), misses)

    def test_a_target_of_a_row_that_ran_without_its_figure_is_a_miss(self):
        self.assertEqual(check([figure("a", 2), figure("b", 0)], self.thresholds, {"r"}),
                         ["c: row r ran but produced no such figure"])

    def test_rows_that_did_not_run_are_not_checked(self):
        self.assertEqual(check([], self.thresholds, set()), [])

    def test_malformed_thresholds_name_the_key(self):
        path = Path(tempfile.mkdtemp()) / "t.json"
        path.write_text(json.dumps({"x.y": {"row": "2", "op": "<", "value": 1}}))
        with self.assertRaisesRegex(ValueError, "'x.y'"):
            load_thresholds(path)

    def test_the_committed_thresholds_load_and_name_known_rows(self):
        thresholds = load_thresholds(ROOT / "Benchmarks/thresholds.json")
        self.assertEqual([k for k, t in thresholds.items() if t["row"] not in ROWS], [])
        self.assertTrue(any(t["row"] == "2-instructions" for t in thresholds.values()))


class ParsingTests(unittest.TestCase):
    def test_key_values(self):
        self.assertEqual(key_values("impl=c-write size=64 fps=812345", ["fps"], "c")["fps"], 812345.0)
        with self.assertRaisesRegex(LabError, "no ns_per_frame"):
            key_values("mode=batched ns=3", ["ns_per_frame"], "c_producer_bench")

    def test_json_lines(self):
        events = parse_json_lines('{"event":"ready","mode":"drv"}\n{"event":"result","a_rx":5}\n', "bench")
        self.assertEqual(event(events, "result", "bench")["a_rx"], 5)
        with self.assertRaisesRegex(LabError, "expected one 'latency'"):
            event(events, "latency", "bench")
        with self.assertRaisesRegex(LabError, "line 2 is not JSON"):
            parse_json_lines('{"event":"ready"}\nready mode=drv\n', "bench")

    def test_row_selection(self):
        self.assertEqual([r.key for r in select(["2"])], ["2-ns", "2-instructions", "2-allocations"])
        self.assertEqual([r.key for r in select(["deterministic"])], ["2-instructions", "2-allocations", "7-instructions", "8-instructions"])
        with self.assertRaises(SystemExit):
            select(["9"])
        self.assertEqual([r.key for r in select(["4", "3b", "3", "1b"])], ["1b", "3", "3b", "4"])


class RenderTests(unittest.TestCase):
    def test_regenerates_only_the_marked_section(self):
        folder = Path(tempfile.mkdtemp())
        results = {"machine": {"cores": 2, "cpu": "cpu", "kernel": "k", "swift": "s"},
                   "run": {"date": "d", "commit": "0123456789abcdef", "dirty": False, "rows": ["2-ns"], "reps": 3,
                           "seconds": 9, "note": "quiet"},
                   "figures": [{**figure("2.x", 1.5), "samples": [1.4, 1.6],
                                "target": {"op": ">=", "value": 1.2, "unit": "x"}, "check": "met"}]}
        (folder / "r.json").write_text(json.dumps(results))
        doc = folder / "doc.md"
        doc.write_text(f"before\n{render.BEGIN}\nold table\n{render.END}\nafter\n")
        render.update_docs(doc, folder / "r.json")
        text = doc.read_text()
        self.assertIn("| 2 | what 2.x |  | **1.50x** | 1.4 - 1.6 | >= 1.2x | met |", text)
        self.assertNotIn("old table", text)
        self.assertTrue(text.startswith("before\n") and text.endswith("after\n"))
        doc.write_text("no markers\n")
        with self.assertRaises(SystemExit):
            render.update_docs(doc, folder / "r.json")


if __name__ == "__main__":
    unittest.main()
