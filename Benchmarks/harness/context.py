"""What a row function gets: the lab, the built tools, the repetitions, and the figures of the
rows that ran before it in this run (row 4 compares with row 3b's)."""

from dataclasses import dataclass, field

from lab import Lab, event, parse_json_lines
from tools import Tools


@dataclass
class Context:
    lab: Lab
    tools: Tools
    reps: int
    window: float                   # seconds of the forwarding rows' measuring window
    figures: dict = field(default_factory=dict)

    def say(self, message):
        self.lab.say(message)

    def bench(self, *args, timeout=600):
        """Runs `spantap-bench ARGS` to completion; its `result` line."""
        output = self.lab.run(self.tools.bench, *args, timeout=timeout)
        return event(parse_json_lines(output, f"spantap-bench {' '.join(map(str, args))}"), "result",
                     f"spantap-bench {args[0]}")

    def repeat(self, measure):
        """`measure()` `reps` times; the list of its results."""
        return [measure() for _ in range(self.reps)]
