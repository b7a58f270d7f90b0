"""Place every segment of a transaction set in its TR3 loop, and say what does not fit.

The walk keeps a stack of open loops (the transaction set at the bottom). A segment is
looked for in the innermost loop first: among its own segments at or after the
current position, then as the first segment of one of its child loops; failing both,
in the enclosing loop, and so on outwards. Going outwards closes the inner loops, and
closing a loop checks that its required segments and required child loops were seen.
Nearest first is how X12 resolves loops that start with the same segment (NM1*82 after
a service line is the line's rendering provider, 2420A, not the claim's, 2310B).

What is reported (each an error that rejects the set):
- a segment id that is not an X12 identifier, or a segment no open loop allows here
  (out of order when the innermost loop has it at an earlier position);
- a segment or loop used more often than the TR3 allows;
- a required segment, loop or element that is missing.
The hierarchical levels (HL) are nested by their level code (HL03: 20 billing
provider, 22 subscriber, 23 patient) and position, as the TR3 loops 2000A/B/C are;
HL01/HL02 numbering problems are warnings, since the nesting does not depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from etl.sources.x12.guide import Guide, LoopSpec, SegmentSpec
from etl.sources.x12.reader import valid_segment_id

# Enough to tell a user what is wrong without flooding the quarantine with consequences.
MAX_ERRORS = 10


class _Open:
    """An open loop iteration on the stack."""

    __slots__ = ("hl_id", "loop_counts", "position", "segment_counts", "spec", "start")

    def __init__(self, spec: LoopSpec, start: int) -> None:
        self.spec = spec
        self.position = 0
        self.segment_counts: dict[SegmentSpec, int] = {}
        self.loop_counts: dict[LoopSpec, int] = {}
        self.start = start
        self.hl_id: str | None = None


@dataclass
class Walk:
    """The loop of each segment (None: not placed), where loop iterations start, and
    the problems found."""

    loop_ids: list[str | None] = field(default_factory=list)
    starts_loop: list[bool] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


def _name(spec: LoopSpec) -> str:
    return "the transaction set" if spec.loop_id == "ST" else f"loop {spec.loop_id} ({spec.name})"


class _Walker:
    def __init__(self, guide: Guide, component: str, first_position: int) -> None:
        self.guide = guide
        self.component = component
        self.first = first_position
        self.stack: list[_Open] = [_Open(guide.root, first_position)]
        self.walk = Walk()
        self.hl_ids: set[str] = set()
        self.known_ids = _segment_ids(guide.root)
        self.code_index = _code_elements(guide.root)
        self.decisions = _decision_cache(guide)

    def place(self, elements: list[str], position: int) -> None:
        segment_id = elements[0]
        walk = self.walk
        if segment_id not in self.known_ids and not valid_segment_id(segment_id):
            walk.error(f"segment {position}: {segment_id!r} is not an X12 segment identifier")
            walk.loop_ids.append(None)
            walk.starts_loop.append(False)
            return
        stack = self.stack
        top = stack[-1]
        # Fast path: most segments belong to the innermost loop or open one of its
        # children, and which one depends only on that loop, its position and the codes.
        index = self.code_index.get(segment_id)
        key = (top.spec, top.position, segment_id,
               elements[index] if index is not None and len(elements) > index else None)
        known = self.decisions.get(key)
        if known is not None:
            if known.__class__ is SegmentSpec:
                counts = top.segment_counts
                used = counts.get(known, 0)
                if used < known.max_use:  # type: ignore[union-attr]
                    top.position = known.position
                    counts[known] = used + 1  # type: ignore[index]
                    required = known.required_elements  # type: ignore[union-attr]
                    if required:
                        count = len(elements)
                        for number in required:
                            if number >= count or not elements[number]:
                                self.check_elements(known, elements, position,  # type: ignore[arg-type]
                                                    top.spec)
                                break
                    walk.loop_ids.append(top.spec.loop_id)
                    walk.starts_loop.append(False)
                    return
            elif top.loop_counts.get(known, 0) < known.max_repeat:  # type: ignore[union-attr]
                self.open_loop(top, known, elements, position)  # type: ignore[arg-type]
                return
        component = self.component
        overused: tuple[int, SegmentSpec | LoopSpec] | None = None
        for depth in range(len(stack) - 1, -1, -1):
            state = stack[depth]
            spec = state.spec
            candidates = spec.segments_by_id.get(segment_id)
            if candidates:
                for candidate in candidates:
                    if candidate.position < state.position or (
                            candidate.codes is not None
                            and not candidate.matches(elements, component)):
                        continue
                    if state.segment_counts.get(candidate, 0) >= candidate.max_use:
                        overused = overused or (depth, candidate)
                        continue
                    if depth != len(stack) - 1:
                        self.close_to(depth, position)
                    else:
                        self.decisions[key] = candidate
                    self.use_segment(state, candidate, elements, position)
                    return
            children = spec.loops_by_trigger.get(segment_id)
            if children:
                for child in children:
                    if child.position < state.position or \
                            not child.trigger.matches(elements, component):
                        continue
                    if state.loop_counts.get(child, 0) >= child.max_repeat:
                        overused = overused or (depth, child)
                        continue
                    if depth == len(stack) - 1:
                        self.decisions[key] = child
                    self.close_to(depth, position)
                    self.open_loop(state, child, elements, position)
                    return
        if overused is not None:
            self.overuse(overused[0], overused[1], elements, position)
            return
        self.misplaced(elements, position)

    def use_segment(self, state: _Open, spec: SegmentSpec, elements: list[str],
                    position: int) -> None:
        state.position = spec.position
        counts = state.segment_counts
        counts[spec] = counts.get(spec, 0) + 1
        if spec.required_elements:
            self.check_elements(spec, elements, position, state.spec)
        self.walk.loop_ids.append(state.spec.loop_id)
        self.walk.starts_loop.append(False)

    def open_loop(self, state: _Open, child: LoopSpec, elements: list[str],
                  position: int) -> None:
        state.position = child.position
        state.loop_counts[child] = state.loop_counts.get(child, 0) + 1
        opened = _Open(child, position)
        trigger = child.trigger
        opened.segment_counts[trigger] = 1
        self.stack.append(opened)
        if trigger.required_elements:
            self.check_elements(trigger, elements, position, child)
        if elements[0] == "HL":
            self.check_hierarchy(opened, elements, position)
        self.walk.loop_ids.append(child.loop_id)
        self.walk.starts_loop.append(True)

    def overuse(self, depth: int, spec: SegmentSpec | LoopSpec, elements: list[str],
                position: int) -> None:
        """Report a segment or loop used too often, then accept it, so its remaining
        segments are not reported again as misplaced."""
        state = self.stack[depth]
        self.close_to(depth, position)
        if isinstance(spec, SegmentSpec):
            self.walk.error(f"segment {position}: {spec.label} ({spec.name}) appears more than "
                            f"{spec.max_use} time(s) in {_name(state.spec)}")
            state.segment_counts[spec] -= 1
            self.use_segment(state, spec, elements, position)
        else:
            self.walk.error(f"segment {position}: {_name(spec)} appears more than "
                            f"{spec.max_repeat} time(s) in {_name(state.spec)}")
            state.loop_counts[spec] -= 1
            self.open_loop(state, spec, elements, position)

    def misplaced(self, elements: list[str], position: int) -> None:
        segment_id = elements[0]
        inner = self.stack[-1]
        earlier = [c for c in inner.spec.segments_by_id.get(segment_id, ())
                   if c.matches(elements, self.component)]
        if earlier:
            self.walk.error(f"segment {position}: {earlier[0].label} is out of order in "
                            f"{_name(inner.spec)}; the TR3 puts it before the segments "
                            "already seen there")
        else:
            qualifier = f"*{elements[1]}" if len(elements) > 1 and elements[1] else ""
            self.walk.error(f"segment {position}: {segment_id}{qualifier} is not expected in "
                            f"{_name(inner.spec)} (no loop of {self.guide.name} allows it here)")
        self.walk.loop_ids.append(None)
        self.walk.starts_loop.append(False)

    def check_elements(self, spec: SegmentSpec, elements: list[str], position: int,
                       loop: LoopSpec) -> None:
        count = len(elements)
        for index in spec.required_elements:
            if index >= count or not elements[index]:
                break
        else:
            return
        missing = spec.missing_elements(elements)
        if missing:
            names = ", ".join(f"{spec.segment_id}{n:02d}" for n in missing)
            self.walk.error(f"segment {position}: {spec.label} in {_name(loop)} lacks {names} "
                            "(required by the TR3)")

    def check_hierarchy(self, opened: _Open, elements: list[str], position: int) -> None:
        hl_id = elements[1] if len(elements) > 1 else ""
        parent = elements[2] if len(elements) > 2 else ""
        opened.hl_id = hl_id
        if hl_id in self.hl_ids:
            self.walk.warnings.append(f"segment {position}: HL01 {hl_id!r} is used twice")
        self.hl_ids.add(hl_id)
        enclosing = next((s.hl_id for s in reversed(self.stack[:-1]) if s.hl_id is not None),
                         None)
        if (enclosing or "") != parent:
            self.walk.warnings.append(
                f"segment {position}: HL02 is {parent!r}; the enclosing level is HL "
                f"{enclosing!r}")

    def close_to(self, depth: int, position: int) -> None:
        while len(self.stack) - 1 > depth:
            self.close(self.stack.pop(), position)

    def close(self, state: _Open, position: int) -> None:
        spec = state.spec
        counts = state.segment_counts
        for required in spec.required_segments:
            if required not in counts:
                self.walk.error(f"segment {position}: {required.label} ({required.name}) is "
                                f"required in {_name(spec)} starting at segment "
                                f"{state.start} but missing")
        loops = state.loop_counts
        for loop in spec.required_loops:
            if loop not in loops:
                self.walk.error(f"segment {position}: {_name(loop)} is required in "
                                f"{_name(spec)} starting at segment {state.start} but missing")

    def finish(self, position: int) -> Walk:
        self.close_to(-1, position)
        return self.walk


def _segment_ids(loop: LoopSpec) -> frozenset[str]:
    found = set(loop.segments_by_id)
    for child in loop.items:
        if isinstance(child, LoopSpec):
            found |= _segment_ids(child)
    return frozenset(found)


def _code_elements(loop: LoopSpec) -> dict[str, int]:
    """Segment id -> the element its identifying codes are in (ids that have codes)."""
    found: dict[str, int] = {}
    for item in loop.items:
        if isinstance(item, LoopSpec):
            for segment_id, element in _code_elements(item).items():
                if found.get(segment_id, element) != element:
                    raise ValueError(f"{segment_id}: identifying codes in two different "
                                     "elements are not supported by the decision cache")
                found[segment_id] = element
        elif item.codes is not None:
            if item.component:
                raise ValueError(f"{item.label}: component codes are not supported by the "
                                 "decision cache")
            if found.get(item.segment_id, item.element) != item.element:
                raise ValueError(f"{item.segment_id}: identifying codes in two different "
                                 "elements are not supported by the decision cache")
            found[item.segment_id] = item.element
    return found


# Decisions of the fast path per guide, shared by every set the guide reads.
_DECISIONS: dict[str, dict[tuple[object, ...], SegmentSpec | LoopSpec]] = {}


def _decision_cache(guide: Guide) -> dict[tuple[object, ...], SegmentSpec | LoopSpec]:
    return _DECISIONS.setdefault(guide.name, {})


def walk_set(guide: Guide, segments: list[list[str]], first_position: int,
             component_separator: str) -> Walk:
    """Place the segments of one ST…SE set (ST first) in the loops of `guide`."""
    walker = _Walker(guide, component_separator, first_position)
    for offset, elements in enumerate(segments):
        walker.place(elements, first_position + offset)
    return walker.finish(first_position + len(segments) - 1)
