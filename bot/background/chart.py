"""The digest's chart: daily mean sentiment as a line over message counts as bars, rendered to PNG bytes.

matplotlib is imported here and nowhere else, inside the function, with the Agg backend (no display, safe in
threads), so the web process starts without it and only a digest pays for loading it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

from handlers.sentiment.digest import DayMood

_LOCK = threading.Lock()  # pyplot keeps global state; we use the object API, but font caches are shared too


def render_chart(days: Sequence[DayMood], *, title: str) -> bytes:
    """A 8×4 inch PNG: bars = messages per day (right axis), line = mean score per day on −1…1 (left axis)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    labels = [f"{day.day:%a %d}" if len(days) <= 8 else f"{day.day:%d %b}" for day in days]
    positions = list(range(len(days)))
    with _LOCK:
        figure = Figure(figsize=(8, 4), dpi=100)
        mood_axis = figure.add_subplot()
        count_axis = mood_axis.twinx()
        count_axis.bar(positions, [day.count for day in days], color="#c9d6e3", label="messages")
        count_axis.set_ylabel("messages")
        mood_axis.set_zorder(count_axis.get_zorder() + 1)
        mood_axis.patch.set_visible(False)
        points = [(x, day.mean) for x, day in zip(positions, days, strict=True) if day.mean is not None]
        if points:
            mood_axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", color="#2c3e50", label="mood")
        mood_axis.axhline(0, color="#999999", linewidth=0.8, linestyle="--")
        mood_axis.set_ylim(-1.05, 1.05)
        mood_axis.set_ylabel("mean sentiment (−1 … 1)")
        mood_axis.set_xticks(positions, labels, rotation=45 if len(days) > 8 else 0, fontsize=8)
        mood_axis.set_title(title)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()
