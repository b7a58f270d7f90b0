"""Read an X12 file into transaction sets, checking the envelopes around them.

Delimiters (X12.5 / TR3 Appendix B "Control Segments"): the interchange header ISA
is fixed width, 106 characters. The element separator is the character after "ISA"
(byte 4), ISA11 is the repetition separator (version 00501), ISA16 the component
separator, and the character after ISA16 terminates every segment. Line breaks after
a terminator are allowed and ignored. Each interchange carries its own delimiters.

Envelopes (TR3 Appendix B): ISA…IEA holds GS…GE functional groups, which hold
ST…SE transaction sets. The reader checks what the trailers assert:
- control numbers: IEA02 = ISA13, GE02 = GS06, SE02 = ST02;
- counts: IEA01 = number of groups, GE01 = number of sets, SE01 = segments from ST
  to SE inclusive;
- presence: every ST has its SE, every GS its GE, every ISA its IEA.
A failure rejects the transaction set(s) it concerns, never the whole file: the other
sets still land. Counts, missing GE/IEA trailers and sets sent without any ISA/GS
envelope ("bare" ST…SE files) are *control* problems: under the default policy they
reject too; under `ControlPolicy.LENIENT` they become warnings kept with the set.
Control-number mismatches and a missing SE always reject.

Positions: segments are numbered 1, 2, … from the start of the file (ISA is 1); every
message names the file's segment position.

Only the envelope segments are split into elements here: a set keeps its segments as
sent (text without the terminator) and `TransactionSet.elements()` splits them when the
set is parsed, possibly in another process (parse.py): a set's text is several times
cheaper to hand over than its elements.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from itertools import compress, count, repeat

ISA_LENGTH = 106
# Widths of ISA01-ISA16 (X12.5 ISA segment: every element has a fixed length).
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_LEADING = " \t\r\n\f\v\ufeff"
# Ids of the envelope segments inside an interchange (each a prefix of itself only among
# the segment ids of 837 and 835 sets; `_Interchange.read` checks the whole id).
_ENVELOPE_IDS = ("SE", "ST", "GS", "GE", "IEA")


class ControlPolicy(Enum):
    """How control counts, missing trailers and missing envelopes are treated."""

    STRICT = "strict"  # reject the set(s) concerned (the default)
    LENIENT = "lenient"  # keep the set; record the problem as a warning


@dataclass(frozen=True)
class Delimiters:
    element: str
    component: str
    repetition: str | None
    segment: str


@dataclass
class Envelope:
    """What the ISA and GS around a transaction set say (empty for a bare set)."""

    interchange_control: str | None = None
    sender_qualifier: str | None = None
    sender_id: str | None = None
    receiver_qualifier: str | None = None
    receiver_id: str | None = None
    interchange_date: str | None = None  # ISA09 YYMMDD
    interchange_time: str | None = None  # ISA10 HHMM
    usage_indicator: str | None = None  # ISA15 P production, T test
    group_control: str | None = None
    functional_id: str | None = None
    application_sender: str | None = None
    application_receiver: str | None = None
    group_date: str | None = None  # GS04 CCYYMMDD
    group_time: str | None = None  # GS05 HHMM[SS[D..]]
    group_version: str | None = None  # GS08


@dataclass
class TransactionSet:
    """One ST…SE set: its segments as sent (without terminators) and its verdict so far."""

    file_name: str
    position: int  # file segment position of ST
    segments: list[str]
    delimiters: Delimiters
    envelope: Envelope
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    declared_count: str | None = None  # SE01 as sent
    length: int = 0  # segments ST to SE, kept when the segments are released

    def __getstate__(self) -> dict[str, object]:
        """Pickled (for a worker process, workers.py) with the segments as one text:
        several times cheaper to pickle and unpickle than a list of short strings. No
        segment holds the terminator: the segments were split on it."""
        state = self.__dict__.copy()
        state["segments"] = self.delimiters.segment.join(self.segments)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        text, delimiters = state["segments"], state["delimiters"]
        assert isinstance(text, str) and isinstance(delimiters, Delimiters)
        self.__dict__.update(state, segments=text.split(delimiters.segment))

    def elements(self) -> list[list[str]]:
        """The segments split into elements, id first (made anew at each call)."""
        segments = self.segments
        return list(map(str.split, segments, repeat(self.delimiters.element, len(segments))))

    def release(self) -> None:
        """Drop the segments but ST once rows are read (they are the bulk of the memory
        a parsed file holds)."""
        self.length = len(self.segments)
        self.segments = self.segments[:1]

    @cached_property
    def header(self) -> list[str]:
        """The ST segment's elements."""
        return self.segments[0].split(self.delimiters.element)

    @property
    def transaction_code(self) -> str:
        return _element(self.header, 1) or ""

    @property
    def control_number(self) -> str:
        return _element(self.header, 2) or ""

    @property
    def implementation_guide(self) -> str:
        """ST03, else GS08: which TR3 the set follows (e.g. 005010X222A1)."""
        return _element(self.header, 3) or self.envelope.group_version or ""

    @property
    def last_position(self) -> int:
        return self.position + (self.length or len(self.segments)) - 1

    @property
    def label(self) -> str:
        return f"ST*{self.transaction_code}*{self.control_number} at segment {self.position}"

    def digest(self) -> str:
        """SHA-256 of the set's content, independent of the delimiters it was sent with:
        the same set delivered twice (in another file, with other separators) is one set."""
        element, component = self.delimiters.element, self.delimiters.component
        text = "\x1e".join(map(str.replace, self.segments, repeat(element), repeat("\x1d")))
        return hashlib.sha256(text.replace(component, "\x1f").encode("utf-8")).hexdigest()


@dataclass
class ReadResult:
    sets: list[TransactionSet] = field(default_factory=list)
    # Problems outside any transaction set (no ISA, a damaged ISA, stray bytes at the end).
    file_problems: list[str] = field(default_factory=list)
    segment_count: int = 0


def _element(segment: list[str], index: int) -> str | None:
    return segment[index] if len(segment) > index else None


def decode(data: bytes) -> str:
    """X12 text: UTF-8 (the extended character set) when it decodes, else latin-1."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_x12(data: bytes, file_name: str,
             policy: ControlPolicy = ControlPolicy.STRICT) -> ReadResult:
    """Split a file into transaction sets and check their envelopes (module notes)."""
    text = decode(data)
    result = ReadResult()
    if "\x00" in text:
        result.file_problems.append(
            f"{file_name}: contains NUL bytes (a binary or damaged file, not X12 text)")
        return result
    start = _skip_blank(text, 0)
    if start >= len(text):
        result.file_problems.append(f"{file_name}: the file is empty")
        return result
    if text.startswith("ISA", start):
        _read_interchanges(text, start, file_name, policy, result)
    elif _is_bare_set(text, start):
        _read_bare_sets(text, start, file_name, policy, result)
    else:
        found = text[start:start + 20].splitlines()[0] if text[start:] else ""
        result.file_problems.append(
            f"{file_name}: does not begin with an ISA interchange header (found {found!r}); "
            "the delimiters of an X12 file come from its ISA segment")
    return result


def _skip_blank(text: str, position: int) -> int:
    while position < len(text) and text[position] in _LEADING:
        position += 1
    return position


def _is_bare_set(text: str, start: int) -> bool:
    return text.startswith("ST", start) and len(text) > start + 2 and \
        not text[start + 2].isalnum() and text[start + 2] not in _LEADING


def isa_delimiters(header: str) -> tuple[Delimiters | None, str | None]:
    """Delimiters of an ISA (the text from "ISA" on), or why it is not a valid one."""
    separator = header[3] if len(header) > 3 else ""
    if not separator or separator.isalnum() or separator in _LEADING:
        return None, f"the character after ISA is {separator!r}, not an element separator"
    parts = header[:ISA_LENGTH + 40].split(separator, 16)
    if len(parts) < 17 or len(parts[16]) < 2:
        return None, "it has fewer than the 16 elements of an ISA"
    for number, width in enumerate(_ISA_WIDTHS[:15], start=1):
        if len(parts[number]) != width:
            return None, (f"ISA{number:02d} is {len(parts[number])} characters where X12 fixes "
                          f"it at {width}, so the delimiters are not at their fixed positions")
    component, terminator = parts[16][0], parts[16][1]
    # Version 00501 made ISA11 the repetition separator; senders still writing the older
    # standards identifier ("U") there simply have none.
    repetition = parts[11] if parts[12] == "00501" and not parts[11].isalnum() else None
    used = [separator, component, terminator] + ([repetition] if repetition else [])
    if len(set(used)) != len(used) or any(c.isalnum() for c in used):
        return None, (f"its delimiters are not distinct non-alphanumeric characters "
                      f"(element {separator!r}, component {component!r}, repetition "
                      f"{repetition!r}, segment terminator {terminator!r})")
    return Delimiters(separator, component, repetition, terminator), None


def _split_segments(chunk: str, delimiters: Delimiters) -> list[str]:
    """The segments of `chunk`, without terminators. Line breaks between segments are
    dropped (X12 text holds no CR or LF otherwise), as are blanks and tabs that follow a
    terminator."""
    terminator = delimiters.segment
    if terminator not in "\r\n":
        chunk = chunk.replace("\r", "").replace("\n", "")
    elif terminator == "\n":
        chunk = chunk.replace("\r", "")
    pieces = chunk.split(terminator)
    if terminator + " " in chunk or terminator + "\t" in chunk or chunk[:1] in _LEADING:
        pieces = [piece.lstrip(_LEADING) for piece in pieces]
    if pieces and not pieces[-1]:
        pieces.pop()  # after the last terminator
    if "" in pieces:
        pieces = [piece for piece in pieces if piece]
    return pieces


def _interchange_end(text: str, start: int, delimiters: Delimiters) -> int:
    """Where the interchange starting at `start` ends: after its IEA, or the end of text."""
    pattern = re.compile(re.escape(delimiters.segment) + r"\s*IEA"
                         + re.escape(delimiters.element))
    found = pattern.search(text, start)
    if not found:
        return len(text)
    end = text.find(delimiters.segment, found.end())
    return len(text) if end < 0 else end + 1


class _Interchange:
    """Walks one interchange's segments, opening and closing groups and sets."""

    def __init__(self, file_name: str, policy: ControlPolicy, delimiters: Delimiters,
                 result: ReadResult) -> None:
        self.file_name = file_name
        self.policy = policy
        self.delimiters = delimiters
        self.result = result
        self.envelope = Envelope()
        self.isa_position = 0
        self.groups = 0
        self.sets: list[TransactionSet] = []  # sets of this interchange
        self.group_sets: list[TransactionSet] = []
        self.group_open = False
        self.group_position = 0
        self.current: TransactionSet | None = None
        self.pending_group_errors: list[str] = []

    def control(self, sets: list[TransactionSet], message: str) -> None:
        """A control problem: rejects under STRICT, a warning under LENIENT."""
        for tset in sets:
            (tset.errors if self.policy is ControlPolicy.STRICT else tset.warnings).append(message)

    def reject(self, sets: list[TransactionSet], message: str) -> None:
        for tset in sets:
            tset.errors.append(message)

    def read(self, segments: list[str], first_position: int) -> None:
        separator = self.delimiters.element
        isa = segments[0].split(separator)
        self.isa_position = first_position
        self.envelope = Envelope(
            interchange_control=_element(isa, 13), sender_qualifier=_element(isa, 5),
            sender_id=(_element(isa, 6) or "").strip(), receiver_qualifier=_element(isa, 7),
            receiver_id=(_element(isa, 8) or "").strip(), interchange_date=_element(isa, 9),
            interchange_time=_element(isa, 10), usage_indicator=_element(isa, 15),
        )
        handlers = {"SE": self.end_set, "ST": self.start_set, "GS": self.start_group,
                    "GE": self.end_group, "IEA": self.end_interchange}
        # Envelope segments are few: find them (split into elements), and hand the runs
        # between them to the open transaction set in one piece.
        marks = []
        for index in compress(count(), map(str.startswith, segments, repeat(_ENVELOPE_IDS))):
            elements = segments[index].split(separator)
            if elements[0] in handlers:
                marks.append((index, elements))
        previous = 0
        for index, elements in [*marks, (len(segments), [])]:
            run = segments[previous + 1:index]
            if run:
                if self.current is not None:
                    self.current.segments.extend(run)
                else:
                    for offset, text in enumerate(run, start=previous + 1):
                        self.stray(_segment_id(text, separator), first_position + offset)
            if index == len(segments):
                break
            previous = index
            if handlers[elements[0]](elements, first_position + index):
                for offset, text in enumerate(segments[index + 1:], start=index + 1):
                    self.result.file_problems.append(
                        f"{self.file_name}: segment {first_position + offset} "
                        f"({_segment_id(text, separator)}) follows the IEA at segment "
                        f"{first_position + index}; it is outside any interchange and was "
                        "ignored")
                return
        self.finish_without_iea(first_position + len(segments) - 1)

    def stray(self, segment_id: str, position: int) -> None:
        where = "group" if self.group_open else "interchange"
        message = (f"segment {position} ({segment_id}) is outside any transaction set; a "
                   f"damaged {where} (TR3 Appendix B envelope structure)")
        if self.group_open:
            self.pending_group_errors.append(message)
        else:
            self.result.file_problems.append(f"{self.file_name}: {message}")

    def start_group(self, elements: list[str], position: int) -> bool:
        if self.current is not None:
            self.close_unfinished_set(position)
        if self.group_open:
            self.control(self.group_sets, f"the GS at segment {self.group_position} has no GE "
                         f"before the next GS at segment {position}")
            self.sets.extend(self.group_sets)
        self.groups += 1
        self.group_open = True
        self.group_position = position
        self.group_sets = []
        self.pending_group_errors = []
        self.envelope = Envelope(
            **{**self.envelope.__dict__,
               "group_control": _element(elements, 6), "functional_id": _element(elements, 1),
               "application_sender": _element(elements, 2),
               "application_receiver": _element(elements, 3),
               "group_date": _element(elements, 4), "group_time": _element(elements, 5),
               "group_version": _element(elements, 8)})
        return False

    def start_set(self, elements: list[str], position: int) -> bool:
        if self.current is not None:
            self.close_unfinished_set(position)
        self.current = TransactionSet(self.file_name, position,
                                      [self.delimiters.element.join(elements)],
                                      self.delimiters, Envelope(**self.envelope.__dict__))
        if not self.group_open:
            self.current.errors.append(
                f"{self.current.label} is not inside a functional group (no GS before it)")
        return False

    def close_unfinished_set(self, position: int) -> None:
        tset = self.current
        assert tset is not None
        tset.errors.append(f"{tset.label} has no SE trailer: segment {position} starts "
                           "another envelope before the set ends (a truncated set)")
        self._keep(tset)
        self.current = None

    def _keep(self, tset: TransactionSet) -> None:
        (self.group_sets if self.group_open else self.sets).append(tset)

    def end_set(self, elements: list[str], position: int) -> bool:
        tset = self.current
        if tset is None:
            self.stray(elements[0], position)
            return False
        tset.segments.append(self.delimiters.element.join(elements))
        tset.declared_count = _element(elements, 1)
        if _element(elements, 2) != tset.control_number:
            tset.errors.append(
                f"{tset.label}: SE02 at segment {position} is {_element(elements, 2)!r}, "
                f"not the ST02 control number {tset.control_number!r}")
        counted = len(tset.segments)
        if tset.declared_count != str(counted):
            self.control([tset], f"{tset.label}: SE01 at segment {position} says "
                         f"{tset.declared_count!r} segments; the set has {counted} (ST to SE)")
        self._keep(tset)
        self.current = None
        return False

    def end_group(self, elements: list[str], position: int) -> bool:
        if self.current is not None:
            self.close_unfinished_set(position)
        if not self.group_open:
            self.result.file_problems.append(
                f"{self.file_name}: GE at segment {position} closes no functional group")
            return False
        sets = self.group_sets
        for message in self.pending_group_errors:
            self.reject(sets, message)
        if _element(elements, 2) != self.envelope.group_control:
            self.reject(sets, f"GE02 at segment {position} is {_element(elements, 2)!r}, not the "
                        f"GS06 control number {self.envelope.group_control!r} of the GS at "
                        f"segment {self.group_position}")
        if _element(elements, 1) != str(len(sets)):
            self.control(sets, f"GE01 at segment {position} says {_element(elements, 1)!r} "
                         f"transaction sets; the group from segment {self.group_position} has "
                         f"{len(sets)}")
        self.sets.extend(sets)
        self.group_sets = []
        self.group_open = False
        return False

    def end_interchange(self, elements: list[str], position: int) -> bool:
        if self.current is not None:
            self.close_unfinished_set(position)
        if self.group_open:
            self.control(self.group_sets, f"the GS at segment {self.group_position} has no GE "
                         f"before the IEA at segment {position}")
            self.sets.extend(self.group_sets)
            self.group_open = False
        if _element(elements, 2) != self.envelope.interchange_control:
            self.reject(self.sets, f"IEA02 at segment {position} is {_element(elements, 2)!r}, "
                        f"not the ISA13 control number {self.envelope.interchange_control!r}")
        if _element(elements, 1) != str(self.groups):
            self.control(self.sets, f"IEA01 at segment {position} says {_element(elements, 1)!r} "
                         f"functional groups; the interchange has {self.groups}")
        self.result.sets.extend(self.sets)
        return True

    def finish_without_iea(self, last_position: int) -> None:
        if self.current is not None:
            self.close_unfinished_set(last_position + 1)
        if self.group_open:
            self.control(self.group_sets, f"the GS at segment {self.group_position} has no GE "
                         "(the file ends first)")
            self.sets.extend(self.group_sets)
        self.control(self.sets, f"the ISA at segment {self.isa_position} has no IEA trailer "
                     "(the file ends first)")
        self.result.sets.extend(self.sets)


def _read_interchanges(text: str, start: int, file_name: str, policy: ControlPolicy,
                       result: ReadResult) -> None:
    position = start
    while position < len(text):
        if not text.startswith("ISA", position):
            found = text[position:position + 20].split("\n")[0]
            result.file_problems.append(
                f"{file_name}: after segment {result.segment_count} the file holds {found!r} "
                "where an ISA (or the end of the file) should be; the rest was not read")
            return
        delimiters, problem = isa_delimiters(text[position:position + ISA_LENGTH + 40])
        if delimiters is None:
            result.file_problems.append(
                f"{file_name}: the ISA at segment {result.segment_count + 1} is damaged: {problem}")
            return
        end = _interchange_end(text, position, delimiters)
        segments = _split_segments(text[position:end], delimiters)
        interchange = _Interchange(file_name, policy, delimiters, result)
        interchange.read(segments, result.segment_count + 1)
        result.segment_count += len(segments)
        position = _skip_blank(text, end)


def _bare_delimiters(text: str, start: int) -> Delimiters:
    """Delimiters of a set sent without ISA: the element separator follows "ST", the
    terminator is the first character after ST01/ST02 that is neither data nor that
    separator; the component separator is guessed from the first "HC" composite."""
    element = text[start + 2]
    position = start + 3
    while position < len(text) and (text[position].isalnum() or text[position] in (element, " ")):
        position += 1
    terminator = text[position] if position < len(text) else "~"
    component = ":"
    found = re.search(re.escape(element) + r"(?:HC|N4|NU|AD)([^A-Za-z0-9 ])", text)
    if found and found.group(1) not in (element, terminator):
        component = found.group(1)
    return Delimiters(element, component, None, terminator)


def _read_bare_sets(text: str, start: int, file_name: str, policy: ControlPolicy,
                    result: ReadResult) -> None:
    delimiters = _bare_delimiters(text, start)
    segments = _split_segments(text[start:], delimiters)
    interchange = _Interchange(file_name, policy, delimiters, result)
    interchange.group_open = True  # sets without GS are reported once, below
    for offset, text in enumerate(segments):
        position = offset + 1
        elements = text.split(delimiters.element)
        if elements[0] == "ST":
            interchange.start_set(elements, position)
        elif elements[0] == "SE":
            interchange.end_set(elements, position)
        elif interchange.current is not None:
            interchange.current.segments.append(text)
        else:
            interchange.stray(elements[0], position)
    if interchange.current is not None:
        interchange.close_unfinished_set(len(segments) + 1)
    sets = interchange.group_sets
    for message in interchange.pending_group_errors:
        interchange.reject(sets, message)
    interchange.control(sets, "the file has no ISA/GS envelope (bare ST…SE transaction sets); "
                        "its delimiters were inferred from the ST segment")
    result.sets.extend(sets)
    result.segment_count = len(segments)


def _segment_id(text: str, separator: str) -> str:
    return text.partition(separator)[0]


def valid_segment_id(segment_id: str) -> bool:
    """X12.6: a segment identifier is two or three upper-case letters or digits,
    starting with a letter."""
    return bool(_SEGMENT_ID.match(segment_id))
