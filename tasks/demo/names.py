"""People and places for the synthetic demo data (see ``kofu.tasks.demo.generator``): name tables,
households, addresses in the fictional municipality 見本市, and the faces on their photos.

Surnames carry a rough frequency weight (about the number of bearers in units of 10,000,
so 佐藤 is the most common). A few variant-kanji spellings (髙橋, 齋藤, 渡邉, 山﨑, 𠮷田…) are
included with small weights because real registers hold them and matching must cope.

Given names carry the era they are typical of: ``o`` born up to 1964, ``m`` 1965 to 1994,
``n`` 1995 and later. Readings are the usual ones for each name, in full-width katakana.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Surname:
    kanji: str
    kana: str
    weight: int


@dataclass(frozen=True)
class GivenName:
    kanji: str
    kana: str
    era: str  # "o" (-1964), "m" (1965-1994), "n" (1995-)


@dataclass(frozen=True)
class Town:
    name: str
    postal_code: str
    chome: int  # number of 丁目 in the town
    buildings: tuple[str, ...]


_SURNAMES = """
佐藤 サトウ 184  鈴木 スズキ 178  高橋 タカハシ 139  田中 タナカ 131  伊藤 イトウ 106
渡辺 ワタナベ 105  山本 ヤマモト 104  中村 ナカムラ 103  小林 コバヤシ 101  加藤 カトウ 88
吉田 ヨシダ 83  山田 ヤマダ 81  佐々木 ササキ 68  山口 ヤマグチ 64  松本 マツモト 63
井上 イノウエ 61  木村 キムラ 57  林 ハヤシ 54  斎藤 サイトウ 53  清水 シミズ 52
山崎 ヤマザキ 49  森 モリ 46  池田 イケダ 45  橋本 ハシモト 45  阿部 アベ 45
石川 イシカワ 43  山下 ヤマシタ 42  中島 ナカジマ 41  石井 イシイ 41  小川 オガワ 40
前田 マエダ 39  岡田 オカダ 39  長谷川 ハセガワ 38  藤田 フジタ 38  後藤 ゴトウ 37
近藤 コンドウ 36  村上 ムラカミ 35  遠藤 エンドウ 33  青木 アオキ 33  坂本 サカモト 32
斉藤 サイトウ 31  福田 フクダ 31  太田 オオタ 31  西村 ニシムラ 30  藤井 フジイ 30
金子 カネコ 29  岡本 オカモト 29  藤原 フジワラ 29  中野 ナカノ 28  三浦 ミウラ 28
原田 ハラダ 28  中川 ナカガワ 27  松田 マツダ 27  竹内 タケウチ 27  小野 オノ 27
田村 タムラ 26  中山 ナカヤマ 26  和田 ワダ 26  石田 イシダ 25  森田 モリタ 25
上田 ウエダ 25  原 ハラ 25  内田 ウチダ 24  柴田 シバタ 24  酒井 サカイ 24
宮崎 ミヤザキ 24  横山 ヨコヤマ 24  高木 タカギ 23  安藤 アンドウ 23  宮本 ミヤモト 23
大野 オオノ 22  小島 コジマ 22  谷口 タニグチ 22  今井 イマイ 22  工藤 クドウ 22
高田 タカダ 21  増田 マスダ 21  丸山 マルヤマ 21  杉山 スギヤマ 21  村田 ムラタ 21
大塚 オオツカ 21  新井 アライ 20  小山 コヤマ 20  平野 ヒラノ 20  藤本 フジモト 20
河野 コウノ 20  上野 ウエノ 20  野口 ノグチ 19  武田 タケダ 19  松井 マツイ 19
千葉 チバ 19  岩崎 イワサキ 19  菅原 スガワラ 19  木下 キノシタ 19  久保 クボ 18
佐野 サノ 18  野村 ノムラ 18  松尾 マツオ 18  市川 イチカワ 18  菊地 キクチ 18
杉本 スギモト 18  古川 フルカワ 17  大西 オオニシ 17  島田 シマダ 17  水野 ミズノ 17
桜井 サクライ 17  高野 タカノ 17  渡部 ワタナベ 17  吉川 ヨシカワ 16  山内 ヤマウチ 16
西田 ニシダ 16  飯田 イイダ 16  菊池 キクチ 16  西川 ニシカワ 16  小松 コマツ 16
北村 キタムラ 16  安田 ヤスダ 16  五十嵐 イガラシ 16  川口 カワグチ 15  平田 ヒラタ 15
関 セキ 15  中田 ナカタ 15  久保田 クボタ 15  服部 ハットリ 15  岩田 イワタ 15
土屋 ツチヤ 15  川崎 カワサキ 15  福島 フクシマ 15  本田 ホンダ 15  辻 ツジ 14
樋口 ヒグチ 14  秋山 アキヤマ 14  田口 タグチ 14  永井 ナガイ 14  山中 ヤマナカ 14
中西 ナカニシ 14  吉村 ヨシムラ 14  川上 カワカミ 14  大橋 オオハシ 14  石原 イシハラ 14
松岡 マツオカ 14  浅野 アサノ 14  馬場 ババ 14  荒木 アラキ 14  大久保 オオクボ 13
野田 ノダ 13  小沢 オザワ 13  田辺 タナベ 13  川村 カワムラ 13  星野 ホシノ 13
黒田 クロダ 13  堀 ホリ 13  尾崎 オザキ 13  望月 モチヅキ 13  永田 ナガタ 13
熊谷 クマガイ 13  内藤 ナイトウ 13  松村 マツムラ 13  西山 ニシヤマ 13  大谷 オオタニ 13
平井 ヒライ 12  大島 オオシマ 12  岩本 イワモト 12  片山 カタヤマ 12  本間 ホンマ 12
早川 ハヤカワ 12  横田 ヨコタ 12  岡崎 オカザキ 12  荒井 アライ 12  大石 オオイシ 12
鎌田 カマタ 12  成田 ナリタ 12  宮田 ミヤタ 12  小田 オダ 12  石橋 イシバシ 12
篠原 シノハラ 12  須藤 スドウ 12  河合 カワイ 12  浜田 ハマダ 10  沢田 サワダ 9
髙橋 タカハシ 3  齋藤 サイトウ 3  渡邉 ワタナベ 3  澤田 サワダ 3  渡邊 ワタナベ 2
山﨑 ヤマザキ 2  齊藤 サイトウ 2  濱田 ハマダ 2  𠮷田 ヨシダ 1
"""

_MALE = """
o: 茂 シゲル  清 キヨシ  勇 イサム  進 ススム  実 ミノル  修 オサム  博 ヒロシ  浩 ヒロシ
   隆 タカシ  正 タダシ  明 アキラ  勝 マサル  稔 ミノル  豊 ユタカ  弘 ヒロシ  和夫 カズオ
   正夫 マサオ  幸雄 ユキオ  昭 アキラ  武 タケシ  義男 ヨシオ  三郎 サブロウ  次郎 ジロウ
   秀夫 ヒデオ  正雄 マサオ  敏夫 トシオ  信夫 ノブオ  一郎 イチロウ  太郎 タロウ  孝 タカシ
   功 イサオ  勉 ツトム  保 タモツ  満 ミツル  昇 ノボル  光男 ミツオ  健治 ケンジ
   正之 マサユキ  康夫 ヤスオ
m: 健一 ケンイチ  誠 マコト  剛 ツヨシ  聡 サトシ  学 マナブ  徹 トオル  直樹 ナオキ
   和也 カズヤ  達也 タツヤ  哲也 テツヤ  大介 ダイスケ  雄太 ユウタ  裕太 ユウタ  浩二 コウジ
   健二 ケンジ  誠一 セイイチ  正人 マサト  智也 トモヤ  亮太 リョウタ  直人 ナオト
   洋平 ヨウヘイ  慎也 シンヤ  秀樹 ヒデキ  裕介 ユウスケ  雅人 マサト  圭介 ケイスケ
   俊介 シュンスケ  良太 リョウタ  祐介 ユウスケ  一樹 カズキ  和樹 カズキ  浩之 ヒロユキ
   英樹 ヒデキ  賢治 ケンジ  雅彦 マサヒコ  信也 シンヤ  克也 カツヤ  悟 サトル  拓也 タクヤ
   健太 ケンタ  翔太 ショウタ  大輝 ダイキ  翔平 ショウヘイ  康平 コウヘイ  亮 リョウ  健 ケン
n: 蓮 レン  陽翔 ハルト  湊 ミナト  悠真 ユウマ  大翔 ヒロト  樹 イツキ  悠人 ユウト  陸 リク
   颯太 ソウタ  蒼 アオイ  悠斗 ユウト  大和 ヤマト  陽太 ヨウタ  結翔 ユイト  朝陽 アサヒ
   律 リツ  奏太 ソウタ  優斗 ユウト  海斗 カイト  拓海 タクミ  翼 ツバサ  涼 リョウ  蒼空 ソラ
   新 アラタ  颯 ハヤテ  隼人 ハヤト  勇気 ユウキ  大地 ダイチ  駿 シュン  航 ワタル  歩 アユム
   陽斗 ハルト  大樹 ダイキ  翔 ショウ  湊斗 ミナト  光 ヒカル  凌 リョウ
"""

_FEMALE = """
o: 和子 カズコ  幸子 サチコ  節子 セツコ  京子 キョウコ  洋子 ヨウコ  文子 フミコ  春子 ハルコ
   千代子 チヨコ  正子 マサコ  清子 キヨコ  光子 ミツコ  富子 トミコ  美代子 ミヨコ  君子 キミコ
   道子 ミチコ  弘子 ヒロコ  芳子 ヨシコ  花子 ハナコ  恵子 ケイコ  久子 ヒサコ  悦子 エツコ
   孝子 タカコ  和代 カズヨ  静子 シズコ  信子 ノブコ  昭子 アキコ  明美 アケミ  陽子 ヨウコ
   順子 ジュンコ  典子 ノリコ  紀子 ノリコ  美智子 ミチコ  恵美子 エミコ
m: 裕子 ユウコ  久美子 クミコ  智子 トモコ  直美 ナオミ  恵美 エミ  由美子 ユミコ  真由美 マユミ
   由美 ユミ  美穂 ミホ  香織 カオリ  愛子 アイコ  千尋 チヒロ  沙織 サオリ  麻美 アサミ
   美香 ミカ  綾 アヤ  瞳 ヒトミ  静香 シズカ  早紀 サキ  美紀 ミキ  理恵 リエ  亜美 アミ
   舞 マイ  麻衣 マイ  友美 トモミ  加奈子 カナコ  絵美 エミ  真理子 マリコ  和美 カズミ
   恵 メグミ  梓 アズサ  彩 アヤ  愛 アイ  美咲 ミサキ  奈々 ナナ  夏美 ナツミ  明日香 アスカ
   由佳 ユカ  桃子 モモコ  彩花 アヤカ  真央 マオ  七海 ナナミ  遥 ハルカ
n: 陽菜 ヒナ  結衣 ユイ  葵 アオイ  凛 リン  さくら サクラ  結菜 ユイナ  芽依 メイ  莉子 リコ
   紬 ツムギ  陽葵 ヒマリ  澪 ミオ  杏 アン  咲良 サクラ  美羽 ミウ  心春 コハル  結愛 ユア
   優花 ユウカ  美月 ミヅキ  楓 カエデ  美優 ミユ  萌 モエ  彩乃 アヤノ  莉央 リオ  杏奈 アンナ
   結月 ユヅキ  琴音 コトネ  栞 シオリ  柚希 ユズキ  美桜 ミオ  茜 アカネ  玲奈 レナ  日菜 ヒナ
   詩 ウタ  菜々子 ナナコ  里奈 リナ  美奈 ミナ
"""


def _parse_surnames(text: str) -> tuple[Surname, ...]:
    words = text.split()
    return tuple(
        Surname(words[i], words[i + 1], int(words[i + 2])) for i in range(0, len(words), 3)
    )


def _parse_given(text: str) -> tuple[GivenName, ...]:
    names: list[GivenName] = []
    era = ""
    words = iter(text.split())
    for word in words:
        if word.endswith(":"):
            era = word[:-1]
            continue
        names.append(GivenName(word, next(words), era))
    return tuple(names)


SURNAMES: tuple[Surname, ...] = _parse_surnames(_SURNAMES)
MALE_NAMES: tuple[GivenName, ...] = _parse_given(_MALE)
FEMALE_NAMES: tuple[GivenName, ...] = _parse_given(_FEMALE)

MUNICIPALITY = "見本市"

# Fictional towns (町名) of 見本市, each with its own postal code in the 999 range,
# and the apartment buildings that stand in it.
TOWNS: tuple[Town, ...] = (
    Town("中央", "999-0011", 4, ("コーポ中央", "見本レジデンス")),
    Town("本町", "999-0012", 3, ("本町マンション",)),
    Town("桜台", "999-0013", 3, ("さくらハイツ", "メゾン桜台")),
    Town("緑町", "999-0014", 5, ("グリーンハイツ", "緑町住宅")),
    Town("旭町", "999-0015", 3, ("ハイツ旭",)),
    Town("東町", "999-0021", 4, ("サンライズ東町",)),
    Town("西町", "999-0022", 2, ("パークサイド西町",)),
    Town("南が丘", "999-0023", 3, ("南が丘団地", "ヴィラ南が丘")),
    Town("北野", "999-0031", 2, ("北野荘",)),
    Town("若葉", "999-0032", 4, ("メゾン若葉", "若葉コーポ")),
)

OLDEST_YEAR, YOUNGEST_YEAR = 1935, 2024
BUILDING_SHARE = 0.25  # of households; about 20% of people, as flats hold smaller households
_SURNAME_WEIGHTS = [s.weight for s in SURNAMES]


def pick_surname(rng: random.Random) -> Surname:
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def pick_given_name(rng: random.Random, sex: str, year: int, avoid: set[str]) -> GivenName:
    """Mostly a name typical of the birth year's era; never one in ``avoid`` (siblings)."""
    table = MALE_NAMES if sex == "1" else FEMALE_NAMES
    era = "o" if year <= 1964 else "m" if year <= 1994 else "n"
    typical = [g for g in table if g.era == era]
    while True:
        given = rng.choice(typical if rng.random() < 0.85 else table)
        if given.kanji not in avoid:
            return given


def birth_in(rng: random.Random, year: int) -> date:
    start = date(year, 1, 1)
    return start + timedelta(days=rng.randrange((date(year + 1, 1, 1) - start).days))


def household_members(rng: random.Random) -> list[tuple[str, date]]:
    """(sex, birth date) of each member of a new household, the head first."""
    kind = rng.choices(("single", "couple", "family", "three"), weights=(30, 25, 35, 10))[0]
    if kind == "single":
        return [(rng.choice("12"), birth_in(rng, rng.randint(OLDEST_YEAR, 2006)))]
    head = rng.randint(OLDEST_YEAR, 1998) if kind == "couple" else rng.randint(1960, 1998)
    wife = min(max(head + rng.randint(-2, 4), OLDEST_YEAR), 2000)
    members = [("1", birth_in(rng, head)), ("2", birth_in(rng, wife))]
    if kind in ("family", "three"):
        for _ in range(rng.choices((1, 2, 3), weights=(40, 45, 15))[0]):
            year = wife + rng.randint(24, 40)
            if year <= YOUNGEST_YEAR:
                members.append((rng.choice("12"), birth_in(rng, year)))
    if kind == "three":  # a parent of the head lives with them
        parent = max(head - rng.randint(25, 33), OLDEST_YEAR)
        members.insert(1, (rng.choice("12"), birth_in(rng, parent)))
    return members


class AddressBook:
    """Unique household addresses in 見本市: houses, and rooms in apartment buildings.

    An address reads ``見本市{町名}{丁目}丁目{番}番{号}号``, followed for a flat by a space,
    the building name and the room number.
    """

    def __init__(self, rng: random.Random, residents: int) -> None:
        self.rng = rng
        self.used: set[str] = set()
        chome = sum(t.chome for t in TOWNS)
        # Enough 番 for a large register: about four times the house addresses it needs.
        self.max_ban = max(30, math.ceil(4 * 0.3 * residents / (chome * 25)))
        self.sites = {(t.name, b): self._numbers(t) for t in TOWNS for b in t.buildings}
        # A house never stands at a building's number.
        self.used.update(f"{MUNICIPALITY}{t}{site}" for (t, _), site in self.sites.items())

    def _numbers(self, town: Town) -> str:
        rng = self.rng
        chome, ban, go = (
            rng.randint(1, town.chome),
            rng.randint(1, self.max_ban),
            rng.randint(1, 25),
        )
        return f"{chome}丁目{ban}番{go}号"

    def new_household(self) -> tuple[str, str]:
        """(postal code, address) not given to any household before."""
        rng = self.rng
        town = rng.choice(TOWNS)
        for attempt in range(1000):
            if attempt < 10 and rng.random() < BUILDING_SHARE:
                building = rng.choice(town.buildings)
                room = rng.randint(1, 4) * 100 + rng.randint(1, 8)
                site = self.sites[(town.name, building)]
                address = f"{MUNICIPALITY}{town.name}{site} {building}{room}"
            else:
                address = f"{MUNICIPALITY}{town.name}{self._numbers(town)}"
            if address not in self.used:
                self.used.add(address)
                return town.postal_code, address
        raise RuntimeError("no free address left in 見本市")

    def anywhere(self) -> tuple[str, str]:
        """Any plausible house address (for a person who is not in the register)."""
        town = self.rng.choice(TOWNS)
        return town.postal_code, f"{MUNICIPALITY}{town.name}{self._numbers(town)}"


# ---------------------------------------------------------------------------- faces

# A real face detector finds no face in a drawing, so the photos use the one real portrait
# that ships inside a package: scikit-image's ``astronaut`` (Eileen Collins, NASA, public
# domain). She is cut out of her studio once and placed, at any size and position, on a
# backdrop: plain for a good photo, busy for a bad one.
SOURCE_FACE = (224.0, 116.0, 100.0)  # centre x, centre y and width of her face in the source
# Her crown is this many face widths above her face centre, her chin this many below it.
CROWN_ABOVE_FACE, CHIN_BELOW_FACE = 1.02, 0.73
_BODY_EXTENSION = 600  # rows added below the source so that a small figure is not cut off
BACKDROP_COLOURS = ((228, 230, 233), (214, 226, 240), (238, 237, 231), (206, 211, 216))
CLUTTER_SOURCES = ("coffee", "rocket", "chelsea", "hubble_deep_field", "immunohistochemistry")


@dataclass(frozen=True)
class Framing:
    face_width: float = 0.34  # face width over picture width
    centre_x: float = 0.5  # face centre over picture width
    centre_y: float = 0.42  # face centre over picture height
    roll_deg: float = 0.0  # head tilt, clockwise


def portrait(
    rng: random.Random,
    size: tuple[int, int],
    framing: Framing = Framing(),
    backdrop: Image.Image | None = None,
    grain: float = 2.5,
) -> Image.Image:
    """An RGB picture of the astronaut framed as asked, on ``backdrop`` (default: plain)."""
    import cv2

    w, h = size
    person = _cutout()
    scale = framing.face_width * w / SOURCE_FACE[2]
    fx, fy = SOURCE_FACE[:2]
    if scale < 1:  # shrink first, with area averaging: the warp below does not filter
        person = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fx, fy, scale = fx * scale, fy * scale, 1.0
    # Her face centre goes to the framing's centre, turned by the roll about that point.
    matrix = cv2.getRotationMatrix2D((fx, fy), -framing.roll_deg, scale)
    matrix[:, 2] += (framing.centre_x * w - fx, framing.centre_y * h - fy)
    placed = cv2.warpAffine(person, matrix, size, flags=cv2.INTER_CUBIC)
    if backdrop is None:
        backdrop = plain_backdrop(rng, size)
    ground = np.asarray(backdrop.convert("RGB").resize(size), np.float32)
    alpha = placed[..., 3:].astype(np.float32) / 255
    pixels = ground + alpha * (placed[..., :3].astype(np.float32) - ground)
    return Image.fromarray(_with_grain(rng, pixels, grain))


def add_grain(rng: random.Random, picture: Image.Image, sigma: float) -> Image.Image:
    """Sensor noise: it gives a JPEG the bulk of a real photo."""
    return Image.fromarray(_with_grain(rng, np.asarray(picture, np.float32), sigma), picture.mode)


def _with_grain(rng: random.Random, pixels: np.ndarray, sigma: float) -> np.ndarray:
    if sigma > 0:
        gen = np.random.default_rng(rng.getrandbits(64))
        noise = gen.standard_normal(pixels.shape[:2], dtype=np.float32) * sigma
        pixels = pixels + (noise[..., None] if pixels.ndim == 3 else noise)
    return np.clip(pixels + 0.5, 0, 255).astype(np.uint8)


def plain_backdrop(
    rng: random.Random, size: tuple[int, int], colour: tuple[int, int, int] | None = None
) -> Image.Image:
    """A wall or studio sheet: one light colour, a faint mottle, darker towards the bottom."""
    import cv2

    colour = colour or rng.choice(BACKDROP_COLOURS)
    gen = np.random.default_rng(rng.getrandbits(64))
    mottle = cv2.resize(gen.normal(0, 4, (3, 4)).astype(np.float32), size, cv2.INTER_CUBIC)
    field = mottle + np.linspace(0, -12, size[1], dtype=np.float32)[:, None]
    pixels = np.asarray(colour, np.float32) + field[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def cluttered_backdrop(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A busy room: a mosaic of the real photographs scikit-image ships (a coffee cup on a
    table, a rocket, a cat, a star field, a microscope slide)."""
    from skimage import data

    w, h = size
    mosaic = Image.new("RGB", size)
    cols, rows = rng.choice((2, 3)), rng.choice((2, 3))
    names = list(CLUTTER_SOURCES)
    for i in range(cols):
        for j in range(rows):
            tile = Image.fromarray(getattr(data, names[(i * rows + j + rng.randrange(5)) % 5])())
            box = (i * w // cols, j * h // rows, (i + 1) * w // cols, (j + 1) * h // rows)
            mosaic.paste(tile.resize((box[2] - box[0], box[3] - box[1])), box[:2])
    return mosaic


@functools.cache
def _cutout() -> np.ndarray:
    """The astronaut without her studio (flag, model shuttle), as RGBA pixels; computed once.

    GrabCut separates her from the studio, started from a rough hand-drawn outline of her
    head and suit. Her suit is extended downwards so that a small figure still reaches the
    bottom of the picture.
    """
    import cv2
    from skimage import data

    rgb = data.astronaut()
    mask = np.full(rgb.shape[:2], cv2.GC_BGD, np.uint8)
    outline = np.array([[140, 5], [310, 5], [320, 140], [370, 300], [370, 512], [15, 512]])
    cv2.fillPoly(mask, [np.vstack([outline, [[30, 300], [110, 170]]])], cv2.GC_PR_FGD)
    cv2.ellipse(mask, (225, 105), (50, 70), 0, 0, 360, cv2.GC_FGD, -1)  # head
    cv2.ellipse(mask, (210, 222), (88, 62), 0, 0, 360, cv2.GC_FGD, -1)  # collar ring
    cv2.rectangle(mask, (90, 290), (330, 511), cv2.GC_FGD, -1)  # suit
    cv2.setRNGSeed(0)  # GrabCut's clustering is seeded: the same cut-out every time
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), mask, None, *models, 5, cv2.GC_INIT_WITH_MASK)
    alpha = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.2)  # a soft edge, as a lens gives
    rgba = np.dstack([rgb, alpha])
    return cv2.copyMakeBorder(rgba, 0, _BODY_EXTENSION, 0, 0, cv2.BORDER_REPLICATE)
