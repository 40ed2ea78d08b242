"""Category ids and the target key (plain unit tests)."""
from __future__ import annotations

import pytest

from plexrecs_assets.config import ConfigError, load_categories
from plexrecs_assets.keys import HOUSEHOLD, TargetKey, default_category_id, is_category_id
from plexrecs_assets.run_blocks import PairBlock, contiguous_blocks

TRICKY = ["Wait... What?", "A|B, [C]", "🍿🎬", "Because — The Jinx", "../..", "a/b"]
DAGSTER_FORBIDDEN = ["...", "|", ",", "[", "]"]


def _write(tmp_path, body: str):
    (tmp_path / "categories.yml").write_text(body, encoding="utf-8")
    return tmp_path


def test_default_ids_are_id_shaped_stable_and_distinct():
    ids = [default_category_id(label) for label in TRICKY]
    assert all(is_category_id(i) for i in ids)
    assert not any(bad in i for i in ids for bad in DAGSTER_FORBIDDEN)
    assert len(set(ids)) == len(ids)
    # Fixed values: the id must never change between runs or releases (file names and history use it).
    assert default_category_id("Because — The Jinx") == "because-the-jinx-809728"
    assert default_category_id("🍿🎬") == "category-23114a"
    assert default_category_id("Sci-Fi") != default_category_id("Sci Fi")


def test_categories_get_default_ids_and_keep_explicit_ones(tmp_path):
    cats = load_categories(_write(tmp_path, """categories:
  - {label: "Wait... What?", type: keyword, mood_keywords: [cozy]}
  - {id: my-picks, label: "A|B, [C]", type: keyword, mood_keywords: [cozy]}
  - {id: null, label: "🍿🎬", type: keyword, mood_keywords: [cozy]}
"""))
    assert [c.id for c in cats] == [default_category_id("Wait... What?"), "my-picks", "category-23114a"]


@pytest.mark.parametrize("value, shown", [('"Bad Id"', "'Bad Id'"), ("12", "12"), ('"ümlaut"', "'ümlaut'"),
                                          ('"a_b"', "'a_b'"), ('""', "''")])
def test_bad_id_names_file_field_and_value(tmp_path, value, shown):
    with pytest.raises(ConfigError) as exc:
        load_categories(_write(tmp_path, f"categories:\n  - {{id: {value}, label: x, type: keyword, mood_keywords: [c]}}\n"))
    text = str(exc.value)
    assert "categories.yml" in text and "categories.0.id" in text and shown in text


def test_duplicate_ids_are_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_categories(_write(tmp_path, """categories:
  - {label: "Cozy", type: keyword, mood_keywords: [cozy]}
  - {id: cozy-13b59a, label: "Other", type: keyword, mood_keywords: [cozy]}
"""))
    text = str(exc.value)
    assert "categories.yml" in text and "categories.1.id: duplicate id 'cozy-13b59a'" in text
    assert "'Cozy'" in text and "'Other'" in text


def test_run_blocks_are_ids():
    ids = [default_category_id(label) for label in TRICKY[:3]]
    blocks = contiguous_blocks([ids[2], ids[0]], ids)
    assert blocks == [[ids[0]], [ids[2]]]
    assert PairBlock(tuple(ids), ("household",)).tags() == {
        "dagster/asset_partition_range_start": f"{ids[0]}|household",
        "dagster/asset_partition_range_end": f"{ids[2]}|household"}


def test_target_key_is_household_by_default_and_checks_the_id():
    key = TargetKey.household("true-crime-4cfab3")
    assert key == TargetKey(HOUSEHOLD, "true-crime-4cfab3") and str(key) == "household/true-crime-4cfab3"
    with pytest.raises(ValueError):
        TargetKey.household("True Crime")
    with pytest.raises(ValueError):
        TargetKey("", "x")


def test_post_run_selection_takes_labels_or_ids(tmp_path):
    from plexrecs_api.deps import ConfigSnapshot
    from plexrecs_api.errors import ApiError
    from plexrecs_api.routes.runs import selected_labels
    from plexrecs_assets.config import AppConfig

    cats = load_categories(_write(tmp_path, """categories:
  - {label: "Wait... What?", type: keyword, mood_keywords: [cozy]}
  - {id: abc, label: "A|B, [C]", type: keyword, mood_keywords: [cozy]}
  - {label: "🍿🎬", type: keyword, mood_keywords: [cozy]}
"""))
    snapshot = ConfigSnapshot.build(AppConfig(), cats, 1)
    assert selected_labels(["category-23114a", "abc"], snapshot) == ["A|B, [C]", "🍿🎬"]
    assert selected_labels(["Wait... What?"], snapshot) == ["Wait... What?"]
    assert snapshot.id_order() == [default_category_id("Wait... What?"), "abc", "category-23114a"]
    with pytest.raises(ApiError) as exc:
        selected_labels(["nope"], snapshot)
    assert exc.value.status == 400


def test_plexrecs_run_selection_takes_labels_or_ids(tmp_path):
    from plexrecs_assets.runner import UnknownCategoryError, select_categories

    _write(tmp_path, """categories:
  - {label: "Wait... What?", type: keyword, mood_keywords: [cozy]}
  - {id: abc, label: "A|B, [C]", type: keyword, mood_keywords: [cozy]}
  - {label: "🍿🎬", type: keyword, mood_keywords: [cozy]}
""")
    everything = [default_category_id("Wait... What?"), "abc", "category-23114a"]
    assert select_categories(tmp_path, None) == (everything, everything)
    assert select_categories(tmp_path, ["🍿🎬", "abc"]) == (["abc", "category-23114a"], everything)
    with pytest.raises(UnknownCategoryError, match="nope"):
        select_categories(tmp_path, ["nope"])
