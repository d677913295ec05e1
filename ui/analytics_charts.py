"""Plotly figures for the Analytics page, built from the engine's small DataFrames.

Text from PDFs (material titles) reaches axis labels, legends and hover text; plotly reads a
few HTML tags there, so `plain` turns every `<` into an entity and the text shows literally.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import plotly.graph_objects as go

from engine.analytics.shaping import count_range, day_ticks
from engine.domain.vocabulary import QuestionStatus
from ui.text import plural

COLOURS = {
    "new": "#4c78a8",
    "learning": "#f58518",
    "young": "#72b7b2",
    "mature": "#54a24b",
    QuestionStatus.FLAGGED: "#e45756",
    QuestionStatus.RETIRED: "#9d9d9d",
}
RATINGS = {
    1: ("Again", "#e45756"),
    2: ("Hard", "#f58518"),
    3: ("Good", "#54a24b"),
    4: ("Easy", "#4c78a8"),
}
DAYS = {"type": "date", "tickformat": "%d %b"}
HEIGHT = 320
TEXT = "#1F2421"  # the app's text colour (.streamlit/config.toml [theme])
GRID = "#E3E1D8"


@functools.cache
def look() -> go.layout.Template:
    """The app's look for every figure, set when the figure is built: the page sends figures
    without Streamlit's theme, which the browser would otherwise merge into each figure on
    every draw. Small on purpose: plotly's default template adds ~6 KB to every figure."""
    axis = {
        "gridcolor": GRID,
        "zerolinecolor": GRID,
        "linecolor": GRID,
        "ticks": "",
        "automargin": True,
    }
    return go.layout.Template(
        layout={
            "font": {"family": "sans-serif", "color": TEXT},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "colorway": ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"],
            "xaxis": axis,
            "yaxis": axis,
            "hoverlabel": {"font": {"family": "sans-serif"}},
        }
    )


def plain(value: object) -> str:
    """Untrusted text for a plotly label: shown literally, no HTML."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _days(values: object, *, step_days: int = 1) -> dict[str, object]:
    """A date x axis over the days in `values`: one tick per distinct day (or week), never a
    repeated date, with half a step of room either side so a single day's bar shows whole."""
    days = sorted({pd.Timestamp(v).date() for v in values})  # type: ignore[union-attr]
    if not days:
        return dict(DAYS)
    ticks = day_ticks(days[0], days[-1], step_days=step_days)
    half = dt.timedelta(hours=12 * step_days)
    return {
        **DAYS,
        "tickmode": "array",
        "tickvals": [t.isoformat() for t in ticks],
        "ticktext": [f"{t:%d %b}" for t in ticks],
        "range": [
            (dt.datetime.combine(days[0], dt.time()) - half).isoformat(),
            (dt.datetime.combine(days[-1], dt.time()) + half).isoformat(),
        ],
    }


def _counts(values: object, **kw: object) -> dict[str, object]:
    """A y axis for counts or amounts: from zero, never negative, never -1..1 when empty."""
    return {"range": list(count_range(values)), **kw}  # type: ignore[arg-type]


def _layout(fig: go.Figure, title: str, **kw: object) -> go.Figure:
    kw.setdefault("height", HEIGHT)
    fig.update_layout(
        template=look(),
        title=title,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        **kw,
    )
    return fig


def calendar(df: pd.DataFrame, today: dt.date) -> go.Figure:
    """GitHub-style heatmap: weeks across, weekdays down, answers per local day."""
    first = today - dt.timedelta(days=364)
    first -= dt.timedelta(days=first.weekday())
    counts = {d: int(n) for d, n in zip(df["day"], df["answers"])}
    weeks = (today - first).days // 7 + 1
    z = [[None] * weeks for _ in range(7)]
    text = [[""] * weeks for _ in range(7)]
    for i in range((today - first).days + 1):
        day = first + dt.timedelta(days=i)
        n = counts.get(day, 0)
        z[day.weekday()][i // 7] = n
        text[day.weekday()][i // 7] = f"{day:%a %d %b %Y}: {plural(n, 'answer')}"
    x = [first + dt.timedelta(weeks=w) for w in range(weeks)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            text=text,
            hoverinfo="text",
            colorscale="Greens",
            xgap=2,
            ygap=2,
            showscale=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Answers per day, last 12 months", height=220)


def reviews_per_day(df: pd.DataFrame, measure: str) -> go.Figure:
    fig = go.Figure()
    column = "answers" if measure == "answers" else "seconds"
    for cat in ("new", "learning", "young", "mature"):
        part = df[df["category"] == cat]
        y = part[column] if column == "answers" else part[column] / 60.0
        fig.add_bar(x=part["day"], y=y, name=cat.title(), marker_color=COLOURS[cat])
    totals = df.groupby("day", as_index=False)[column].sum().sort_values("day")
    running = totals[column].cumsum() / (1 if column == "answers" else 60.0)
    fig.add_scatter(
        x=totals["day"], y=running, name="Running total", yaxis="y2", line={"color": "#333"}
    )
    unit = "Answers" if column == "answers" else "Minutes"
    per_day = totals[column] / (1 if column == "answers" else 60.0)
    return _layout(
        fig,
        f"{unit} per day",
        barmode="stack",
        yaxis=_counts(per_day, title=unit),
        xaxis=_days(totals["day"]),
        yaxis2=_counts(
            running, overlaying="y", side="right", title="Running total", showgrid=False
        ),
    )


def future_due(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for material, part in df.groupby("material", sort=True):
        fig.add_bar(x=part["day"], y=part["due"], name=plain(material))
    per_day = df.groupby("day", as_index=False)["due"].sum().sort_values("day")
    fig.add_scatter(
        x=per_day["day"],
        y=per_day["due"].cumsum(),
        name="Cumulative",
        yaxis="y2",
        line={"color": "#333"},
    )
    return _layout(
        fig,
        "Reviews due",
        barmode="stack",
        yaxis=_counts(per_day["due"], title="Reviews"),
        xaxis=_days(per_day["day"]),
        yaxis2=_counts(
            per_day["due"].cumsum(),
            overlaying="y",
            side="right",
            title="Cumulative",
            showgrid=False,
        ),
    )


def card_counts(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Pie(
            labels=[k.title() for k in df["kind"]],
            values=df["questions"],
            marker_colors=[COLOURS[k] for k in df["kind"]],
            hole=0.45,
            sort=False,
        )
    )
    return _layout(fig, "Questions by state")


def intervals(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(
        x=df["interval_days"], y=df["questions"], name="Questions", marker_color=COLOURS["young"]
    )
    fig.add_scatter(
        x=df["interval_days"],
        y=df["cumulative_share"] * 100,
        name="Cumulative %",
        yaxis="y2",
        line={"color": "#333"},
    )
    return _layout(
        fig,
        "Scheduled intervals",
        xaxis_title="Interval (days)",
        yaxis=_counts(df["questions"], title="Questions"),
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "title": "%",
            "showgrid": False,
        },
    )


def distribution(df: pd.DataFrame, metric: str) -> go.Figure:
    part = df[df["metric"] == metric]
    titles = {
        "easiness": "SM-2 easiness",
        "stability": "FSRS stability (days, from)",
        "difficulty": "FSRS difficulty (1–10)",
        "retrievability": "FSRS retrievability now (from)",
    }
    fig = go.Figure(
        go.Bar(
            x=[str(round(v, 2)) for v in part["value"]],
            y=part["questions"],
            marker_color=COLOURS["mature"],
        )
    )
    return _layout(
        fig,
        titles[metric],
        xaxis_type="category",
        yaxis=_counts(part["questions"], title="Questions"),
    )


def retention_over_time(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=df["week"],
        y=df["retention"] * 100,
        name="True retention",
        mode="lines+markers",
        customdata=df["reviews"],
        hovertemplate="%{x}: %{y:.1f}% of %{customdata} reviews<extra></extra>",
    )
    fig.add_scatter(
        x=df["week"],
        y=df["target"] * 100,
        name="Target",
        mode="lines",
        line={"dash": "dash", "color": "#999"},
    )
    return _layout(
        fig,
        "Retention per week",
        yaxis={"range": [0, 100], "title": "%"},
        xaxis=_days(df["week"], step_days=7),
    )


def hourly(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=df["hour"], y=df["answers"], name="Answers", marker_color=COLOURS["new"])
    fig.add_scatter(
        x=df["hour"],
        y=df["accuracy"] * 100,
        name="Accuracy %",
        yaxis="y2",
        mode="lines+markers",
        line={"color": COLOURS["mature"]},
    )
    return _layout(
        fig,
        "By hour of day",
        xaxis={"title": "Hour", "dtick": 2},
        yaxis=_counts(df["answers"], title="Answers"),
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "title": "%",
            "showgrid": False,
        },
    )


def outcomes(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for rating, (name, colour) in RATINGS.items():
        part = df[df["rating"] == rating]
        fig.add_bar(x=part["type"], y=part["answers"], name=name, marker_color=colour)
    per_type = df.groupby("type")["answers"].sum()
    return _layout(
        fig, "Ratings by question type", barmode="stack", yaxis=_counts(per_type, title="Answers")
    )


def calibration(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=df["confidence"],
        y=df["ideal"] * 100,
        name="Ideal",
        mode="lines",
        line={"dash": "dash", "color": "#999"},
    )
    fig.add_scatter(
        x=df["confidence"],
        y=df["accuracy"] * 100,
        name="Your accuracy",
        mode="lines+markers+text",
        text=[f"n={n}" for n in df["answers"]],
        textposition="top center",
        line={"color": COLOURS["new"]},
    )
    return _layout(
        fig,
        "Confidence calibration",
        xaxis={"title": "Stated confidence", "dtick": 1},
        yaxis={"range": [0, 105], "title": "% right"},
    )


def coverage(df: pd.DataFrame) -> go.Figure:
    """One square per page: grey when no question cites it, coloured by mastery otherwise."""
    labels = [f"{plain(t)} (#{m})" for t, m in zip(df["material"], df["material_id"])]
    tested = df["questions"] > 0
    mastery = df["mastery"].astype(float)
    hover = [
        f"{lab}, p. {p}: {plural(q, 'question')}, {r} reviewed"
        + (f", mastery {m:.0%}" if pd.notna(m) else "")
        for lab, p, q, r, m in zip(labels, df["page"], df["questions"], df["reviewed"], mastery)
    ]
    colour = [m if pd.notna(m) else (-0.2 if t else -0.5) for m, t in zip(mastery, tested)]
    fig = go.Figure(
        go.Scatter(
            x=df["page"],
            y=labels,
            mode="markers",
            text=hover,
            hoverinfo="text",
            customdata=list(zip(df["material_id"], df["page"])),
            marker={
                "symbol": "square",
                "size": 11,
                "color": colour,
                "cmin": -0.5,
                "cmax": 1,
                "colorscale": [
                    [0, "#dddddd"],
                    [0.2, "#dddddd"],
                    [0.2, "#f2c14e"],
                    [0.34, "#e45756"],
                    [1, "#54a24b"],
                ],
                "colorbar": {
                    "title": "Mastery",
                    "tickvals": [-0.5, -0.2, 0, 0.5, 1],
                    "ticktext": ["untested", "unreviewed", "0%", "50%", "100%"],
                },
            },
        )
    )
    height = max(HEIGHT, 60 + 30 * df["material_id"].nunique())
    return _layout(
        fig,
        "Coverage: pages against questions and mastery",
        height=height,
        xaxis_title="Page",
        yaxis={"type": "category", "autorange": "reversed"},
    )


def time_per_question(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=df["bucket"], y=df["answers"], name="Answers", marker_color=COLOURS["new"])
    fig.add_scatter(
        x=df["bucket"],
        y=df["cumulative_share"] * 100,
        name="Cumulative %",
        yaxis="y2",
        line={"color": "#333"},
    )
    return _layout(
        fig,
        "Time per answer",
        yaxis=_counts(df["answers"], title="Answers"),
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "title": "%",
            "showgrid": False,
        },
    )


def xp_progress(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=df["day"], y=df["xp"], name="XP earned", marker_color=COLOURS["learning"])
    fig.add_scatter(
        x=df["day"],
        y=df["level"],
        name="Level",
        yaxis="y2",
        mode="lines",
        line={"shape": "hv", "color": "#333"},
    )
    return _layout(
        fig,
        "XP and level",
        yaxis=_counts(df["xp"], title="XP"),
        xaxis=_days(df["day"]),
        yaxis2=_counts(
            df["level"], overlaying="y", side="right", title="Level", showgrid=False, dtick=1
        ),
    )


def model_usage(df: pd.DataFrame) -> go.Figure:
    """Cost per day by model; when nothing cost money (offline generation, free models), the
    calls per day instead, so there is no empty money axis."""
    costly = float(df["cost_usd"].fillna(0).sum()) > 0
    column = "cost_usd" if costly else "calls"
    fig = go.Figure()
    for model, part in df.groupby("model", sort=True):
        if costly:
            fig.add_bar(
                x=part["day"],
                y=part["cost_usd"],
                name=plain(model),
                customdata=part["calls"],
                hovertemplate="%{x}: $%{y:.4f} for %{customdata} calls<extra></extra>",
            )
        else:
            fig.add_bar(
                x=part["day"],
                y=part["calls"],
                name=plain(model),
                hovertemplate="%{x}: %{y} calls<extra></extra>",
            )
    per_day = df.groupby("day", as_index=False)[column].sum().sort_values("day")
    running = per_day[column].cumsum()
    fig.add_scatter(
        x=per_day["day"], y=running, name="Cumulative", yaxis="y2", line={"color": "#333"}
    )
    title, unit = (
        ("Model cost (US$)", "US$ per day")
        if costly
        else ("Model calls (no cost)", "Calls per day")
    )
    return _layout(
        fig,
        title,
        barmode="stack",
        yaxis=_counts(per_day[column], title=unit),
        xaxis=_days(per_day["day"]),
        yaxis2=_counts(running, overlaying="y", side="right", title="Cumulative", showgrid=False),
    )
