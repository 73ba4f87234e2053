"""How bwdesk's own widgets look: tone colours taken from the palette (readable on light and dark themes),
the one field-problem label and the one way to make an action. No other UI module names a colour."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from bwdesk.core.status_words import Tone as Tone  # the window colours the tones core names

#: WCAG 2 level AA for normal text: what every tone keeps against every background text sits on.
MIN_CONTRAST = 4.5

#: The backgrounds text is drawn on: labels on the window, fields and table cells on the base colours.
TEXT_BACKGROUNDS = (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase)


# The hue each tone starts from; its lightness then moves until the text reads on the palette.
_HUES = {Tone.PROBLEM: "#c0392b", Tone.WARNING: "#b45309", Tone.SUCCESS: "#1e8449"}
# Backgrounds darker than this (the relative luminance of about #898989) take lighter tones.
_DARK_BELOW = 0.25
_SEVERITY_TONES = {"error": Tone.PROBLEM, "warning": Tone.WARNING}
# Computed colours, by tone and background colours; and the same by palette identity, the fast way to them.
_cache: dict[tuple[Tone, tuple[int, ...]], QColor] = {}
_by_palette: dict[tuple[Tone, int, QPalette.ColorRole | None], QColor] = {}


def relative_luminance(colour: QColor) -> float:
    """WCAG 2's relative luminance of an sRGB colour (0 for black, 1 for white)."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.red()) + 0.7152 * linear(colour.green()) + 0.0722 * linear(colour.blue())


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2's contrast ratio, from 1 (the same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def tone_colour(tone: Tone, palette: QPalette, on: QPalette.ColorRole | None = None) -> QColor:
    """The tone's colour for this palette: darker on light themes, lighter on dark ones, until it keeps
    `MIN_CONTRAST` against the background `on` (by default every one in `TEXT_BACKGROUNDS`)."""
    fast_key = (tone, int(palette.cacheKey()), on)
    known = _by_palette.get(fast_key)
    if known is not None:
        return QColor(known)
    backgrounds = [palette.color(role) for role in (TEXT_BACKGROUNDS if on is None else (on,))]
    key = (tone, tuple(b.rgba() for b in backgrounds))
    cached = _cache.get(key)
    if cached is None:
        cached = _computed(tone, backgrounds)
        if len(_cache) > 64:  # themes come and go; the few backgrounds in use are quickly found again
            _cache.clear()
        _cache[key] = cached
    if len(_by_palette) > 256:  # widgets' palettes come and go (a style sheet makes a new one)
        _by_palette.clear()
    _by_palette[fast_key] = cached
    return QColor(cached)


def _computed(tone: Tone, backgrounds: list[QColor]) -> QColor:
    colour = QColor(_HUES[tone])
    hue, saturation, lightness = colour.hslHueF(), colour.hslSaturationF(), colour.lightnessF()
    dark = sum(relative_luminance(b) for b in backgrounds) / len(backgrounds) < _DARK_BELOW
    step = 0.01 if dark else -0.01
    while min(contrast_ratio(colour, b) for b in backgrounds) < MIN_CONTRAST and 0 < lightness < 1:
        lightness = min(1.0, max(0.0, lightness + step))
        colour = QColor(QColor.fromHslF(hue, saturation, lightness).name())  # 8 bits a channel, as drawn
    return colour


def severity_tone(severity: str) -> Tone:
    """Core's problem severities ("error", "warning") as tones."""
    return _SEVERITY_TONES.get(severity, Tone.PROBLEM)


def text_css(tone: Tone, palette: QPalette, *, bold: bool = False) -> str:
    """A style sheet that writes a widget's text in the tone."""
    return f"color: {tone_colour(tone, palette).name()};" + (" font-weight: bold;" if bold else "")


def level_css(level: str, palette: QPalette) -> str:
    """A counter's style at a fill level: "ok" plain, "near" the cap amber, "full" red and bold."""
    if level == "near":
        return text_css(Tone.WARNING, palette)
    return text_css(Tone.PROBLEM, palette, bold=True) if level == "full" else ""


def border_css(tone: Tone, palette: QPalette, widget: str = "QLineEdit") -> str:
    """A style sheet that outlines a field in the tone (a typed value that cannot be used)."""
    return f"{widget} {{ border: 1px solid {tone_colour(tone, palette).name()}; }}"


def mix(first: QColor, second: QColor, amount: float) -> QColor:
    """`first` moved towards `second` by `amount` (0..1): tinted fills that follow the palette."""
    return QColor(
        round(first.red() + (second.red() - first.red()) * amount),
        round(first.green() + (second.green() - first.green()) * amount),
        round(first.blue() + (second.blue() - first.blue()) * amount),
    )


class ProblemLabel(QLabel):
    """A one-line problem (or warning) under a field, marked and coloured by severity; hidden when there is none."""

    def __init__(self, field: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"problem_{field}")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName(f"Problem with {name}")
        self.hide()

    def show_problem(self, text: str, severity: str = "error") -> None:
        if not text:
            self.clear()
            self.hide()
            return
        set_style(self, text_css(severity_tone(severity), self.palette()))
        self.setText(f"{'⚠' if severity == 'warning' else '✖'} {text}")
        self.show()


def set_style(widget: QWidget, css: str) -> None:
    """Give `widget` this style sheet, unless it has it already (setting one re-polishes the widget)."""
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)


def make_action(
    parent: QWidget,
    text: str,
    slot: Callable[[], object],
    shortcut: QKeySequence | QKeySequence.StandardKey | None = None,
    *,
    tip: str = "",
    context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
) -> QAction:
    """An action added to `parent` (so its shortcut works even where no menu shows it) that calls `slot`."""
    action = QAction(text, parent)
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(shortcut)
        action.setShortcutContext(context)
    action.triggered.connect(slot)
    parent.addAction(action)
    return action
