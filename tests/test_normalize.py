import pytest

from tasks.normalize import address_key, kana_key, name_key


@pytest.mark.parametrize(
    "typed",
    [
        "見本市中央1丁目2番3号",
        "見本市中央1-2-3",
        "見本市中央１－２－３",
        "見本市中央一丁目二番三号",
        "見本市 中央 1丁目2-3",
        "見本市中央1丁目2番地3",
    ],
)
def test_address_forms_share_one_key(typed):
    assert address_key(typed) == "見本市中央1-2-3"


def test_building_part_is_kept():
    assert address_key("見本市桜台2丁目5番8号 さくらハイツ203") == "見本市桜台2-5-8-さくらハイツ203"


def test_readings_fold_script_width_and_spaces():
    assert kana_key("さとう", "たろう") == kana_key("サトウ", "タロウ") == kana_key("ｻﾄｳ", "ﾀﾛｳ")
    assert kana_key("サトウ ", " タロウ") == "サトウタロウ"


def test_names_drop_variation_selectors_and_spaces_but_keep_variants_apart():
    assert name_key("葛\U000e0100城", " 花子") == "葛城花子"
    # 斎 and 斉 are different characters and must stay apart.
    assert name_key("斎藤", "一郎") != name_key("斉藤", "一郎")


def test_no_between_numbers_is_a_separator_but_not_inside_names():
    assert address_key("見本市中央1丁目2の3") == "見本市中央1-2-3"
    assert address_key("見本市さくらの里1-2-3") == "見本市さくらの里1-2-3"
