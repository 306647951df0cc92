"""What the Interpolation tab says about its numbers.

Each text is a pure function of the measurements shown beside it (one strip's
:class:`~latentlab.core.smoothness.StripSmoothness`, the many-pairs
:class:`~latentlab.core.analysis.pair_statistics.ManyPairs`). No Qt: the tab
puts these strings in its labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentlab.core.analysis.pair_statistics import (
    FIGURE_NAMES,
    LARGER_IS_WORSE,
    percentile_rank,
)

if TYPE_CHECKING:
    from latentlab.core.analysis.pair_statistics import ManyPairs, PairsProgress
    from latentlab.core.smoothness import StripSmoothness


def strip_summary(
    kind: str, s: StripSmoothness, population: ManyPairs | None = None
) -> str:
    """One strip's figures, each named, and its place among many pairs."""
    text = (
        f"<b>{kind}</b> &nbsp; largest jump <b>{s.max_step:.2f}</b> "
        f"(steps {s.worst_step + 1}→{s.worst_step + 2}), mean step "
        f"{s.mean_step:.2f}, jump ratio (largest / mean step) <b>{s.jump_ratio:.2f}</b>"
    )
    if population is not None and kind in population.populations:
        rank = percentile_rank(s.jump_ratio, population.populations[kind].jump_ratio)
        text += f" — jumpier than {100 * rank:.0f}% of {population.n} random pairs"
    if s.nearest is not None:
        text += (
            f" &nbsp;·&nbsp; midpoint → nearest training image (L2) {s.midpoint_nn:.2f}"
        )
    return text


def population_summary(stats: ManyPairs) -> str:
    """What the many-pairs histograms show, from their numbers."""
    rows = []
    first, second = list(stats.populations)[:2]  # e.g. "AE", "VAE"
    for figure in stats.figures:
        a, b = stats.median(first, figure), stats.median(second, figure)
        share = stats.fraction_worse(figure, first, second)
        worse = "larger" if LARGER_IS_WORSE[figure] else "smaller"
        rows.append(
            f"<b>{FIGURE_NAMES[figure]}</b>: median {first} {a:.2f}, {second} "
            f"{b:.2f}; the {first}'s is {worse} (further from the data) in "
            f"<b>{100 * share:.0f}%</b> of the {stats.n} pairs"
        )
    if stats.classifier_accuracy is not None:
        rows.append(
            "<span style='color:#666'>confidence: top-class probability of an MLP "
            "classifier trained here on the same training split, test accuracy "
            f"{100 * stats.classifier_accuracy:.1f}%</span>"
        )
    return (
        "<br>".join(rows)
        + f"<br><span style='color:#666'>{stats.n} random test pairs (seed "
        f"{stats.seed}), {stats.steps} steps each, codes = the encoders' means; "
        f"density: mean distance to the {stats.k} nearest training codes over the "
        "typical such distance between training codes, in the latent whitened by "
        "the codes' own mean and covariance (≫ 1: a hole)</span>"
    )


def duration(seconds: float) -> str:
    """``seconds`` as m:ss (h:mm:ss from an hour)."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def progress_text(p: PairsProgress) -> str:
    """What a many-pairs measurement is doing, its share done and the time
    left at its rate so far (plain text, for a progress bar)."""
    if p.stage == "encoding":
        what = f"{p.model}: encoding images ({p.done:,} of {p.total:,})"
    elif p.stage == "yardstick":
        what = f"{p.model}: typical code spacing ({p.done:,} of {p.total:,})"
    elif p.stage == "pairs":
        what = f"{p.model}: pair {p.done:,} of {p.total:,} measured"
    elif p.stage == "classifier":
        what = f"training the realism classifier: step {p.done:,} of {p.total:,}"
    elif p.stage == "confidence":
        what = f"{p.model}: classifier confidence, pair {p.done:,} of {p.total:,}"
    else:
        what = p.stage
    left = p.remaining_s
    eta = "estimating time left" if left is None else f"about {duration(left)} left"
    return f"{what} · {100 * p.fraction:.0f}% · {eta}"


def measured_text(stats: ManyPairs, elapsed_s: float | None) -> str:
    """The many-pairs bar once done: how many pairs, and how long it took."""
    text = f"{stats.n:,} pairs measured"
    if elapsed_s is not None:
        text += f" in {duration(elapsed_s)}"
    return text
