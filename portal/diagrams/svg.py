"""Drawing primitives: boxes with a kind, a title and lines of values; groups around boxes; arrows.

Text is escaped here and nowhere else: every caller passes plain strings, and every element is
built with format_html, so a service name or an output holding markup is drawn as text.

Layout is done by the callers in fixed coordinates. The only measuring is of text, which the
server cannot do exactly: values are set in a monospace font, whose advance is 0.6 em in every
common monospace face, so a box can wrap them to its width; titles are estimated a little wide.
"""

from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

SANS = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
INK = "#1f2328"
MUTED = "#57606a"
LINE = "#8c959f"

# The AWS Architecture Icons' category colours, so the picture reads like the ones people know.
NETWORKING = "#8c4fff"
CONTAINERS = "#ed7100"
MANAGEMENT = "#e7157b"
NEUTRAL = "#57606a"

KIND_SIZE, TITLE_SIZE, VALUE_SIZE = 12, 14, 13
PAD = 10
LINE_HEIGHT = 19
HEADER = 40  # the kind and the title above the first value
MONO_ADVANCE = 0.6
SANS_ADVANCE = 0.58  # generous: an estimate that is too wide only wraps a little early


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Value:
    """One line of a box: a value (monospace) or, with `note`, a sentence about it (sans, muted)."""

    text: str
    note: bool = False


def wrap(text: str, width: float, size: float, advance: float) -> list[str]:
    """`text` in lines that fit `width`, broken after a separator where one is near (ARNs, URLs and
    paths break at spaces and / . - : ,), else anywhere."""
    fits = max(4, int(width / (size * advance)))
    lines, rest = [], text
    while len(rest) > fits:
        # A space or a slash splits where a reader expects it (a URL's host from its path), so it
        # wins over a nearer hyphen or dot when it leaves the line at least half full.
        for separators in (" /", " /.-:,"):
            cut = max(rest.rfind(sep, 0, fits) for sep in separators)
            if cut >= fits // 2:
                break
        cut = cut + 1 if cut >= fits // 2 else fits
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip(" ")
    return [*lines, rest] if rest or not lines else lines


def text(x: float, y: float, content: str, *, size=VALUE_SIZE, mono=False, color=INK, weight=400, anchor="start"):
    return format_html(
        '<text x="{}" y="{}" font-family="{}" font-size="{}" font-weight="{}" fill="{}" text-anchor="{}">{}</text>',
        n(x), n(y), MONO if mono else SANS, size, weight, color, anchor, content,
    )  # fmt: skip


def header(kind: str) -> float:
    """Room above the first value: the kind's line, when there is one, and the title's."""
    return HEADER if kind else HEADER - LINE_HEIGHT + 5


def n(number: float) -> str:
    return f"{number:.1f}".removesuffix(".0")


@dataclass
class Canvas:
    """A picture being drawn: groups under boxes, arrows over both so their heads show."""

    width: float
    groups: list[SafeString] = field(default_factory=list)
    boxes: list[SafeString] = field(default_factory=list)
    arrows: list[SafeString] = field(default_factory=list)
    height: float = 0

    def _grow(self, rect: Rect) -> Rect:
        self.height = max(self.height, rect.bottom)
        return rect

    def box_height(self, w: float, title: str, values: list[Value], kind: str = "x") -> float:
        lines = len(self._title_lines(w, title)) - 1 + len(self._value_lines(w, values))
        return header(kind) + LINE_HEIGHT * lines + PAD

    def box(self, x, y, w, *, kind: str, title: str, values: list[Value], color: str, stacked=0, min_h=0) -> Rect:
        """A resource: its kind in small capitals, its name, then its values, each wrapped to fit.
        `stacked` draws that many cards behind it, for a resource that runs several times."""
        rect = Rect(x, y, w, max(min_h, self.box_height(w, title, values, kind)))
        for depth in range(stacked, 0, -1):
            self.boxes.append(self._card(Rect(x + 6 * depth, y - 6 * depth, w, rect.h), color))
        parts = [self._card(rect, color), text(x + PAD, y + 18, kind.upper(), size=KIND_SIZE, color=color, weight=600)]
        baseline = y + header(kind) - 3
        for line in self._title_lines(w, title):
            parts.append(text(x + PAD, baseline, line, size=TITLE_SIZE, weight=600))
            baseline += LINE_HEIGHT
        for value, line in self._value_lines(w, values):
            parts.append(text(x + PAD, baseline, line, mono=not value.note, color=MUTED if value.note else INK))
            baseline += LINE_HEIGHT
        self.boxes.append(mark_safe("".join(parts)))
        return self._grow(rect)

    def group(self, rect: Rect, label: str, *, color: str, dashed=False) -> Rect:
        """A container drawn behind what it holds (a VPC, a tier of subnets), labelled at its top."""
        self.groups.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" rx="8" fill="{}" fill-opacity="0.05" stroke="{}" stroke-width="1.5"{}/>{}',
                n(rect.x),
                n(rect.y),
                n(rect.w),
                n(rect.h),
                color,
                color,
                mark_safe(' stroke-dasharray="6 4"') if dashed else "",
                text(rect.x + PAD, rect.y + 20, label, size=VALUE_SIZE, color=color, weight=600),
            )  # fmt: skip
        )
        return self._grow(rect)

    def note(self, x: float, y: float, content: str, *, anchor="start") -> None:
        self.boxes.append(text(x, y, content, color=MUTED, anchor=anchor))

    def arrow(self, points: list[tuple[float, float]], label: str = "", *, label_at: tuple[float, float] | None = None):
        """A line through `points` with a head at the last one; its label sits at `label_at` (by
        default above the middle of the first segment), on a white halo so lines do not cross it."""
        path = " ".join(f"{'M' if i == 0 else 'L'}{n(x)},{n(y)}" for i, (x, y) in enumerate(points))
        (x0, y0), (x1, y1) = points[-2], points[-1]
        length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        head = [(x1, y1), (x1 - 9 * ux - 4.5 * uy, y1 - 9 * uy + 4.5 * ux), (x1 - 9 * ux + 4.5 * uy, y1 - 9 * uy - 4.5 * ux)]
        parts = [
            format_html('<path d="{}" fill="none" stroke="{}" stroke-width="1.6"/>', path, LINE),
            format_html('<polygon points="{}" fill="{}"/>', " ".join(f"{n(x)},{n(y)}" for x, y in head), LINE),
        ]
        if label:
            lx, ly = label_at or ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2 - 7)
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-family="{}" font-size="{}" fill="{}" text-anchor="middle" '
                    'stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke">{}</text>',
                    n(lx),
                    n(ly),
                    SANS,
                    KIND_SIZE,
                    MUTED,
                    label,
                )  # fmt: skip
            )
        self.arrows.append(mark_safe("".join(parts)))

    def render(self, label: str) -> SafeString:
        """The whole picture, scaled to its container's width; `label` names it for screen readers."""
        height = self.height + PAD
        return format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
            # Never narrower than drawn, so text stays at its size (12 px and up); a narrow page scrolls it.
            'style="min-width:{}px;height:auto;display:block"><title>{}</title>{}{}{}</svg>',
            n(self.width), n(height), label, n(self.width), label,
            format_html_join("", "{}", ((part,) for part in self.groups)),
            format_html_join("", "{}", ((part,) for part in self.boxes)),
            format_html_join("", "{}", ((part,) for part in self.arrows)),
        )  # fmt: skip

    def _card(self, rect: Rect, color: str) -> SafeString:
        return format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" rx="6" fill="#fff" stroke="{}" stroke-width="1.5"/>',
            n(rect.x), n(rect.y), n(rect.w), n(rect.h), color,
        )  # fmt: skip

    @staticmethod
    def _title_lines(w: float, title: str) -> list[str]:
        return wrap(title, w - 2 * PAD, TITLE_SIZE, SANS_ADVANCE)

    @staticmethod
    def _value_lines(w: float, values: list[Value]) -> list[tuple[Value, str]]:
        return [(value, line) for value in values for line in wrap(value.text, w - 2 * PAD, VALUE_SIZE, SANS_ADVANCE if value.note else MONO_ADVANCE)]


@dataclass(frozen=True)
class Picture:
    """What a page shows: the drawing and a sentence on what it is drawn from, or, when there is
    nothing to draw yet, only the sentence saying why."""

    caption: str
    svg: SafeString | None = None
