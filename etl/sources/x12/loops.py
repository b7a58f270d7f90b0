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
from functools import cache

from etl.sources.x12.guide import Guide, LoopSpec, SegmentSpec
from etl.sources.x12.reader import valid_segment_id

# Enough to tell a user what is wrong without flooding the quarantine with consequences.
MAX_ERRORS = 10
# Bound of a guide's cache of candidates (keys hold the identifying codes sent).
_MAX_CACHED = 100_000


class _Open:
    """An open loop iteration on the stack."""

    __slots__ = ("hl_id", "loop_counts", "path", "position", "segment_counts", "spec", "start")

    def __init__(self, spec: LoopSpec, start: int, trigger: SegmentSpec | None = None,
                 parent: _Open | None = None) -> None:
        self.spec = spec
        # The loops open from the transaction set to this one, as (parent's path, loop).
        # A loop's body can be reused under two parents (2300 under 2000B and 2000C), so
        # the loop alone does not say which loops enclose it; its path does.
        self.path: tuple[object, LoopSpec] = (parent.path if parent else None, spec)
        self.position = 0
        # The trigger, when given, is the loop's first segment: used once already.
        self.segment_counts: dict[SegmentSpec, int] = {} if trigger is None else {trigger: 1}
        self.loop_counts: dict[LoopSpec, int] = {}
        self.start = start
        self.hl_id: str | None = None


@dataclass
class Walk:
    """The problems the walk of a set found."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


def _name(spec: LoopSpec) -> str:
    return "the transaction set" if spec.loop_id == "ST" else f"loop {spec.loop_id} ({spec.name})"


class SetWalker:
    """Places the segments of one ST…SE set, one at a time (`place`), in the loops of a
    guide; `finish` closes the loops still open and gives the problems found."""

    def __init__(self, guide: Guide, component: str, first_position: int) -> None:
        self.guide = guide
        self.component = component
        self.first = first_position
        self.stack: list[_Open] = [_Open(guide.root, first_position)]
        self.walk = Walk()
        self.hl_ids: set[str] = set()
        index = _index(guide)
        self.known_ids = index.known_ids
        self.code_index = index.code_index
        self.decisions = index.decisions
        self.outward = index.outward
        self.levels = index.levels

    def place(self, elements: list[str], position: int) -> SegmentSpec | None:
        """Place one segment: the guide segment it is (a loop's trigger when it starts
        an iteration), or None when it has no place (the error is recorded)."""
        segment_id = elements[0]
        top = self.stack[-1]
        # Fast path: most segments belong to the innermost loop or open one of its
        # children, and which one depends only on that loop, its position and the codes.
        index = self.code_index.get(segment_id)
        known = self.decisions.get((
            top.spec, top.position, segment_id,
            elements[index] if index is not None and len(elements) > index else None))
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
                                self.check_elements(known, elements,  # type: ignore[arg-type]
                                                    position, top.spec)
                                break
                    return known  # type: ignore[return-value]
            elif top.loop_counts.get(known, 0) < known.max_repeat:  # type: ignore[union-attr]
                return self.open_loop(top, known, elements, position)  # type: ignore[arg-type]
        if segment_id not in self.known_ids and not valid_segment_id(segment_id):
            self.walk.error(f"segment {position}: {segment_id!r} is not an X12 segment "
                            "identifier")
            return None
        return self.search(elements, position, index)

    def search(self, elements: list[str], position: int,
               index: int | None) -> SegmentSpec | None:
        """The slow path: look for the segment from the innermost loop outwards (module
        notes), and remember what was found for the next segment that comes to the same
        loops at the same position with the same id and code."""
        segment_id = elements[0]
        code = elements[index] if index is not None and len(elements) > index else None
        stack = self.stack
        top = len(stack) - 1
        outward_key = (stack[top].path, stack[top].position, segment_id, code)
        known = self.outward.get(outward_key)
        if known is not None and self.unused(*known):
            self.close_to(known[0], position)
            return self.take(stack[known[0]], known[1], elements, position)
        overused: tuple[int, SegmentSpec | LoopSpec] | None = None
        for depth in range(top, -1, -1):
            state = stack[depth]
            key = (state.spec, state.position, segment_id, code)
            for candidate in self.candidates(key, elements):
                if candidate.__class__ is SegmentSpec:
                    if state.segment_counts.get(candidate, 0) >= candidate.max_use:  # type: ignore[arg-type]
                        overused = overused or (depth, candidate)
                        continue
                elif state.loop_counts.get(candidate, 0) >= candidate.max_repeat:  # type: ignore[arg-type,union-attr]
                    overused = overused or (depth, candidate)
                    continue
                if depth == top:
                    self.decisions[key] = candidate
                elif overused is None:
                    # The loops and their positions from the innermost one outwards
                    # follow from the path, so nothing nearer can match next time
                    # either: the same candidate is the answer while it is not overused.
                    self.outward[outward_key] = (depth, candidate)
                self.close_to(depth, position)
                return self.take(state, candidate, elements, position)
        if overused is not None:
            return self.overuse(overused[0], overused[1], elements, position)
        self.misplaced(elements, position)
        return None

    def candidates(self, key: tuple[object, ...], elements: list[str]
                   ) -> tuple[SegmentSpec | LoopSpec, ...]:
        """What a segment may be in one open loop at its position: its segments at or
        after that position whose codes match, then the child loops it may start, in
        the order they are tried. They depend only on the key (loop, position, segment
        id, identifying code), so they are worked out once per guide."""
        found = self.levels.get(key)
        if found is None:
            spec, position = key[0], key[1]
            assert isinstance(spec, LoopSpec) and isinstance(position, int)
            segment_id, component = elements[0], self.component
            found = tuple(
                [c for c in spec.segments_by_id.get(segment_id, ())
                 if c.position >= position and c.matches(elements, component)]
                + [c for c in spec.loops_by_trigger.get(segment_id, ())
                   if c.position >= position and c.trigger.matches(elements, component)])
            if len(self.levels) >= _MAX_CACHED or len(self.outward) >= _MAX_CACHED:
                # Keys hold the codes sent: codes sent at random must not grow them forever.
                self.levels.clear()
                self.decisions.clear()
                self.outward.clear()
            self.levels[key] = found
        return found

    def unused(self, depth: int, candidate: SegmentSpec | LoopSpec) -> bool:
        """Whether the open loop at `depth` may take the segment or loop once more."""
        state = self.stack[depth]
        if candidate.__class__ is SegmentSpec:
            return state.segment_counts.get(candidate, 0) < candidate.max_use  # type: ignore[arg-type,union-attr]
        return state.loop_counts.get(candidate, 0) < candidate.max_repeat  # type: ignore[arg-type,union-attr]

    def take(self, state: _Open, candidate: SegmentSpec | LoopSpec, elements: list[str],
             position: int) -> SegmentSpec:
        """Use a segment of the open loop `state`, or open one of its child loops."""
        if candidate.__class__ is SegmentSpec:
            return self.use_segment(state, candidate, elements, position)  # type: ignore[arg-type]
        return self.open_loop(state, candidate, elements, position)  # type: ignore[arg-type]

    def use_segment(self, state: _Open, spec: SegmentSpec, elements: list[str],
                    position: int) -> SegmentSpec:
        state.position = spec.position
        counts = state.segment_counts
        counts[spec] = counts.get(spec, 0) + 1
        if spec.required_elements:
            self.check_elements(spec, elements, position, state.spec)
        return spec

    def open_loop(self, state: _Open, child: LoopSpec, elements: list[str],
                  position: int) -> SegmentSpec:
        state.position = child.position
        counts = state.loop_counts
        counts[child] = counts.get(child, 0) + 1
        trigger = child.trigger
        opened = _Open(child, position, trigger, state)
        self.stack.append(opened)
        required = trigger.required_elements
        if required:
            count = len(elements)
            for number in required:
                if number >= count or not elements[number]:
                    self.check_elements(trigger, elements, position, child)
                    break
        if trigger.segment_id == "HL":
            self.check_hierarchy(opened, elements, position)
        return trigger

    def overuse(self, depth: int, spec: SegmentSpec | LoopSpec, elements: list[str],
                position: int) -> SegmentSpec:
        """Report a segment or loop used too often, then accept it, so its remaining
        segments are not reported again as misplaced."""
        state = self.stack[depth]
        self.close_to(depth, position)
        if isinstance(spec, SegmentSpec):
            self.walk.error(f"segment {position}: {spec.label} ({spec.name}) appears more than "
                            f"{spec.max_use} time(s) in {_name(state.spec)}")
            state.segment_counts[spec] -= 1
            return self.use_segment(state, spec, elements, position)
        self.walk.error(f"segment {position}: {_name(spec)} appears more than "
                        f"{spec.max_repeat} time(s) in {_name(state.spec)}")
        state.loop_counts[spec] -= 1
        return self.open_loop(state, spec, elements, position)

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
        stack = self.stack
        while len(stack) - 1 > depth:
            self.close(stack.pop(), position)

    def close(self, state: _Open, position: int) -> None:
        """Report what a loop being closed requires and did not get."""
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


def code_elements(loop: LoopSpec) -> dict[str, int]:
    """Segment id -> the element its identifying codes are in (ids that have codes)."""
    found: dict[str, int] = {}
    for item in loop.items:
        if isinstance(item, LoopSpec):
            for segment_id, element in code_elements(item).items():
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


@dataclass
class _GuideIndex:
    """What the walk looks up per guide, built once and shared by every set it reads."""

    known_ids: frozenset[str]
    code_index: dict[str, int]
    # Decisions of the fast path: (loop, position, segment id, code) -> segment or loop.
    decisions: dict[tuple[object, ...], SegmentSpec | LoopSpec]
    # Guide segment -> `loop/segment id` (a trigger: the loop it starts; a reused body
    # keeps its loop id).
    key_of: dict[SegmentSpec, str]
    # What a segment may be in one loop at one position: `SetWalker.candidates`.
    levels: dict[tuple[object, ...], tuple[SegmentSpec | LoopSpec, ...]] = \
        field(default_factory=dict)
    # Decisions of the slow path that close loops: (path of the innermost open loop, its
    # position, segment id, code) -> (depth of the loop that takes it, segment or loop).
    outward: dict[tuple[object, ...], tuple[int, SegmentSpec | LoopSpec]] = \
        field(default_factory=dict)


_INDEXES: dict[Guide, _GuideIndex] = {}


def _index(guide: Guide) -> _GuideIndex:
    found = _INDEXES.get(guide)
    if found is None:
        found = _INDEXES[guide] = _GuideIndex(
            _segment_ids(guide.root), code_elements(guide.root), {}, _keys_of(guide.root))
    return found


def _keys_of(root: LoopSpec) -> dict[SegmentSpec, str]:
    """`loop/segment id` of each guide segment; a reused loop body (`= 2300` in the
    guide files) keeps its loop id."""
    found: dict[SegmentSpec, str] = {}
    pending = [root]
    while pending:
        loop = pending.pop()
        for item in loop.items:
            if isinstance(item, LoopSpec):
                pending.append(item)
            else:
                found[item] = f"{loop.loop_id}/{item.segment_id}"
    return found


def key_of_segments(guide: Guide) -> dict[SegmentSpec, str]:
    """Guide segment -> `loop/segment id`, e.g. `2300/CLM` (a trigger: the loop it starts;
    a reused loop body keeps its loop id)."""
    return _index(guide).key_of


def place_set(guide: Guide, segments: list[list[str]], first_position: int,
              component_separator: str) -> tuple[Walk, list[str | None]]:
    """Place the segments of one ST…SE set (ST first) in the loops of `guide`, and
    name each placed one by its
    loop and segment id, e.g. `2300/CLM` (None: not placed): what the readers select
    rows by (placed.py)."""
    walker = SetWalker(guide, component_separator, first_position)
    key_of = _index(guide).key_of
    place = walker.place
    keys = [key_of.get(place(elements, position))  # type: ignore[arg-type]
            for position, elements in enumerate(segments, start=first_position)]
    return walker.finish(first_position + len(segments) - 1), keys


@cache
def keys_within(guide: Guide, loop_id: str) -> frozenset[str]:
    """The `loop/segment` keys of loop `loop_id` and of every loop inside it."""
    found: set[str] = set()
    pending = [(guide.root, False)]
    while pending:
        loop, inside = pending.pop()
        inside = inside or loop.loop_id == loop_id
        for item in loop.items:
            if isinstance(item, LoopSpec):
                pending.append((item, inside))
            elif inside:
                found.add(f"{loop.loop_id}/{item.segment_id}")
    return frozenset(found)
