"""The loop walk of well-formed sets as a table of moves; loops.py stays the reference.

`SetWalker` (loops.py) places one segment at a time and checks, as it goes, what the
TR3 asks: maximum use, required segments, loops and elements, the HL hierarchy. For a
well-formed set where a segment goes depends only on the loops open, their positions,
and the segment's id and identifying code: a move from one stack of open loops to the
next. Here each such move is worked out once per guide (nearest loop first, as the
walker does) and remembered, so placing a segment is one dictionary look-up; the
checks are made afterwards over every segment of a part at once (polars): uses and
repeats counted per loop iteration, required segments, loops and elements, and HL01/
HL02. A set that fails any of them, or holds a segment no move places, is walked again
by `SetWalker`, which gives it its exact placements, errors and warnings: this module
decides nothing on its own about a set with a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import polars as pl

from etl.sources.x12.guide import Guide, LoopSpec, SegmentSpec
from etl.sources.x12.loops import Walk, code_elements, key_of_segments, place_set
from etl.sources.x12.placed import ELEMENTS, element
from etl.sources.x12.reader import TransactionSet

# A stack of open loops: (loop, position reached in it) from the set's root outwards.
Stack = tuple[tuple[LoopSpec, int], ...]
# The token of a segment id the guide does not have (ids are letters and digits).
_UNKNOWN = "?"
# Bound of the moves remembered per guide (a key holds a stack and an identifying code).
_MAX_MOVES = 200_000


@dataclass
class _Moves:
    """What one guide's walk has worked out. The guide's loops and segments are numbered
    once (`for_guide`); stacks and moves are numbered as sets bring them."""

    guide: Guide
    code_index: dict[str, int]
    loop_ids: dict[LoopSpec, int]
    spec_ids: dict[SegmentSpec, int]
    limits: _Limits
    stacks: list[Stack] = field(default_factory=list)
    stack_ids: dict[Stack, int] = field(default_factory=dict)
    # Per stack number, token -> move number; per move, where it leads (a stack
    # number), its depth (the number of loops open around the root), the segment it
    # places (-1: none) and the loop it opens (-1: none).
    by_stack: list[dict[str, int]] = field(default_factory=list)
    leads_to: list[int] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    places: list[int] = field(default_factory=list)
    opens: list[int] = field(default_factory=list)

    @staticmethod
    def for_guide(guide: Guide) -> _Moves:
        found: list[LoopSpec | SegmentSpec] = []
        pending = [guide.root]
        while pending:  # a reused loop body brings its loops and segments twice
            loop = pending.pop(0)
            found.append(loop)
            for item in loop.items:
                (pending if isinstance(item, LoopSpec) else found).append(item)
        unique = list(dict.fromkeys(found))
        loops = [item for item in unique if isinstance(item, LoopSpec)]
        specs = [item for item in unique if isinstance(item, SegmentSpec)]
        loop_ids = {loop: number for number, loop in enumerate(loops)}
        spec_ids = {spec: number for number, spec in enumerate(specs)}
        table = _Moves(guide, code_elements(guide.root), loop_ids, spec_ids,
                       _Limits.of(loops, specs, spec_ids, loop_ids))
        table.stack_id(((guide.root, 0),))
        return table

    def stack_id(self, stack: Stack) -> int:
        found = self.stack_ids.get(stack)
        if found is None:
            found = self.stack_ids[stack] = len(self.stacks)
            self.stacks.append(stack)
            self.by_stack.append({})
        return found

    def add_move(self, stack_number: int, token: str) -> int:
        """Work out, remember and number the move of `token` from a stack."""
        found = self.move(stack_number, token) or (stack_number, -1, -1)
        number = self.by_stack[stack_number][token] = len(self.leads_to)
        self.leads_to.append(found[0])
        self.depths.append(len(self.stacks[found[0]]) - 1)
        self.places.append(found[1])
        self.opens.append(found[2])
        return number

    def move(self, stack_number: int, token: str) -> tuple[int, int, int] | None:
        """Where a segment goes from a stack, nearest open loop first; None when no
        loop takes it (the walker will say why)."""
        segment_id, _, code = token.partition("*")
        index = self.code_index.get(segment_id, 0)
        probe = [segment_id, *([""] * index)]
        if code:
            probe[index] = code
        stack = self.stacks[stack_number]
        for depth in range(len(stack) - 1, -1, -1):
            loop, position = stack[depth]
            for spec in loop.segments_by_id.get(segment_id, ()):
                if spec.position >= position and spec.matches(probe, ""):
                    moved = (*stack[:depth], (loop, spec.position))
                    return self.stack_id(moved), self.spec_ids[spec], -1
            for child in loop.loops_by_trigger.get(segment_id, ()):
                if child.position >= position and child.trigger.matches(probe, ""):
                    moved = (*stack[:depth], (loop, child.position), (child, 0))
                    return (self.stack_id(moved), self.spec_ids[child.trigger],
                            self.loop_ids[child])
        return None


_TABLES: dict[Guide, _Moves] = {}


def _moves(guide: Guide) -> _Moves:
    found = _TABLES.get(guide)
    if found is None or len(found.leads_to) > _MAX_MOVES:
        found = _TABLES[guide] = _Moves.for_guide(guide)
    return found


@dataclass(frozen=True)
class _Limits:
    """What the checks compare with, per guide, as frames (built once)."""

    segments: pl.DataFrame  # spec: max_use, required (element numbers)
    loops: pl.DataFrame  # opened (a loop number): max_repeat
    needs: pl.DataFrame  # opened: spec (required segments), child (required loops)
    codes: list[str]  # `id*code` of every identifying code
    known: list[str]  # the guide's segment ids
    hl: list[int]  # the HL segments

    @staticmethod
    def of(loops: list[LoopSpec], specs: list[SegmentSpec], spec_ids: dict[SegmentSpec, int],
           loop_ids: dict[LoopSpec, int]) -> _Limits:
        return _Limits(
            segments=pl.DataFrame({
                "spec": pl.Series(range(len(specs)), dtype=pl.Int32),
                "max_use": [spec.max_use for spec in specs],
                "required": pl.Series([list(spec.required_elements) for spec in specs],
                                      dtype=pl.List(pl.Int32))}),
            loops=pl.DataFrame({"opened": pl.Series(range(len(loops)), dtype=pl.Int32),
                                "max_repeat": [loop.max_repeat for loop in loops]}),
            needs=pl.DataFrame({
                "opened": pl.Series(range(len(loops)), dtype=pl.Int32),
                "spec": pl.Series([[spec_ids[s] for s in loop.required_segments]
                                   for loop in loops], dtype=pl.List(pl.Int32)),
                "child": pl.Series([[loop_ids[c] for c in loop.required_loops]
                                    for loop in loops], dtype=pl.List(pl.Int32))}),
            codes=sorted({f"{spec.segment_id}*{code}" for spec in specs
                          for code in spec.codes or ()}),
            known=sorted({spec.segment_id for spec in specs}),
            hl=[number for number, spec in enumerate(specs) if spec.segment_id == "HL"])


@cache
def segment_keys(guide: Guide) -> pl.Enum:
    """The type of a `loop/segment` key column: one of the guide's keys, compared as
    a small integer."""
    return pl.Enum(sorted(set(key_of_segments(guide).values())))


def _tokens(frame: pl.DataFrame, table: _Moves, limits: _Limits) -> list[str]:
    """Each segment's id, with `*code` when its identifying element holds a code some
    guide segment is identified by (any other code selects what no code would); an id
    the guide does not have is `_UNKNOWN`, which no move takes (the walker says why)."""
    segment_id = element(0)
    at = segment_id.replace_strict(table.code_index, default=None, return_dtype=pl.Int32)
    coded = pl.concat_str(segment_id, pl.lit("*"),
                          pl.col(ELEMENTS).list.get(at.fill_null(0), null_on_oob=True))
    token = pl.when(coded.is_in(limits.codes)).then(coded).otherwise(segment_id)
    return frame.select(pl.when(segment_id.is_in(limits.known)).then(token)
                        .otherwise(pl.lit(_UNKNOWN))).to_series().to_list()


def walk_sets(guide: Guide, frame: pl.DataFrame, sets: list[TransactionSet]
              ) -> tuple[list[str | None], dict[int, Walk]]:
    """The `loop/segment` key of every segment of `frame` (the segments of `sets`, in
    order; None: not placed) and the walk (errors, warnings) of each set."""
    table = _moves(guide)
    limits = table.limits
    tokens = _tokens(frame, table, limits)
    start = table.stack_ids[((guide.root, 0),)]
    by_stack, leads_to, add_move = table.by_stack, table.leads_to, table.add_move
    made: list[int] = []
    record = made.append
    offset = 0
    for tset in sets:
        count = len(tset.segments)
        stack = start
        moves = by_stack[stack]
        for token in tokens[offset:offset + count]:
            number = moves.get(token)
            if number is None:
                number = add_move(stack, token)
            record(number)
            stack = leads_to[number]
            moves = by_stack[stack]
        offset += count
    info = pl.DataFrame({"spec": pl.Series(table.places, dtype=pl.Int32),
                         "opened": pl.Series(table.opens, dtype=pl.Int32),
                         "depth": pl.Series(table.depths, dtype=pl.Int32)})
    placed = pl.concat([frame.select("set_position", "position", ELEMENTS),
                        info[pl.Series(made, dtype=pl.UInt32)]], how="horizontal")
    redo = set(placed.filter(pl.col("spec") < 0).get_column("set_position"))
    redo |= _failed_sets(_iterations(placed.filter(pl.col("spec") >= 0)), limits)
    return _keys(guide, table, placed, sets, redo)


def _iterations(placed: pl.DataFrame) -> pl.DataFrame:
    """Each segment with the loop iteration it is in (`iteration`: the position of the
    segment that opened it, the set's for the set's own segments) and, for a segment
    that opens one, the iteration that holds the new one (`parent`). Loops nest, so the
    iteration at a depth is the one opened last at that depth."""
    depth, opens = pl.col("depth"), pl.col("opened") >= 0
    deepest = placed.get_column("depth").max() or 0
    openers = [pl.when(opens & (depth == level)).then(pl.col("position")).forward_fill()
               for level in range(deepest + 1)]
    openers[0] = pl.col("set_position")
    iteration = pl.coalesce(pl.when(depth == level).then(opener)
                            for level, opener in enumerate(openers))
    parent = pl.coalesce(pl.when(depth == level + 1).then(opener)
                         for level, opener in enumerate(openers))
    return placed.with_columns(iteration=iteration, parent=pl.when(opens).then(parent))


def _failed_sets(placed: pl.DataFrame, limits: _Limits) -> set[int]:
    """Sets where a check of the walker fails (module notes)."""
    uses = placed.group_by("set_position", "iteration", "spec").len().join(
        limits.segments, on="spec").filter(pl.col("len") > pl.col("max_use"))
    openers = placed.filter(pl.col("opened") >= 0)
    repeats = openers.group_by("set_position", "parent", "opened").len().join(
        limits.loops, on="opened").filter(pl.col("len") > pl.col("max_repeat"))
    failed = set(uses.get_column("set_position")) | set(repeats.get_column("set_position"))
    failed |= _missing(placed, openers, limits)
    failed |= _missing_elements(placed, limits.segments)
    failed |= _hierarchy(placed, openers, limits)
    return failed


def _missing(placed: pl.DataFrame, openers: pl.DataFrame, limits: _Limits) -> set[int]:
    """Iterations without a segment or loop the TR3 requires in them."""
    iterations = pl.concat([
        openers.select("set_position", "iteration", "opened"),
        placed.select("set_position", iteration="set_position", opened=pl.lit(0, pl.Int32)
                      ).unique()])
    wanted = iterations.join(limits.needs, on="opened")
    segments = wanted.select("set_position", "iteration", "spec").explode("spec").drop_nulls()
    children = wanted.select("set_position", "iteration", "child").explode("child").drop_nulls()
    missing = segments.join(placed.select("iteration", "spec").unique(),
                            on=["iteration", "spec"], how="anti")
    absent = children.join(openers.select(iteration="parent", child="opened").unique(),
                           on=["iteration", "child"], how="anti")
    return set(missing.get_column("set_position")) | set(absent.get_column("set_position"))


def _missing_elements(placed: pl.DataFrame, limits: pl.DataFrame) -> set[int]:
    """Segments without an element the TR3 requires in them."""
    demanding = limits.filter(pl.col("required").list.len() > 0).select("spec", "required")
    rows = placed.join(demanding, on="spec")
    lacking = pl.col(ELEMENTS).list.gather(pl.col("required"), null_on_oob=True).list.eval(
        pl.element().fill_null("") == "").list.any()
    return set(rows.filter(lacking).get_column("set_position"))


def _hierarchy(placed: pl.DataFrame, openers: pl.DataFrame, limits: _Limits) -> set[int]:
    """HL01 used twice in a set, or an HL02 that is not the HL01 of the level around it
    (warnings of the walker), or a level inside a loop that is not a level."""
    hl = openers.filter(pl.col("spec").is_in(limits.hl))
    if not hl.height:
        return set()
    hl = hl.select("set_position", "position", "parent", hl_id=element(1).fill_null(""),
                   parent_id=element(2).fill_null(""))
    twice = hl.filter(pl.struct("set_position", "hl_id").is_duplicated())
    around = hl.join(hl.select(parent="position", enclosing="hl_id"), on="parent", how="left")
    wrong = around.filter(
        pl.when(pl.col("parent") == pl.col("set_position")).then(pl.col("parent_id") != "")
        .otherwise(pl.col("enclosing").is_null() | (pl.col("enclosing") != pl.col("parent_id"))))
    return set(twice.get_column("set_position")) | set(wrong.get_column("set_position"))


def _keys(guide: Guide, table: _Moves, placed: pl.DataFrame, sets: list[TransactionSet],
          redo: set[int]) -> tuple[list[str | None], dict[int, Walk]]:
    key_of = key_of_segments(guide)
    names = [key_of[spec] for spec in table.spec_ids]
    keys: list[str | None] = [names[number] if number >= 0 else None
                              for number in placed.get_column("spec").to_list()]
    walks: dict[int, Walk] = {}
    offset = 0
    for tset in sets:
        count = len(tset.segments)
        if tset.position in redo:
            walk, set_keys = place_set(guide, tset.elements(), tset.position,
                                       tset.delimiters.component)
            keys[offset:offset + count] = set_keys
            walks[tset.position] = walk
        else:
            walks[tset.position] = Walk()
        offset += count
    return keys, walks
