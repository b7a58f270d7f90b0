"""The loop structure of an X12 implementation guide (TR3), read from guides/*.txt.

A guide file describes one transaction set (837P, 837I, 835) the way the TR3 tables
print it: loops nest by indentation (two spaces), each segment line gives the segment
id with the code that identifies it, its usage and maximum use, and the elements the
TR3 marks required:

    guide 837P 005010X222A1 005010X222A2
    loop 2010AA R 1 | Billing Provider Name
      NM1=85 R 1 01 02 03 | Billing Provider Name
      REF=EI/SY R 1 01 02 | Billing Provider Tax Identification
    loop 2000A R >1 | Billing Provider Hierarchical Level
      HL.03=20 R 1 01 03 04 | ...
      HI.01.1=ABK/BK R 1 01 | the qualifier sits in component 1 of HI01
    loop 2300 R 100 = 2300 | reuses the body of the loop 2300 defined earlier

`=` names the codes that identify the segment (element 01 unless `.NN` or `.NN.C`
says which element and component); usage is R (required) or S (situational); `>1`
means no limit. The first segment of a loop is its trigger: a segment matching it
starts a new iteration of the loop. Contiguous segments with the same id share one
position, so the order among them is not enforced.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path

GUIDE_DIR = Path(__file__).with_name("guides")
UNBOUNDED = sys.maxsize
_INDENT = 2


@dataclass(frozen=True, eq=False)
class SegmentSpec:
    """One segment line of a guide: which segments it matches and how often."""

    segment_id: str
    element: int  # element holding the identifying code (0: the segment has none)
    component: int  # component of that element (0: the whole element)
    codes: frozenset[str] | None
    required: bool
    max_use: int
    required_elements: tuple[int, ...]
    name: str
    position: int = 0

    def matches(self, elements: list[str], component_separator: str) -> bool:
        """Whether a segment (split into elements, id first) is this one."""
        if self.codes is None:
            return True
        if len(elements) <= self.element:
            return False
        value = elements[self.element]
        if self.component:
            parts = value.split(component_separator)
            value = parts[self.component - 1] if len(parts) >= self.component else ""
        return value in self.codes

    def missing_elements(self, elements: list[str]) -> list[int]:
        count = len(elements)
        return [n for n in self.required_elements if n >= count or not elements[n]]

    @property
    def label(self) -> str:
        """`NM1*85` style, for messages."""
        if not self.codes:
            return self.segment_id
        return f"{self.segment_id}*{'/'.join(sorted(self.codes))}"


@dataclass(frozen=True, eq=False)
class LoopSpec:
    """A loop of a guide; `items` hold its segments and child loops in TR3 order."""

    loop_id: str
    required: bool
    max_repeat: int
    name: str
    items: tuple[SegmentSpec | LoopSpec, ...] = ()
    position: int = 0
    segments_by_id: dict[str, tuple[SegmentSpec, ...]] = field(default_factory=dict)
    loops_by_trigger: dict[str, tuple[LoopSpec, ...]] = field(default_factory=dict)

    @cached_property
    def trigger(self) -> SegmentSpec:
        first = self.items[0]
        assert isinstance(first, SegmentSpec)
        return first

    @cached_property
    def required_segments(self) -> tuple[SegmentSpec, ...]:
        return tuple(i for i in self.items if isinstance(i, SegmentSpec) and i.required)

    @cached_property
    def required_loops(self) -> tuple[LoopSpec, ...]:
        return tuple(i for i in self.items if isinstance(i, LoopSpec) and i.required)


@dataclass(frozen=True)
class Guide:
    """A transaction set's structure: its name (837P, 837I, 835), the implementation
    guide versions it accepts (GS08/ST03) and the loop tree from ST to SE."""

    name: str
    versions: tuple[str, ...]
    root: LoopSpec


class GuideSyntaxError(ValueError):
    """A guide file does not follow the grammar above (a bug in the shipped files)."""


def _limit(text: str) -> int:
    return UNBOUNDED if text == ">1" else int(text)


def _segment_spec(text: str, where: str) -> SegmentSpec:
    head, _, name = text.partition("|")
    words = head.split()
    if len(words) < 3 or words[1] not in ("R", "S"):
        raise GuideSyntaxError(f"{where}: expected `SEG[=codes] R|S max [elements] | name`")
    selector, codes_text = [*words[0].split("=", 1), ""][:2]
    segment_id, *place = selector.split(".")
    element = int(place[0]) if place else (1 if codes_text else 0)
    component = int(place[1]) if len(place) > 1 else 0
    return SegmentSpec(
        segment_id=segment_id,
        element=element,
        component=component,
        codes=frozenset(codes_text.split("/")) if codes_text else None,
        required=words[1] == "R",
        max_use=_limit(words[2]),
        required_elements=tuple(int(n) for n in words[3:]),
        name=name.strip(),
    )


@dataclass
class _Draft:
    """A loop while its lines are being read."""

    loop_id: str
    required: bool
    max_repeat: int
    name: str
    items: list[SegmentSpec | LoopSpec | _Draft] = field(default_factory=list)
    reuse: str | None = None


def _finish(draft: _Draft, defined: dict[str, LoopSpec]) -> LoopSpec:
    """Positions, indexes and reused bodies: a draft becomes an immutable LoopSpec."""
    if draft.reuse is not None:
        if draft.reuse not in defined:
            raise GuideSyntaxError(f"loop {draft.loop_id} reuses {draft.reuse}, defined later")
        body = defined[draft.reuse]
        return replace(body, required=draft.required, max_repeat=draft.max_repeat)
    items: list[SegmentSpec | LoopSpec] = []
    position = -1
    previous_id = None
    for item in draft.items:
        if isinstance(item, _Draft):
            position += 1
            previous_id = None
            items.append(replace(_finish(item, defined), position=position))
        else:
            assert isinstance(item, SegmentSpec)
            if item.segment_id != previous_id:
                position += 1
            previous_id = item.segment_id
            items.append(replace(item, position=position))
    if not items or not isinstance(items[0], SegmentSpec):
        raise GuideSyntaxError(f"loop {draft.loop_id} must start with a segment")
    segments: dict[str, list[SegmentSpec]] = {}
    loops: dict[str, list[LoopSpec]] = {}
    for item in items:
        if isinstance(item, SegmentSpec):
            segments.setdefault(item.segment_id, []).append(item)
        else:
            loops.setdefault(item.trigger.segment_id, []).append(item)
    spec = LoopSpec(
        loop_id=draft.loop_id, required=draft.required, max_repeat=draft.max_repeat,
        name=draft.name, items=tuple(items),
        # A segment identified by its codes is tried before a catch-all one of the same id.
        segments_by_id={key: tuple(sorted(value, key=lambda s: s.codes is None))
                        for key, value in segments.items()},
        loops_by_trigger={key: tuple(value) for key, value in loops.items()},
    )
    defined.setdefault(draft.loop_id, spec)
    return spec


def parse_guide(text: str, source: str = "<guide>") -> Guide:
    """Read a guide file's text (grammar in the module notes)."""
    header: list[str] | None = None
    root = _Draft("ST", True, 1, "Transaction Set")
    stack: list[tuple[int, _Draft]] = [(-1, root)]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}:{number}"
        if stripped.startswith("guide "):
            header = stripped.split()[1:]
            continue
        depth = (len(line) - len(stripped)) // _INDENT
        while stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1]
        if stripped.startswith("loop "):
            head, _, name = stripped.partition("|")
            words = head.split()
            reuse = words[5] if len(words) > 5 and words[4] == "=" else None
            draft = _Draft(words[1], words[2] == "R", _limit(words[3]), name.strip(), reuse=reuse)
            parent.items.append(draft)
            stack.append((depth, draft))
        else:
            parent.items.append(_segment_spec(stripped, where))
    if not header or len(header) < 2:
        raise GuideSyntaxError(f"{source}: the first line must be `guide NAME VERSION...`")
    return Guide(header[0], tuple(header[1:]), _finish(root, {}))


@cache
def load_guides() -> tuple[Guide, ...]:
    """The shipped guides (837P, 837I, 835)."""
    return tuple(
        parse_guide(path.read_text(encoding="utf-8"), path.name)
        for path in sorted(GUIDE_DIR.glob("*.txt"))
    )


def guide_for(transaction_code: str, version: str) -> Guide | None:
    """The guide for ST01 (837, 835) and an implementation guide id (ST03 or GS08)."""
    for guide in load_guides():
        if guide.name.startswith(transaction_code) and version in guide.versions:
            return guide
    return None
