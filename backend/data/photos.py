"""Real photos for training and evaluation, from Debian packages, with a deterministic split.

Sources (curated: photographs only; abstract/vector wallpapers, synthetic test charts, renders,
grayscale calibration shots and images smaller than 256 px are left out):

* ``plasma-workspace-wallpapers`` (/usr/share/wallpapers): the photographic themes in
  :data:`PLASMA_PHOTOS`, one image per theme (the largest landscape file under ``contents/images``).
* ``mate-backgrounds`` (/usr/share/backgrounds/mate): the ``nature`` folder (all photographs).
* ``opencv-doc`` (/usr/share/doc/opencv-doc/examples/data): the colour photographs in
  :data:`OPENCV_PHOTOS`, one of each stereo / sequence pair so that no scene appears twice.
* ``lomiri-wallpapers-16.04`` and ``lomiri-wallpapers-20.04`` (/usr/share/backgrounds): the photographs in
  :data:`LOMIRI_PHOTOS` (the renders and abstract images of these packages are left out). This source is
  opt-in (``sources``; :data:`DEFAULT_SOURCES` leaves it out), so every set built before it existed --
  and the shipped assets made from those sets -- is rebuilt exactly by its recorded command;
  ``promptiqa build-data --sources`` uses it.
* ``lxqt-themes`` (/usr/share/lxqt/wallpapers): the photographs in :data:`LXQT_PHOTOS` (landscapes, sky, flowers,
  butterflies; the logo and origami renders of the folder are left out). Licence: CC-BY-SA 3.0 (the folder's
  ``License`` file: LXQt Project Team, photos by stefonarch); ``debian/copyright`` covers them with the package's
  LGPL-2.1+. Opt-in like lomiri (``sources``). Desktop packages looked at and left out because they ship renders
  or abstract art only: ``ukui-wallpapers``, ``gnome-backgrounds`` (43), ``sway-backgrounds``,
  ``xfdesktop4-data``, ``lomiri-wallpapers`` (not -16.04/-20.04), ``eterm``.
* ``gcompris-qt-data`` (/usr/share/gcompris-qt/rcc): real photographs inside the Qt resource files of
  three activities, :data:`GCOMPRIS_ACTIVITIES` -- ``erase`` (animals), ``explore_monuments`` (buildings,
  landscapes) and the photographs of ``details`` (:data:`GCOMPRIS_DETAILS_PHOTOS`; its Van Gogh paintings are
  left out) -- read by ``backend.data.qt_resources`` and extracted once into ``<data dir>/photo-cache/``.
  Licences (the activities' README files, copied into ``debian/copyright``): CC-BY-SA 4.0, CC-BY 2.0-4.0,
  CC0 and public domain, Wikimedia Commons originals. Opt-in like lomiri (``sources``).
* the **unseen evaluation source** ``gcompris-unseen``: the photographs of four *other* GCompris activities,
  :data:`GCOMPRIS_UNSEEN_ACTIVITIES` (farm and world animals, world music, underwater scenes). Their photos get
  the split ``unseen`` (:data:`UNSEEN_SPLIT`), never ``train``/``validation``/``test``, so no builder's
  training or validation split can contain them: they are the fixed set every benchmark reports as "a photo
  source no model saw" and that no training run or model choice may read.
* scikit-image's bundled photos (:func:`skimage_photos`), for tests that must not depend on packages.

Every :class:`Photo` carries its ``source`` (the package it comes from); data builders record it per sample,
so that benchmarks report figures per source and leave-one-source-out (``backend.data.by_source``).

Split: a photo's split is decided by the SHA-256 of its key (``source/relative/path``), so it never
changes when photos are added or removed, and every distorted version of a photo lands in the same
split as the photo (held-out photos are never seen in training). Default fractions 70/15/15. Photos of
the unseen source always have the split ``unseen``.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend import settings
from backend.errors import InputError
from backend.images import load_image

APT_COMMAND = "apt-get install -y plasma-workspace-wallpapers mate-backgrounds opencv-doc"
EXTRA_APT_PACKAGES = "lomiri-wallpapers-16.04 lomiri-wallpapers-20.04"  # the opt-in ``lomiri`` source
LXQT_APT_PACKAGE = "lxqt-themes"  # the opt-in ``lxqt`` source
GCOMPRIS_APT_PACKAGE = "gcompris-qt-data"  # the opt-in ``gcompris`` source and the unseen evaluation source
UNSEEN_SOURCE = "gcompris-unseen"
SOURCES = ("plasma", "mate", "opencv", "lomiri", "gcompris", "lxqt", UNSEEN_SOURCE)
DEFAULT_SOURCES = ("plasma", "mate", "opencv")
TRAINING_SOURCES = ("plasma", "mate", "opencv", "lomiri", "gcompris", "lxqt")  # every source a model may train on
SPLITS = ("train", "validation", "test")
UNSEEN_SPLIT = "unseen"  # the split of every photo of the unseen source
DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)

PLASMA_DIR = Path("/usr/share/wallpapers")
MATE_DIR = Path("/usr/share/backgrounds/mate")
OPENCV_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
LOMIRI_DIR = Path("/usr/share/backgrounds")
GCOMPRIS_DIR = Path("/usr/share/gcompris-qt/rcc")
LXQT_DIR = Path("/usr/share/lxqt/wallpapers")

PLASMA_PHOTOS = (
    "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
    "Kite", "MilkyWay", "OneStandsOut", "Path", "summer_1am", "Volna",
)
MATE_PHOTO_FOLDERS = ("nature",)
OPENCV_PHOTOS = (
    "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg", "butterfly.jpg",
    "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png", "home.jpg", "left.jpg", "leuvenA.jpg",
    "messi5.jpg", "orange.jpg", "rubberwhale1.png", "squirrel_cls.jpg", "stuff.jpg",
)
LOMIRI_PHOTOS = (
    "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Kleiber_by_Lukas_Baubkus.jpg",
    "Picture_0B_by_freespace.jpg", "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg", "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
    "greentock_by_Peter_Nerlich.jpg", "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
    "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg",
)
LXQT_PHOTOS = (
    "Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "beam.png", "butterfly.png",
    "cloud.png", "drop.png", "flowers.png", "fog.jpg", "this-is-not-windows.jpg",
)
GCOMPRIS_ACTIVITIES = ("erase", "explore_monuments", "details")
GCOMPRIS_UNSEEN_ACTIVITIES = ("explore_farm_animals", "explore_world_animals", "explore_world_music", "clickgame")
GCOMPRIS_DETAILS_PHOTOS = (  # the photographs among the activity's backgrounds (the rest are paintings)
    "Chenonceau", "EgeskovSlotSpejling", "EilanDonanCastle", "FanoeWindmill", "GizahPyramids", "Louvre_2007_02_24_c",
    "NDP", "Nagoya", "Neuschwanstein", "OperaSidney", "TajMahal", "TourEiffel", "TowerBridgeLondon",
)
GCOMPRIS_MIN_SIDE = 256  # smaller pictures (icons, the details activity's puzzle pieces) are left out
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class Photo:
    key: str  # "source/relative/path", the identity used for the split
    path: Path
    source: str
    split: str


def split_of(key: str, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> str:
    """The split of a photo key: a uniform number from its SHA-256, cut at the cumulative fractions."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise InputError("Split fractions must be three non-negative numbers that sum to 1.")
    value = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0**64
    edges = np.cumsum(fractions)
    return SPLITS[int(np.searchsorted(edges, value, side="right").clip(0, 2))]


def _plasma(root: Path) -> list[tuple[str, Path]]:
    found = []
    for theme in PLASMA_PHOTOS:
        folder = root / theme / "contents" / "images"
        if not folder.is_dir():
            continue
        candidates = []
        for path in folder.iterdir():
            try:
                width, height = (int(v) for v in path.stem.split("x"))
            except ValueError:
                continue
            if path.suffix.lower() in IMAGE_SUFFIXES and width >= height:
                candidates.append((width * height, path))
        if candidates:
            found.append((f"plasma/{theme}", max(candidates)[1]))
    return found


def _mate(root: Path) -> list[tuple[str, Path]]:
    found = []
    for folder in MATE_PHOTO_FOLDERS:
        directory = root / folder
        if directory.is_dir():
            for path in sorted(directory.iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    found.append((f"mate/{folder}/{path.name}", path))
    return found


def _listed(source: str, root: Path, names) -> list[tuple[str, Path]]:
    return [(f"{source}/{name}", root / name) for name in names if (root / name).is_file()]


def _gcompris_keep(activity: str, inner: str) -> bool:
    """Whether a picture of an activity (its path after ``resource/``) is one of the curated photographs."""
    if activity != "details":
        return True
    stem = Path(inner).stem
    return stem.endswith("_background") and stem[: -len("_background")] in GCOMPRIS_DETAILS_PHOTOS


def extract_activity(rcc: Path, cache: Path, activity: str) -> list[tuple[str, Path]]:
    """The curated photographs of one GCompris activity: ``(path after resource/, cached file)``, extracted
    from its rcc file into ``cache/<activity>/`` once (re-extracted when the rcc file's size or time changes).
    Pictures under :data:`GCOMPRIS_MIN_SIDE` pixels on their shorter side are left out."""
    from PIL import Image

    from backend.data.qt_resources import read_resources

    folder = cache / activity
    stamp_path = folder / "extracted.json"
    stat = rcc.stat()
    stamp = {"rcc": rcc.name, "bytes": stat.st_size, "mtime": stat.st_mtime}
    if stamp_path.is_file():
        recorded = json.loads(stamp_path.read_text())
        if recorded.get("stamp") == stamp:
            return [(inner, folder / inner) for inner in recorded["photos"] if (folder / inner).is_file()]
    marker = f"/activities/{activity}/resource/"
    kept = []
    for name, blob in sorted(read_resources(rcc, (".webp", ".jpg", ".jpeg", ".png")).items()):
        if marker not in name:
            continue
        inner = name.split(marker, 1)[1]
        if not _gcompris_keep(activity, inner):
            continue
        with Image.open(io.BytesIO(blob)) as image:
            if min(image.size) < GCOMPRIS_MIN_SIDE or image.mode not in ("RGB", "L", "RGBA", "P"):
                continue
            if image.mode == "RGBA" and image.getextrema()[3][0] < 255:  # cut-outs and icons, not photos
                continue
        target = folder / inner
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        kept.append(inner)
    folder.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps({"stamp": stamp, "photos": kept}, indent=1))
    return [(inner, folder / inner) for inner in kept]


def photo_cache() -> Path:
    """Where photos extracted from containers (GCompris's rcc files) are kept: ``<data dir>/photo-cache``."""
    return settings.current().data_dir / "photo-cache"


def _gcompris(root: Path, source: str, activities) -> list[tuple[str, Path]]:
    found = []
    for activity in activities:
        rcc = root / f"{activity}.rcc"
        if rcc.is_file():
            for inner, path in extract_activity(rcc, photo_cache() / "gcompris", activity):
                found.append((f"{source}/{activity}/{inner}", path))
    return found


def _roots() -> dict[str, Path]:
    """Package folders; the setting ``HARMONYLAB_PHOTO_ROOT`` (a folder holding the same tree) overrides /usr/share."""
    folders = (("plasma", PLASMA_DIR), ("mate", MATE_DIR), ("opencv", OPENCV_DIR), ("lomiri", LOMIRI_DIR),
               ("gcompris", GCOMPRIS_DIR), ("lxqt", LXQT_DIR))
    prefix = settings.current().photo_root
    if prefix is not None:
        return {name: prefix / path.relative_to("/usr/share") for name, path in folders}
    return dict(folders)


def source_of(key: str) -> str:
    """The source of a photo key (``source/relative/path``)."""
    return str(key).split("/", 1)[0]


def list_photos(split: str | None = None, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
                sources=DEFAULT_SOURCES) -> list[Photo]:
    """The installed photos of ``sources`` (optionally of one split), sorted by key.

    Raises InputError naming the ``apt-get install`` command when none of the packages is installed.
    """
    if split is not None and split not in (*SPLITS, UNSEEN_SPLIT):
        raise InputError(f"Unknown split '{split}'; use one of {', '.join((*SPLITS, UNSEEN_SPLIT))}.")
    sources = tuple(dict.fromkeys(sources))  # a source named twice is read once
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown or not sources:
        raise InputError(f"Unknown photo source(s) {', '.join(unknown) or '(none given)'}; use some of {', '.join(SOURCES)}.")
    roots = _roots()
    readers = {"plasma": lambda: _plasma(roots["plasma"]), "mate": lambda: _mate(roots["mate"]),
               "opencv": lambda: _listed("opencv", roots["opencv"], OPENCV_PHOTOS),
               "lomiri": lambda: _listed("lomiri", roots["lomiri"], LOMIRI_PHOTOS),
               "lxqt": lambda: _listed("lxqt", roots["lxqt"], LXQT_PHOTOS),
               "gcompris": lambda: _gcompris(roots["gcompris"], "gcompris", GCOMPRIS_ACTIVITIES),
               UNSEEN_SOURCE: lambda: _gcompris(roots["gcompris"], UNSEEN_SOURCE, GCOMPRIS_UNSEEN_ACTIVITIES)}
    found = {source: readers[source]() for source in sources}
    if "lomiri" in found and not found["lomiri"]:
        raise InputError(f"The lomiri photo source is not installed; run `apt-get install -y {EXTRA_APT_PACKAGES}` "
                         "(as root, after apt-get update).")
    if "lxqt" in found and not found["lxqt"]:
        raise InputError(f"The lxqt photo source is not installed; run `apt-get install -y {LXQT_APT_PACKAGE}` "
                         "(as root, after apt-get update).")
    for source in ("gcompris", UNSEEN_SOURCE):
        if source in found and not found[source]:
            raise InputError(f"The {source} photo source is not installed; run `apt-get install -y "
                             f"{GCOMPRIS_APT_PACKAGE}` (as root, after apt-get update).")
    entries = [entry for source in sources for entry in found[source]]
    if not entries:
        raise InputError(f"No photo packages are installed; run `{APT_COMMAND}` (as root, after apt-get update).")
    photos = [Photo(key, path, source_of(key),
                    UNSEEN_SPLIT if source_of(key) == UNSEEN_SOURCE else split_of(key, fractions))
              for key, path in sorted(entries)]
    return [p for p in photos if split is None or p.split == split]


def draw_photo(keys: list[str], rng: np.random.Generator, balance_sources: bool = False) -> str:
    """A photo key drawn uniformly (one ``rng.integers`` draw, as the builders always did), or
    (``balance_sources``) a source drawn uniformly, then one of its photos."""
    if not balance_sources:
        return keys[int(rng.integers(len(keys)))]
    sources = sorted({source_of(k) for k in keys})
    source = sources[int(rng.integers(len(sources)))]
    members = [k for k in keys if source_of(k) == source]
    return members[int(rng.integers(len(members)))]


def unseen_photos() -> list[Photo]:
    """The fixed evaluation photos of the unseen source (split ``unseen``; never for training or model choice)."""
    return list_photos(sources=(UNSEEN_SOURCE,))


def load_photo(path: str | Path, max_side: int = 384) -> np.ndarray:
    """Decode a photo as RGB uint8, downscaled (area filter) so that its longer side is at most ``max_side``.

    JPEGs are decoded at a reduced scale first (Pillow's ``draft``), so 5K wallpapers load quickly.
    """
    from PIL import Image


    with Image.open(path) as image:
        image.draft("RGB", (max_side, max_side))
        image = image.convert("RGB")
        scale = max_side / max(image.size)
        if scale < 1:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        return load_image(image, name=f"photo '{Path(path).name}'")


def skimage_photos(max_side: int = 384) -> dict[str, np.ndarray]:
    """scikit-image's bundled colour photos (no package needed), downscaled like :func:`load_photo`."""
    import skimage.data
    from PIL import Image

    photos = {}
    for name in SKIMAGE_PHOTOS:
        array = np.ascontiguousarray(getattr(skimage.data, name)()[..., :3]).astype(np.uint8)
        image = Image.fromarray(array)
        scale = max_side / max(image.size)
        if scale < 1:
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
        photos[name] = np.asarray(image)
    return photos
