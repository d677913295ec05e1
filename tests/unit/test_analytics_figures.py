"""The figures the Analytics page derives from chart frames, computed in engine.analytics:
the due window, the retention table, predicted recall, model usage totals, untested pages."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine.analytics.shaping import (
    OTHER_MATERIALS,
    UsageTotals,
    due_within,
    fold_materials,
    predicted_recall,
    retention_table,
    reviews_so_far,
    untested_pages,
    usage_totals,
)

TODAY = dt.date(2026, 3, 10)


def true_retention() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": ["today", "month", "all"],
            "young_rate": [0.0, 0.9, 0.875],
            "young_total": [0, 10, 40],
            "mature_rate": [0.0, 0.0, 0.95],
            "mature_total": [0, 0, 20],
            "rate": [0.0, 0.9, 0.9],
            "total": [0, 10, 60],
        }
    )


def test_the_retention_table_reads_as_shares_of_answers_and_a_dash_for_none():
    table = retention_table(true_retention())
    assert table.to_dict("list") == {
        "period": ["Today", "Month", "All"],
        "young": ["—", "90.0% of 10", "87.5% of 40"],
        "mature": ["—", "—", "95.0% of 20"],
        "total": ["—", "90.0% of 10", "90.0% of 60"],
    }


def test_reviews_so_far_is_the_all_time_total():
    assert reviews_so_far(true_retention()) == 60
    assert reviews_so_far(true_retention().iloc[:0]) == 0


def test_the_due_window_keeps_the_next_days_only():
    due = pd.DataFrame({"day": [TODAY + dt.timedelta(days=d) for d in (0, 29, 30, 89)]})
    assert len(due_within(due, TODAY, 30)) == 2
    assert len(due_within(due, TODAY, 90)) == 4
    with pytest.raises(ValueError):
        due_within(due, TODAY, 0)


def test_predicted_recall_counts_unanswered_questions_as_forgotten():
    ready = pd.DataFrame({"questions": [10, 30], "expected_recalled": [8.0, 12.0]})
    assert predicted_recall(ready) == pytest.approx(0.5)
    assert predicted_recall(ready.iloc[:0]) == 0.0


def test_usage_totals_count_unknown_costs_as_zero():
    usage = pd.DataFrame({"calls": [3, 1], "cost_usd": [0.25, None]})
    assert usage_totals(usage) == UsageTotals(calls=4, cost_usd=0.25)


def test_untested_pages_are_pages_without_questions():
    assert untested_pages(pd.DataFrame({"questions": [0, 2, 0, 1]})) == 2


def due_by_material(materials: int) -> pd.DataFrame:
    """Material k has k+1 reviews due on each of the first three days (so 'M8' is largest)."""
    return pd.DataFrame(
        [
            {"day": TODAY + dt.timedelta(days=d), "material": f"M{k}", "due": k + 1}
            for d in range(3)
            for k in range(materials)
        ]
    )


def test_folding_names_the_largest_materials_and_keeps_every_total():
    due = due_by_material(9)
    folded = fold_materials(due, "due", keep=5)
    assert set(folded["material"]) == {"M8", "M7", "M6", "M5", "M4", OTHER_MATERIALS}
    assert folded.groupby("day")["due"].sum().tolist() == due.groupby("day")["due"].sum().tolist()
    other = folded[folded["material"] == OTHER_MATERIALS]
    assert other["due"].tolist() == [1 + 2 + 3 + 4] * 3  # M0..M3 on each day
    assert len(folded) == 3 * 6  # one bar per day and named material, and one "other"


def test_folding_leaves_few_materials_as_they_are():
    due = due_by_material(6)  # one over `keep`: "other" would just rename the smallest
    folded = fold_materials(due, "due", keep=5)
    assert sorted(set(folded["material"])) == [f"M{k}" for k in range(6)]
    assert folded["due"].sum() == due["due"].sum()
    assert fold_materials(due.iloc[:0], "due").empty
    with pytest.raises(ValueError):
        fold_materials(due, "due", keep=0)
