"""BVH (Biovision Hierarchy) files: a skeleton and a clip, read and written.

Conventions of the format, as read and written here:

- ``OFFSET x y z`` places a joint in its parent's frame. Rest frames are aligned with the
  parent's (BVH has no rest rotations), so the Skeleton gets ``rest_rotations=None``.
- A joint's rotation channels are Euler angles in degrees, applied in the order listed as
  *intrinsic* rotations: channels ``Zrotation Yrotation Xrotation`` with values (a, b, c)
  give ``R_parent_joint = Rz(a) @ Ry(b) @ Rx(c)`` (scipy's ``from_euler("ZYX", ...)``,
  upper case). A joint may list fewer than three rotation channels; missing axes are 0.
- Root position channels give the root's world position; the Skeleton's root offset is the
  root's OFFSET, so the Pose translation is (position channels - root OFFSET). A position
  component without a channel stays at the OFFSET's value.
- Position channels on other joints, read the same way (they replace the OFFSET), are
  accepted when they are constant over the clip (exporters that write six channels on
  every joint): the joint's rest offset is then the channel values. Position channels that
  change over the clip (stretching bones) are rejected: a Skeleton has fixed offsets.
- ``End Site`` blocks become leaf joints named ``<parent>_end`` (``<parent>_end2``, ... if
  the name is taken) with locked limits, so fingertips and the top of the head can be
  IK effectors. ``save_bvh`` writes such leaves back as End Site blocks. End Sites at a zero
  OFFSET add no point and are dropped (``save_bvh`` writes them under its other leaves), so a
  saved skeleton reads back with the same joints.
- ``Frame Time`` is seconds per frame: ``fps = 1 / Frame Time``.

Units are the file's, times ``scale`` (CMU files: ``scale=0.056444`` gives metres).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ik_engine.errors import PoseError, SkeletonError, SkeletonFileError
from ik_engine.motion import Motion
from ik_engine.rotations import matrix_to_axis_angle
from ik_engine.skeleton import Skeleton
from ik_engine.validation import finite_number

from ik_engine.smplx_body import CMU_UNIT  # noqa: E402,F401  (public here: ``load_bvh(path, scale=CMU_UNIT)``)
AXES = {"x": 0, "y": 1, "z": 2}  # channel axis letter -> coordinate axis
# The names load_bvh gives End Sites (``<parent>_end``, ``<parent>_end2``, ...).
END_SITE_NAME = re.compile(r"^(?P<parent>.*)_end(?P<n>[0-9]*)$")


@dataclass
class _Node:
    name: str
    parent: int
    line: int
    is_end_site: bool = False
    offset: np.ndarray | None = None
    # (kind, axis) per channel in file order: kind "position" or "rotation", axis 0..2.
    channels: list[tuple[str, int]] = field(default_factory=list)
    has_channels_line: bool = False


class _Reader:
    """Tokens of the HIERARCHY section with their line numbers, read front to back."""

    def __init__(self, name: str, tokens: list[tuple[str, int]], last_line: int) -> None:
        self.name = name
        self.tokens = tokens
        self.pos = 0
        self.last_line = last_line

    def error(self, message: str, line: int | None = None) -> SkeletonFileError:
        where = f", line {line}" if line is not None else ""
        return SkeletonFileError(f"BVH file {self.name!r}{where}: {message}")

    def peek(self) -> tuple[str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, what: str) -> tuple[str, int]:
        token = self.peek()
        if token is None:
            raise self.error(f"the hierarchy ends (truncated file, or a '}}' missing?) where {what} was expected", self.last_line)
        self.pos += 1
        return token

    def number(self, what: str) -> float:
        text, line = self.next(what)
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{what} must be a number, got {text!r}", line) from None
        if not np.isfinite(value):
            raise self.error(f"{what} must be finite, got {text!r}", line)
        return value

    def offset(self, joint: str) -> np.ndarray:
        return np.array([self.number(f"OFFSET {'xyz'[i]} of {joint!r}") for i in range(3)])

    def name_then_brace(self, keyword: str, line: int) -> str:
        """The joint name after ROOT/JOINT: every token up to ``{`` (names may hold spaces)."""
        parts: list[str] = []
        while True:
            text, _ = self.next(f"'{{' after {keyword} {' '.join(parts)}".rstrip())
            if text == "{":
                break
            if text == "}":
                raise self.error(f"'}}' where the name and '{{' of a {keyword} were expected", line)
            parts.append(text)
        if not parts:
            raise self.error(f"{keyword} without a name", line)
        return " ".join(parts)


def _tokenize(lines: list[str], start: int, stop: int) -> list[tuple[str, int]]:
    tokens = []
    for i in range(start, stop):
        for text in lines[i].replace("{", " { ").replace("}", " } ").split():
            tokens.append((text, i + 1))
    return tokens


def _parse_hierarchy(reader: _Reader) -> list[_Node]:
    first = reader.peek()
    if first is None or first[0].upper() != "HIERARCHY":
        got = "nothing" if first is None else repr(first[0])
        raise reader.error(f"a BVH file starts with HIERARCHY, got {got}", None if first is None else first[1])
    reader.next("HIERARCHY")
    token = reader.peek()
    if token is None:
        raise reader.error("the hierarchy has no joints (no ROOT before MOTION)", reader.last_line)
    if token[0].upper() != "ROOT":
        raise reader.error(f"expected ROOT, got {token[0]!r}", token[1])
    nodes: list[_Node] = []
    _, line = reader.next("ROOT")
    nodes.append(_Node(reader.name_then_brace("ROOT", line), -1, line))
    stack = [0]
    while stack:
        text, line = reader.next(f"the rest of joint {nodes[stack[-1]].name!r} (or its closing '}}')")
        node = nodes[stack[-1]]
        keyword = text.upper()
        if keyword == "OFFSET":
            if node.offset is not None:
                raise reader.error(f"joint {node.name!r} has two OFFSET lines", line)
            node.offset = reader.offset(node.name)
        elif keyword == "CHANNELS":
            if node.is_end_site:
                raise reader.error(f"an End Site (of {nodes[node.parent].name!r}) cannot have CHANNELS", line)
            if node.has_channels_line:
                raise reader.error(f"joint {node.name!r} has two CHANNELS lines", line)
            node.has_channels_line = True
            count_text, count_line = reader.next(f"the channel count of {node.name!r}")
            try:
                count = int(count_text)
            except ValueError:
                raise reader.error(f"the channel count of {node.name!r} must be an integer, got {count_text!r}", count_line) from None
            if not 0 <= count <= 6:
                raise reader.error(f"joint {node.name!r} declares {count} channels; a joint has 0 to 6", count_line)
            for k in range(count):
                channel, channel_line = reader.next(f"channel {k + 1} of {count} of {node.name!r}")
                c = channel.lower()
                if c in ("joint", "end", "offset", "channels", "}", "{", "root"):
                    raise reader.error(
                        f"CHANNELS {count} of joint {node.name!r} lists only {k} channel names before {channel!r}",
                        channel_line,
                    )
                if len(c) != 9 or c[0] not in AXES or c[1:] not in ("rotation", "position"):
                    raise reader.error(
                        f"unknown channel {channel!r} of joint {node.name!r} (known: Xposition Yposition "
                        "Zposition Xrotation Yrotation Zrotation)",
                        channel_line,
                    )
                entry = (c[1:], AXES[c[0]])
                if entry in node.channels:
                    raise reader.error(f"joint {node.name!r} lists channel {channel!r} twice", channel_line)
                node.channels.append(entry)
        elif keyword == "JOINT":
            if node.is_end_site:
                raise reader.error("an End Site cannot have child joints", line)
            nodes.append(_Node(reader.name_then_brace("JOINT", line), stack[-1], line))
            stack.append(len(nodes) - 1)
        elif keyword == "END":
            if node.is_end_site:
                raise reader.error("an End Site cannot contain another End Site", line)
            site, site_line = reader.next("'Site' after 'End'")
            if site.upper() != "SITE":
                raise reader.error(f"expected 'End Site', got 'End {site}'", site_line)
            brace, brace_line = reader.next("'{' after End Site")
            if brace != "{":
                raise reader.error(f"expected '{{' after End Site, got {brace!r}", brace_line)
            nodes.append(_Node("", stack[-1], line, is_end_site=True))
            stack.append(len(nodes) - 1)
        elif text == "}":
            if node.offset is None:
                what = f"the End Site of {nodes[node.parent].name!r}" if node.is_end_site else f"joint {node.name!r}"
                raise reader.error(f"{what} has no OFFSET", line)
            stack.pop()
        elif keyword == "ROOT":
            raise reader.error("ROOT inside another joint's block (a '}' is missing?)", line)
        else:
            raise reader.error(f"unexpected {text!r} in joint {node.name!r}", line)
    trailing = reader.peek()
    if trailing is not None:
        if trailing[0].upper() == "ROOT":
            raise reader.error("a second ROOT: files with several skeletons are not supported", trailing[1])
        raise reader.error(f"unexpected {trailing[0]!r} after the hierarchy (a '}}' too many?)", trailing[1])
    nodes = _without_empty_end_sites(nodes)
    _name_end_sites(nodes)
    return nodes


def _without_empty_end_sites(nodes: list[_Node]) -> list[_Node]:
    """The nodes without End Sites at a zero OFFSET: they mark a leaf and add no point (``save_bvh``
    writes one under every leaf joint, as the format asks), so a saved skeleton reads back with
    its own joints."""
    keep = [k for k, node in enumerate(nodes) if not (node.is_end_site and not np.any(node.offset))]
    new_index = {old: new for new, old in enumerate(keep)}
    for k in keep:
        if nodes[k].parent >= 0:
            nodes[k].parent = new_index[nodes[k].parent]
    return [nodes[k] for k in keep]


def _name_end_sites(nodes: list[_Node]) -> None:
    taken = {n.name for n in nodes if not n.is_end_site}
    for node in nodes:
        if node.is_end_site:
            base = f"{nodes[node.parent].name}_end"
            name, k = base, 1
            while name in taken:
                k += 1
                name = f"{base}{k}"
            node.name = name
            taken.add(name)


def axis_rotations(axis: int, angles: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by ``angles`` (T,) radians about coordinate axis 0, 1 or 2."""
    c, s = np.cos(angles), np.sin(angles)
    R = np.zeros(angles.shape + (3, 3))
    i, j = (axis + 1) % 3, (axis + 2) % 3
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def _read_text(path: Path, name: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SkeletonFileError(f"BVH file {name!r} does not exist") from None
    except OSError as exc:
        raise SkeletonFileError(f"cannot read BVH file {name!r}: {exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # joint names from older tools; the numbers are ASCII anyway


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _refuse_control_characters(name: str, lines: list[str]) -> None:
    """A BVH file is text: a control character (other than tabs and line breaks) means a binary
    or corrupted file, refused with its line, rather than parsed around."""
    for number, text in enumerate(lines, start=1):
        found = _CONTROL.search(text)
        if found:
            raise SkeletonFileError(f"BVH file {name!r}, line {number}: control character {found.group()!r} "
                                    "(a binary or corrupted file?)")


def _parse_motion(name: str, lines: list[str], start: int, channel_count: int) -> tuple[np.ndarray, float]:
    """(frames (T, C), frame_time) from the lines after MOTION (``start`` is their index)."""

    def error(message: str, line: int | None) -> SkeletonFileError:
        return SkeletonFileError(f"BVH file {name!r}{'' if line is None else f', line {line}'}: {message}")

    i = start
    header: dict[str, tuple[str, int]] = {}
    for key in ("frames", "frame time"):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            raise error(f"the file ends (truncated?) before the '{key.title()}:' line", len(lines))
        match = re.fullmatch(r"\s*(frames|frame\s+time)\s*:\s*(\S*)\s*", lines[i], re.IGNORECASE)
        if match is None or " ".join(match.group(1).lower().split()) != key:
            raise error(f"expected '{key.title()}: <value>', got {lines[i].strip()[:60]!r}", i + 1)
        header[key] = (match.group(2), i + 1)
        i += 1
    frames_text, frames_line = header["frames"]
    try:
        frame_count = int(frames_text)
    except ValueError:
        raise error(f"'Frames:' must be a whole number, got {frames_text!r}", frames_line) from None
    if frame_count < 0:
        raise error(f"'Frames:' must be >= 0, got {frame_count}", frames_line)
    time_text, time_line = header["frame time"]
    try:
        frame_time = float(time_text)
    except ValueError:
        raise error(f"'Frame Time:' must be a number, got {time_text!r}", time_line) from None
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise error(f"'Frame Time:' must be > 0 seconds, got {time_text!r}", time_line)

    rows = [(k + 1, lines[k]) for k in range(i, len(lines)) if lines[k].strip()]
    if channel_count == 0:
        if rows:
            raise error("the hierarchy has no channels, so frame lines must be empty", rows[0][0])
        return np.zeros((frame_count, 0)), frame_time
    if len(rows) < frame_count:
        raise error(
            f"'Frames: {frame_count}' but only {len(rows)} frame lines follow (truncated file?)", len(lines)
        )
    if len(rows) > frame_count:
        raise error(
            f"frame line {frame_count + 1} is one more than 'Frames: {frame_count}' declares "
            f"({len(rows)} frame lines in all)",
            rows[frame_count][0],
        )
    data = np.empty((frame_count, channel_count))
    for t, (line, text) in enumerate(rows):
        values = text.split()
        if len(values) != channel_count:
            raise error(
                f"frame {t} has {len(values)} values but the hierarchy declares {channel_count} channels", line
            )
        try:
            data[t] = np.array(values, dtype=np.float64)
        except ValueError:
            bad = next(v for v in values if not _is_number(v))
            raise error(f"frame {t}: {bad!r} is not a number", line) from None
        if not np.isfinite(data[t]).all():
            bad = values[int(np.flatnonzero(~np.isfinite(data[t]))[0])]
            raise error(f"frame {t}: {bad!r} is not a finite number", line)
    return data, frame_time


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_bvh(path: str | os.PathLike, scale: float = 1.0) -> tuple[Skeleton, Motion]:
    """Read a BVH file: its skeleton and its clip.

    Args:
        path: the .bvh file.
        scale: multiplies every length (offsets and root positions); e.g. 0.01 for a file
            in centimetres, 0.056444 for CMU files, to get metres.

    Returns:
        (skeleton, motion): the Skeleton (names from the file, End Sites as ``<parent>_end``
        leaf joints with locked limits, other joints unlimited, no radii) and the Motion
        (axis-angle per frame and joint, root translations times ``scale``,
        ``fps = 1 / Frame Time``, the skeleton's joint names).

    Rotations: channels listed ``A B C`` with angles (a, b, c) degrees mean the intrinsic
    rotation ``R_parent_joint = R_A(a) @ R_B(b) @ R_C(c)``. See the module docstring for
    position channels.

    Raises:
        SkeletonFileError: a missing or malformed file, naming the file and the line.
        Nothing is returned half-loaded.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise SkeletonFileError(f"load_bvh needs the path of a .bvh file (str or os.PathLike), got {type(path).__name__}")
    name = os.fspath(path)
    scale = finite_number(scale, "BVH scale", SkeletonError, minimum=0.0, strictly_above=True)
    lines = _read_text(Path(path), name).splitlines()
    _refuse_control_characters(name, lines)
    motion_index = next((k for k, text in enumerate(lines) if text.strip().upper() == "MOTION"), None)
    hierarchy_stop = len(lines) if motion_index is None else motion_index
    if not any(text.strip() for text in lines):
        raise SkeletonFileError(f"BVH file {name!r} is empty")
    reader = _Reader(name, _tokenize(lines, 0, hierarchy_stop), hierarchy_stop)
    try:
        nodes = _parse_hierarchy(reader)
    except SkeletonFileError as exc:
        if motion_index is None:  # the likely cause: the file was cut inside the hierarchy
            raise SkeletonFileError(f"{exc} (the file has no MOTION section: truncated?)") from None
        raise
    if motion_index is None:
        raise SkeletonFileError(f"BVH file {name!r}: no MOTION section (truncated file?)")

    columns: list[tuple[int, str, int]] = []  # (node, kind, axis) per frame column
    for k, node in enumerate(nodes):
        columns.extend((k, kind, axis) for kind, axis in node.channels)
    data, frame_time = _parse_motion(name, lines, motion_index + 1, len(columns))
    T, J = data.shape[0], len(nodes)

    offsets = np.stack([node.offset for node in nodes])
    R = np.broadcast_to(np.eye(3), (T, J, 3, 3)).copy()
    root_position = np.broadcast_to(offsets[0], (T, 3)).copy()
    column = 0
    for k, node in enumerate(nodes):
        for kind, axis in node.channels:
            values = data[:, column]
            column += 1
            if kind == "rotation":
                R[:, k] = R[:, k] @ axis_rotations(axis, np.deg2rad(values))
            elif k == 0:
                root_position[:, axis] = values
            else:
                if T and np.ptp(values) > 1e-9 * max(1.0, float(np.abs(values).max())):
                    raise SkeletonFileError(
                        f"BVH file {name!r}, line {node.line}: joint {node.name!r} has a {'XYZ'[axis]}position "
                        "channel that changes over the clip (from "
                        f"{values.min():g} to {values.max():g}); position channels are supported only on the root "
                        "or when constant, as a Skeleton has fixed bone offsets"
                    )
                if T:
                    offsets[k, axis] = values[0]

    lower = np.full((J, 3), -np.pi)
    upper = np.full((J, 3), np.pi)
    ends = [k for k, node in enumerate(nodes) if node.is_end_site]
    lower[ends] = 0.0
    upper[ends] = 0.0
    names = [node.name for node in nodes]
    try:
        skeleton = Skeleton(
            names, [node.parent for node in nodes], offsets * scale, lower, upper, name=Path(name).stem
        )
        motion = Motion(
            matrix_to_axis_angle(R, np).reshape(T, J, 3),
            (root_position - offsets[0]) * scale,
            1.0 / frame_time,
            names,
        )
    except (SkeletonError, PoseError) as exc:
        raise SkeletonFileError(f"BVH file {name!r}: {exc}") from None
    return skeleton, motion


# --------------------------------------------------------------------------- writing
