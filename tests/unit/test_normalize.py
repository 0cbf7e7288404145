import unicodedata

import pytest

from kofu.tasks.matching.normalize import (
    address_key,
    fold_kanji,
    kana_key,
    kana_key_exact,
    name_key,
    name_key_exact,
    split_address,
)

# --- Names ------------------------------------------------------------------------------

# DOMAIN.md, "Names and readings": each variant and the form it folds to.
DOMAIN_VARIANTS = [
    ("髙橋", "高橋"),
    ("山﨑", "山崎"),
    ("齋藤", "斎藤"),
    ("齊藤", "斉藤"),
    ("渡邊", "渡辺"),
    ("渡邉", "渡辺"),
    ("𠮷田", "吉田"),
    ("澤田", "沢田"),
    ("濱田", "浜田"),
]


@pytest.mark.parametrize(("variant", "common"), DOMAIN_VARIANTS)
def test_each_domain_variant_folds_to_the_common_form(variant, common):
    assert name_key(variant, "太郎") == name_key(common, "太郎") == common + "太郎"
    assert name_key_exact(variant, "太郎") != name_key_exact(common, "太郎")


def test_sai_and_sei_stay_apart_in_every_form():
    # 斎 and 斉 are different characters (DOMAIN.md); their old forms follow each its own.
    sai = {name_key(f, "一郎") for f in ("斎藤", "齋藤")}
    sei = {name_key(f, "一郎") for f in ("斉藤", "齊藤")}
    assert sai == {"斎藤一郎"} and sei == {"斉藤一郎"}


def test_variation_selectors_invisibles_and_spaces_go():
    assert name_key("葛\U000e0100城", " 花子") == name_key_exact("葛城", "花子") == "葛城花子"
    assert name_key("辻\U000e0101", "\u3000花\ufe00子\u200b") == "辻花子"
    assert name_key_exact("髙 橋", "　太郎") == "髙橋太郎"


def test_nfkc_folds_compatibility_ideographs_and_width_but_not_variants():
    assert name_key_exact("\uf9dc", "") == "隆"  # CJK compatibility ideograph
    assert name_key_exact("ﾀﾛｳ", "") == "タロウ"
    assert name_key_exact("髙", "") == "髙"


def test_name_key_parts_fold_alone_as_they_do_together():
    assert name_key("髙橋", "") + name_key("𠮷郎", "") == name_key("髙橋", "𠮷郎")


def _jis_level1_kanji() -> list[str]:
    """The 2,965 kanji of JIS X 0208 level 1 (Shift_JIS 889F-9872)."""
    out = []
    for lead in range(0x88, 0x99):
        for trail in range(0x40, 0xFD):
            if not (0x88, 0x9F) <= (lead, trail) <= (0x98, 0x72):
                continue
            try:
                ch = bytes((lead, trail)).decode("shift_jis")
            except UnicodeDecodeError:
                continue
            out.append(ch)
    return out


# Level-1 pairs the MJ map joins that are the same character written two ways. Any other pair
# of common kanji joined by the map is a different character (王/玉, 切/功): the table must
# keep them apart (normalize._KEEP_APART).
_VETTED = (
    "穐秋穎頴園薗栢柏刈苅館舘駆駈鉱砿曾曽柁舵滝瀧弔吊島嶋灯燈禰祢埜野杯盃梅楳富冨舗鋪峰峯湧涌竜龍"
)
VETTED_LEVEL1_VARIANTS = {frozenset(_VETTED[i : i + 2]) for i in range(0, len(_VETTED), 2)}


def test_the_table_joins_no_two_common_kanji_beyond_the_vetted_variants():
    level1 = _jis_level1_kanji()
    assert len(level1) == 2965
    classes: dict[str, set[str]] = {}
    for ch in level1:
        classes.setdefault(fold_kanji(ch), set()).add(ch)
    joined = {frozenset(c) for c in classes.values() if len(c) > 1}
    assert joined == VETTED_LEVEL1_VARIANTS
    for pair in ("王玉", "切功", "着著", "師帥", "書昼", "斎斉"):
        assert fold_kanji(pair[0]) != fold_kanji(pair[1])


def test_folding_is_idempotent_and_leaves_non_kanji_alone():
    for text in ("髙﨑齋齊邊邉𠮷澤濱眞德渕", "さくらハイツ ABC 123"):
        once = fold_kanji(text)
        assert fold_kanji(once) == once
    assert fold_kanji("さくらハイツ ABC 123") == "さくらハイツ ABC 123"


# --- Readings ---------------------------------------------------------------------------


def test_readings_fold_script_width_and_spaces():
    assert kana_key("さとう", "たろう") == kana_key("サトウ", "タロウ") == kana_key("ｻﾄｳ", "ﾀﾛｳ")
    assert kana_key_exact("さとう ", " たろう") == kana_key_exact("ｻﾄｳ", "ﾀﾛｳ") == "サトウタロウ"


@pytest.mark.parametrize(
    "spellings",
    [
        ("タロウ", "タロー", "タロオ", "たろう"),  # DOMAIN: タロー/タロウ
        ("ユウコ", "ユーコ"),
        ("ケイコ", "ケーコ"),
        ("オオノ", "オーノ"),
        ("キョウコ", "キョーコ", "キヨウコ"),  # small kana and long vowel together
        ("シュンスケ", "シユンスケ"),
        ("ハットリ", "ハツトリ"),
        ("チヂミ", "チジミ"),  # ヂ/ジ
        ("ツヅキ", "ツズキ"),  # ヅ/ズ
        ("ヴァイオレット", "バイオレット"),  # ヴ/ブ and its row
        ("ヴィクトル", "ビクトル"),
        ("スティーヴン", "スティーブン"),
        ("ｶﾞｸﾄ", "ガクト", "がくと"),  # half-width voiced kana
        ("ジョン・スミス", "ジョン スミス", "ジョンスミス"),
    ],
)
def test_reading_spellings_share_one_key(spellings):
    assert len({kana_key(s, "") for s in spellings}) == 1, spellings


def test_long_vowel_folding_keeps_length_and_name_boundaries():
    assert kana_key("タロウ", "") == "タロー"
    assert kana_key("サト", "") != kana_key("サトウ", "")  # 里 and 佐藤
    assert kana_key("オノ", "") != kana_key("オオノ", "")  # 小野 and 大野
    assert kana_key("オオウチ", "") != kana_key("オオチ", "")  # 大内 and 大地
    # No long vowel across the family and given names: 伊藤 + 詩 is not イトー + タ.
    assert kana_key("イト", "ウタ") != kana_key("イトウ", "タ")
    assert kana_key("サトウ", "タロウ") == kana_key("サトウ", "") + kana_key("タロウ", "")


def test_exact_reading_key_keeps_spelling_differences():
    assert kana_key_exact("タロウ", "") != kana_key_exact("タロー", "")
    assert kana_key_exact("ツヅキ", "") != kana_key_exact("ツズキ", "")


# --- Addresses: DOMAIN.md forms ---------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "見本市中央1丁目2番3号",
        "見本市中央1-2-3",
        "見本市中央１－２－３",
        "見本市中央一丁目二番三号",
        "見本市中央一丁目2番3号",
        "見本市 中央 1丁目2-3",
        "見本市中央1丁目2番地3",
        "見本市中央1丁目2の3",
        "見本市中央１ー２ー３",
        "中央1-2-3",  # without the municipality
        "中央１丁目２番３号",
        "〒999-0011 見本市中央1丁目2番3号",
        "日本見本市中央1-2-3",
    ],
)
def test_address_forms_share_one_key(typed):
    assert address_key(typed) == "中央1-2-3"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("東京都千代田区霞が関1丁目2番3号", "霞ケ関1-2-3"),
        ("千代田区霞ヶ関一丁目2-3", "霞ケ関1-2-3"),
        ("霞ケ関1-2-3", "霞ケ関1-2-3"),
        ("東京都江戸川区一之江一丁目2番3号", "一の江1-2-3"),
        ("江戸川区一ノ江1-2-3", "一の江1-2-3"),
        ("一の江1-2-3", "一の江1-2-3"),
        ("神奈川県横浜市中区本町1-2-3", "本町1-2-3"),  # 政令市 and its ward
        ("横浜市中区本町1丁目2番3号", "本町1-2-3"),
        ("本町1-2-3", "本町1-2-3"),
        ("和歌山県東牟婁郡串本町串本1234", "串本1234"),  # 郡 and 町
        ("串本町串本1234", "串本町串本1234"),  # without its 郡: kept whole
        ("三重県四日市市諏訪町1-5", "諏訪町1-5"),
        ("愛知県蒲郡市旭町17番1号", "旭町17-1"),
        ("奈良県大和郡山市北郡山町1-2", "北郡山町1-2"),
        ("東京都千代田区九段南3丁目3-2", "九段南3-3-2"),  # 九 is part of the name
        ("見本市南が丘2丁目3番4号", "南ケ丘2-3-4"),
        ("見本市澤町1-2-3", "沢町1-2-3"),  # kanji variants fold as in names
    ],
)
def test_prefecture_municipality_ke_and_no_are_optional_forms(typed, key):
    assert address_key(typed) == key


def test_a_town_named_like_a_municipality_is_not_stripped_away():
    # Nothing would be left before the number: 中央町 is the town, not a municipality.
    assert address_key("中央町1-2-3") == "中央町1-2-3"
    assert address_key("見本市中央町1-2-3") == "中央町1-2-3"
    assert address_key("見本市本町１丁目２番３号") == "本町1-2-3"
    assert address_key("見本市緑町5丁目1番2号") == address_key("緑町5-1-2") == "緑町5-1-2"
    # A town in a city whose name starts with an old town's name (合併 towns).
    assert address_key("北海道岩見沢市栗沢町万字寿町１−２") == "栗沢町万字寿町1-2"
    assert address_key("栗沢町万字寿町1-2") == "栗沢町万字寿町1-2"


def test_no_between_numbers_is_a_separator_but_not_inside_names():
    assert address_key("見本市中央1丁目2の3") == "中央1-2-3"
    assert address_key("見本市さくらの里1-2-3") == "さくらの里1-2-3"
    assert address_key("北海道滝川市一の坂町西1-2") == address_key("一の坂町西１－２")
    assert address_key("一の坂町西1-2") == "一の坂町西1-2"


@pytest.mark.parametrize(
    ("typed", "split"),
    [
        ("見本市中央1丁目2番3号 さくらハイツ203号室", ("中央1-2-3", "さくらハイツ203")),
        ("見本市中央１丁目２番３号　さくらハイツ２０３", ("中央1-2-3", "さくらハイツ203")),
        ("中央1-2-3さくらハイツ203", ("中央1-2-3", "さくらハイツ203")),
        ("見本市桜台１丁目２－３　メゾン桜台Ａ棟２０５", ("桜台1-2-3", "メゾン桜台A棟205")),
        ("見本市中央1丁目2番3号 203", ("中央1-2-3", "203")),
        ("見本市中央1丁目2番3号203", ("中央1-2-3", "203")),  # 号 ends the street number
        ("見本市中央１丁目２番３号（さくらハイツ）", ("中央1-2-3", "さくらハイツ")),
        ("見本市中央1丁目2番3号", ("中央1-2-3", "")),
        ("〒100-0001 見本市中央1丁目1番1号 本庁舎1階", ("中央1-1-1", "本庁舎1階")),
    ],
)
def test_building_part_is_split_off(typed, split):
    assert split_address(typed) == split
    assert address_key(typed) == split[0]


def test_a_room_number_typed_as_a_fourth_number_is_a_known_limit():
    # 1-2-3-203 may be a room or a fourth street number; without a gazetteer it stays street.
    assert address_key("中央1-2-3-203") == "中央1-2-3-203"


# --- Addresses: cases from the public normaliser ----------------------------------------
# Inputs from geolonia/normalize-japanese-addresses, test/main.test.ts,
# test/main/main.test.ts and test/addresses/addresses.csv (MIT). Its output splits
# pref/city/town/addr and keeps the town's 丁目 in kanji; ours is one street key, so each
# case gives the key that output corresponds to. Comments give geolonia's town and addr.
GEOLONIA_SAME_STREET = [
    (
        "豊洲1-2-27",  # town 豊洲一丁目, addr 2-27
        [
            "東京都江東区豊洲1丁目2-27",
            "東京都江東区豊洲 1丁目2-27",
            "東京都江東区豊洲 1-2-27",
            "東京都 江東区 豊洲 1-2-27",
            "東京都江東区豊洲 １ー２ー２７",
            "東京都江東区豊洲 一丁目2-27",
            "江東区豊洲 一丁目2-27",
        ],
    ),
    (
        "千石4-15-7",  # town 千石四丁目, addr 15-7 (千 is part of the name)
        [
            "東京都文京区千石4丁目15-7",
            "東京都文京区千石四丁目15-7",
            "東京都文京区千石4丁目15－7",
            "東京都 文京区千石4丁目15－7",
            "東京都文京区 千石4丁目15－7",
            "東京都文京区千石4-15-7 ",
        ],
    ),
    (
        "上北沢4-2-1",  # town 上北沢四丁目, addr 2-1
        [
            "東京都世田谷区上北沢四丁目2-1",
            "東京都世田谷区上北沢4-2-1",
            "東京都世田谷区上北沢４ー２ー１",
            "東京都世田谷区上北沢４－２－１",
        ],
    ),
    (
        "盛岡駅西通2-9-1",  # town 盛岡駅西通二丁目, addr 9-1
        [
            "岩手県盛岡市盛岡駅西通２丁目９番地１号",
            "岩手県盛岡市盛岡駅西通２丁目９の１",
            "岩手県盛岡市盛岡駅西通２の９の１",
        ],
    ),
    (
        "藤橋町亥45-1",  # town 藤橋町亥, addr 45-1
        [
            "石川県七尾市藤橋町亥45番地1",
            "石川県七尾市藤橋町亥四十五番地1",
            "石川県七尾市藤橋町 亥 四十五番地1",
            "石川県七尾市藤橋町 亥 45-1",
            "七尾市藤橋町 亥 45-1",
        ],
    ),
    (
        "串本1234",  # city 東牟婁郡串本町, town 串本, addr 1234
        [
            "和歌山県東牟婁郡串本町串本1234",
            "和歌山県東牟婁郡串本町串本一二三四",
        ],
    ),
    (
        "大和大路2-537-1",
        ["京都府京都市東山区大和大路2-537-1", "京都府京都市東山区大和大路2丁目五百三十七の1"],
    ),
    ("新金岡町4-1-8", ["大阪府堺市北区新金岡町4丁1−8", "大阪府堺市北区新金岡町４丁１ー８"]),
    ("元町28-9", ["埼玉県所沢市元町２８番９号", "埼玉県所沢市元町２８－９"]),
    (
        "第1地割上村43-25",
        ["岩手県下閉伊郡普代村第１地割上村４３−２５", "下閉伊郡普代村第一地割字上村43-25"],
    ),
]


@pytest.mark.parametrize(("key", "forms"), GEOLONIA_SAME_STREET)
def test_geolonia_forms_of_one_street_share_its_key(key, forms):
    assert {address_key(f) for f in forms} == {key}


GEOLONIA_KEYS = [
    ("東京都江東区豊洲 四-2-27", "豊洲4-2-27"),  # town 豊洲四丁目
    ("東京都品川区東五反田２丁目５－１１", "東五反田2-5-11"),  # 東五反田二丁目 5-11
    ("東京都品川区西五反田2-31-6", "西五反田2-31-6"),
    ("東京都世田谷区上北沢４の９の２", "上北沢4-9-2"),
    ("大阪府大阪市中央区大手前２-１", "大手前2-1"),  # 大手前二丁目 1
    ("愛知県蒲郡市旭町17番1号", "旭町17-1"),
    ("栃木県宇都宮市一番町3-17", "1番町3-17"),  # town 一番町, addr 3-17
    ("栃木県宇都宮市一条三丁目17", "1条3-17"),  # town 一条三丁目: 条 counts, like 北3条
    ("京都府京都市中京区上本能寺前町488", "上本能寺前町488"),
    ("栃木県佐野市七軒町2201", "七軒町2201"),
    ("岩手県滝沢市後２６８−５６６", "後268-566"),
    ("岩手県花巻市下北万丁目１７４−１", "下北万丁目174-1"),
    ("和歌山県東牟婁郡串本町串本　833", "串本833"),
    ("大阪府高槻市八丁西町８番２１号", "八丁西町8-21"),  # 八丁 is a name
    ("兵庫県芦屋市松ノ内町５－１６", "松の内町5-16"),  # town 松ノ内町
    ("兵庫県芦屋市茶屋之町３－７", "茶屋の町3-7"),  # town 茶屋之町
    ("兵庫県西宮市松ケ丘町６－１５", "松ケ丘町6-15"),
    ("埼玉県さいたま市浦和区針ヶ谷１丁目５－１", "針ケ谷1-5-1"),  # town 針ヶ谷一丁目
    ("神奈川県横浜市都筑区茅ケ崎中央１１－１８", "茅ケ崎中央11-18"),
    ("大阪府大阪市淀川区十三東２丁目６－８", "十三東2-6-8"),
    ("京都府京都市上京区元百万遍町５５３－４", "元百万遍町553-4"),
    ("東京都千代田区四番町１番８", "4番町1-8"),  # town 四番町, addr 1-8
    ("大阪府堺市堺区住吉橋町１丁２－３", "住吉橋町1-2-3"),  # town 住吉橋町一丁
    ("兵庫県伊丹市大鹿７丁目９４番", "大鹿7-94"),
    ("大阪府守口市大日東町４", "大日東町4"),
    ("兵庫県尼崎市武庫之荘本町１丁目１３－３０", "武庫の荘本町1-13-30"),
    ("東京都中野区中央３丁目３０－９", "中央3-30-9"),
    ("宮城県大崎市古川大崎東亞1", "古川大崎東亜1"),  # 旧漢字: town 古川大崎字東亜
]


@pytest.mark.parametrize(("typed", "key"), GEOLONIA_KEYS)
def test_geolonia_cases(typed, key):
    assert address_key(typed) == key


@pytest.mark.parametrize(
    ("typed", "split"),
    [
        # other: 14-イ22 ジオロニアマンション / 14-A22 ジオロニアマンション
        (
            "東京都町田市木曽東四丁目１４ーイ２２ ジオロニアマンション",
            ("木曽東4-14-イ22", "ジオロニアマンション"),
        ),
        (
            "東京都町田市木曽東四丁目１４ーＡ２２ ジオロニアマンション",
            ("木曽東4-14-A22", "ジオロニアマンション"),
        ),
        (
            "東京都町田市木曽東四丁目一四━Ａ二二 ジオロニアマンション",
            ("木曽東4-14-A22", "ジオロニアマンション"),
        ),
        ("東京都文京区小石川1ビル名", ("小石川1", "ビル名")),  # town 小石川一丁目, other ビル名
    ],
)
def test_geolonia_building_cases(typed, split):
    assert split_address(typed) == split


def test_geolonia_decomposed_input_is_recomposed():
    typed = unicodedata.normalize("NFKD", "茨城県つくば市筑穂１丁目１０−４")
    assert address_key(typed) == "筑穂1-10-4"


# Geolonia cases we do not support: it needs its gazetteer of town names to know them.
GEOLONIA_UNSUPPORTED = [
    # 24-2-2-3-3 is 二十四軒二条二丁目3-3: a town name that is itself numbers.
    ("北海道札幌市西区24-2-2-3-3", "北海道札幌市西区二十四軒二条2丁目3番3号"),
    # 十二丁目 is a town name: with the city, the city stays (nothing else would be left).
    ("岩手県花巻市十二丁目１１９２", "十二丁目1192"),
    # A town without its 郡 (串本町 in 東牟婁郡) is not told apart from a town in a city.
    ("和歌山県串本町串本1234", "和歌山県東牟婁郡串本町串本1234"),
    # A Kyoto street direction (通…上る) before the town.
    ("京都府京都市中京区寺町通御池上る上本能寺前町488番地", "京都府京都市中京区上本能寺前町488"),
]


@pytest.mark.parametrize(("one", "other"), GEOLONIA_UNSUPPORTED)
def test_geolonia_cases_we_do_not_support(one, other):
    assert address_key(one) != address_key(other)
