"""The photo reason catalogue: each code with the words a resident reads, in Japanese and English.

Plain data with no imaging library behind it, so the review queue and the letters can read the
words without loading Pillow or OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhotoProblem:
    code: str
    message_ja: str
    message_en: str


PROBLEMS: dict[str, PhotoProblem] = {
    p.code: p
    for p in (
        PhotoProblem(
            "photo-empty",
            "写真のファイルが空です（0バイト）。撮影した写真をもう一度選んで提出してください",
            "The photo file is empty (0 bytes): choose the photo again and resubmit it.",
        ),
        PhotoProblem(
            "photo-not-jpeg",
            "写真はJPEG形式で提出してください",
            "The photo must be a JPEG file.",
        ),
        PhotoProblem(
            "photo-file-too-small",
            "写真のファイルサイズが小さすぎます（20KB以上にしてください）",
            "The photo file is too small (it must be at least 20 KB).",
        ),
        PhotoProblem(
            "photo-file-too-large",
            "写真のファイルサイズが大きすぎます（7MB以下にしてください）",
            "The photo file is too large (it must be at most 7 MB).",
        ),
        PhotoProblem(
            "photo-too-small-pixels",
            "写真の画素数が足りません（縦横とも480ピクセル以上にしてください）",
            "The photo is too small: each side must be at least 480 pixels.",
        ),
        PhotoProblem(
            "photo-too-large-pixels",
            "写真の画素数が多すぎます（縦横とも6000ピクセル以下にしてください）",
            "The photo is too large: each side must be at most 6000 pixels.",
        ),
        PhotoProblem(
            "photo-cmyk",
            "印刷用（CMYK）の画像は使えません。カラー（RGB）か白黒で保存してください",
            "CMYK images are not accepted: save the photo in colour (RGB) or black and white.",
        ),
        PhotoProblem(
            "photo-corrupt",
            "写真のファイルが壊れているため読み取れません。撮影し直してください",
            "The photo file is damaged and cannot be read: please take it again.",
        ),
        PhotoProblem(
            "no-face",
            "顔が確認できません。正面を向いた顔がはっきり写るように撮影してください",
            "No face could be found: take the photo facing the camera, with your face clearly visible.",
        ),
        PhotoProblem(
            "several-faces",
            "複数の人が写っています。申請者本人だけが写るように撮影してください",
            "More than one person is in the photo: take it with only yourself in the picture.",
        ),
        PhotoProblem(
            "face-too-small",
            "顔が小さすぎます。もう少し近づいて、胸から上が写るように撮影してください",
            "Your face is too small: move closer so that the photo shows you from the chest up.",
        ),
        PhotoProblem(
            "face-off-centre",
            "顔が中央にありません。顔が写真の中央に来るように撮影してください",
            "Your face is not in the middle: centre your face in the photo.",
        ),
        PhotoProblem(
            "face-tilted",
            "顔が傾いています。顔をまっすぐにして、カメラを傾けずに撮影してください",
            "Your head is tilted: hold your head straight and keep the camera level.",
        ),
        PhotoProblem(
            "face-turned",
            "顔が横や上下を向いています。顔を正面に向け、カメラをまっすぐ見て撮影してください",
            "Your face is turned to the side, up or down: face the camera and look straight at it.",
        ),
        PhotoProblem(
            "eyes-closed",
            "目を閉じています。両目をしっかり開けて撮影してください",
            "Your eyes are closed: keep both eyes open.",
        ),
        PhotoProblem(
            "eyes-not-visible",
            "目がはっきり写っていません。サングラスや色の付いた眼鏡を外し、眼鏡の反射や前髪で目が隠れないようにして撮影してください",
            "Your eyes cannot be seen: take off sunglasses or tinted glasses, and keep reflections on glasses and hair away from your eyes.",
        ),
        PhotoProblem(
            "mouth-open",
            "口が開いています。口を閉じて撮影してください",
            "Your mouth is open: close your mouth.",
        ),
        PhotoProblem(
            "head-covering",
            "帽子などで頭が覆われています。帽子やフードを外して撮影してください（宗教上・医療上の理由で外せない場合は窓口にご相談ください）",
            "Your head is covered: take off any hat, cap or hood (if you wear it for religious or medical reasons, ask at the counter).",
        ),
        PhotoProblem(
            "head-cut-off",
            "頭の上まで写るように、少し離れて撮影してください",
            "The top of your head is cut off: step back a little so the whole head is in the photo.",
        ),
        PhotoProblem(
            "chin-cut-off",
            "あごの下まで写るように、少し離れて撮影してください",
            "Your chin is cut off: step back a little so the photo shows you down to the shoulders.",
        ),
        PhotoProblem(
            "background-not-plain",
            "背景に物や模様、影が写っています。無地の壁などの前で撮影してください",
            "The background is not plain (objects, patterns or shadows): stand in front of a plain wall.",
        ),
        PhotoProblem(
            "too-dark",
            "写真が暗すぎます。明るい場所で、顔に光が当たるように撮影してください",
            "The photo is too dark: take it in a bright place with light on your face.",
        ),
        PhotoProblem(
            "too-bright",
            "写真が明るすぎます（白くとんでいます）。強い光や直射日光を避けて撮影してください",
            "The photo is too bright (washed out): avoid strong light and direct sunlight.",
        ),
        PhotoProblem(
            "low-contrast",
            "写真がぼんやりしていて顔の明暗がはっきりしません。明るさが均一な場所で撮影し直してください",
            "The photo is washed out and your features do not stand out: retake it in even light.",
        ),
        PhotoProblem(
            "blurred",
            "写真がぼやけています（ピンぼけ・手ぶれ）。カメラを固定し、ピントを合わせて撮影してください",
            "The photo is blurred (out of focus or camera shake): hold the camera still and focus on your face.",
        ),
        PhotoProblem(
            "colour-cast",
            "写真の色が不自然です。色の付いた照明やフィルター・加工を使わずに撮影してください",
            "The colours are unnatural: do not use coloured light, filters or editing.",
        ),
        PhotoProblem(
            "photo-too-old",
            "6か月以内に撮影した写真を使ってください",
            "The photo must have been taken within the last 6 months.",
        ),
    )
}
