"""i2i data combine / split / check: A | B pairs, deterministic splits, what a folder is read as."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data import AlignedDataset, Geometry, read_image, write_image
from i2i.data.check import check_folder
from i2i.data.layouts import detect_layout
from i2i.data.prepare import combine_folders, split_counts, split_folder
from i2i.data.resize import resize

runner = CliRunner()


def _image(seed: int, height: int = 8, width: int = 8, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def _write(path: Path, image: np.ndarray) -> np.ndarray:
    write_image(path, image)
    return image


def test_combine_pairs_names_per_split_and_reports_the_rest(tmp_path: Path) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    pairs = {
        n: (_write(a / "train" / f"{n}.png", _image(n)), _write(b / "train" / f"{n}.png", _image(10 + n)))
        for n in (1, 2)
    }
    _write(a / "train" / "3.png", _image(3))  # no B partner
    _write(b / "train" / "4.png", _image(4))  # no A partner
    test_a, test_b = _write(a / "test" / "5.png", _image(5)), _write(b / "test" / "5.png", _image(15))
    report = combine_folders(a, b, tmp_path / "AB")
    assert report.written == {"test": 1, "train": 2}
    assert report.only_a == [a / "train" / "3.png"] and report.only_b == [b / "train" / "4.png"]
    assert not report.ok
    for n, (image_a, image_b) in pairs.items():  # PNG is lossless: A on the left, B on the right
        assert np.array_equal(
            read_image(tmp_path / "AB" / "train" / f"{n}.png"), np.concatenate([image_a, image_b], 1)
        )
    assert np.array_equal(read_image(tmp_path / "AB" / "test" / "5.png"), np.concatenate([test_a, test_b], 1))
    # the result is the aligned layout: its halves are the two sides again
    item = AlignedDataset(tmp_path / "AB", "test", Geometry(train=False, preprocess="none", flip=False))[0]
    assert np.array_equal(np.rint((item["b"].numpy().transpose(1, 2, 0) + 1) * 127.5), test_b)  # type: ignore[union-attr]


def test_combine_skips_or_resizes_pairs_of_different_sizes(tmp_path: Path) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    image_a = _write(a / "x.png", _image(1, 8, 8))
    image_b = _write(b / "x.png", _image(2, 12, 10))
    gray_a = _write(a / "g.png", _image(3, 8, 8, 1))
    color_b = _write(b / "g.png", _image(4, 8, 8))
    skipped = combine_folders(a, b, tmp_path / "skip")
    assert skipped.written == {"": 1} and [m[:2] for m in skipped.size_mismatch] == [
        (a / "x.png", b / "x.png")
    ]
    assert "8x8 vs 10x12 (WxH)" in skipped.size_mismatch[0][2]
    assert not (tmp_path / "skip" / "x.png").exists()
    # gray beside colour becomes colour: the gray side repeated in R, G and B
    assert np.array_equal(
        read_image(tmp_path / "skip" / "g.png"), np.concatenate([np.repeat(gray_a, 3, 2), color_b], 1)
    )
    resized = combine_folders(a, b, tmp_path / "resized", resize_b=True)
    assert resized.ok and resized.resized == 1
    expected = np.concatenate([image_a, resize(image_b, 8, 8)], 1)
    assert np.array_equal(read_image(tmp_path / "resized" / "x.png"), expected)


def test_combine_cli_lists_what_it_left_out_and_exits_1(tmp_path: Path) -> None:
    _write(tmp_path / "A" / "1.png", _image(1))
    _write(tmp_path / "B" / "1.png", _image(2))
    _write(tmp_path / "A" / "lonely.png", _image(3))
    result = runner.invoke(
        app, ["data", "combine", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "AB")]
    )
    assert result.exit_code == 1
    assert "combined 1 pairs" in result.output and "1 left out, only in A" in result.output
    assert str(tmp_path / "A" / "lonely.png") in result.output
    again = runner.invoke(
        app, ["data", "combine", str(tmp_path / "A"), str(tmp_path / "B"), "--out", str(tmp_path / "AB")]
    )
    assert again.exit_code == 2 and "already exists" in again.output  # nothing is overwritten
    missing = runner.invoke(
        app, ["data", "combine", str(tmp_path / "nope"), str(tmp_path / "B"), "-o", str(tmp_path / "x")]
    )
    assert (
        missing.exit_code == 2
        and missing.output.startswith("error: ")
        and "nope: no such folder" in missing.output
    )


def test_split_counts_round_and_keep_a_positive_fraction() -> None:
    assert split_counts(100, 0.1, 0.05) == {"train": 85, "val": 5, "test": 10}
    assert split_counts(3, 0.1, 0.0) == {"train": 2, "val": 0, "test": 1}
    with pytest.raises(ValueError, match="leave some to train"):
        split_counts(2, 0.5, 0.5 - 1e-9)
    with pytest.raises(ValueError, match="fractions"):
        split_counts(10, 1.0, 0.0)


def test_split_is_deterministic_and_links_or_copies(tmp_path: Path) -> None:
    src = tmp_path / "all"
    for n in range(20):
        _write(src / f"{n:02d}.png", _image(n, 4, 4))

    def assignment(out: Path) -> dict[str, set[str]]:
        return {split: {p.name for p in (out / split).glob("*.png")} for split in ("train", "val", "test")}

    report = split_folder(src, tmp_path / "s1", test=0.1, val=0.1, seed=3)
    first = assignment(tmp_path / "s1")
    assert report.counts == {"train": 16, "val": 2, "test": 2}
    assert {n: len(v) for n, v in first.items()} == {"train": 16, "val": 2, "test": 2}
    assert set().union(*first.values()) == {f"{n:02d}.png" for n in range(20)}
    split_folder(src, tmp_path / "s2", test=0.1, val=0.1, seed=3, mode="link")
    assert assignment(tmp_path / "s2") == first  # same seed, same split
    name = next(iter(first["test"]))
    assert os.stat(tmp_path / "s2" / "test" / name).st_ino == os.stat(src / name).st_ino  # a hard link
    assert os.stat(tmp_path / "s1" / "test" / name).st_ino != os.stat(src / name).st_ino  # a copy
    assert (tmp_path / "s1" / "test" / name).read_bytes() == (src / name).read_bytes()
    split_folder(src, tmp_path / "s3", test=0.1, val=0.1, seed=4)
    assert assignment(tmp_path / "s3") != first
    with pytest.raises(ValueError, match="already exists"):
        split_folder(src, tmp_path / "s1", test=0.1, val=0.1, seed=3)
    with pytest.raises(ValueError, match="inside the folder being split"):
        split_folder(src, src / "out")


def test_split_keeps_pairs_together_in_the_paired_and_unaligned_layouts(tmp_path: Path) -> None:
    src = tmp_path / "pairs"
    for n in range(10):
        _write(src / "A" / f"{n}.png", _image(n, 4, 4))
        _write(src / "B" / f"{n}.jpg", _image(n + 50, 4, 4))
    split_folder(src, tmp_path / "paired", test=0.3)
    for split in ("train", "test"):
        names_a = {p.stem for p in (tmp_path / "paired" / split / "A").iterdir()}
        names_b = {p.stem for p in (tmp_path / "paired" / split / "B").iterdir()}
        assert names_a == names_b and len(names_a) == (7 if split == "train" else 3)
    assert detect_layout(tmp_path / "paired") == "paired"
    result = runner.invoke(
        app, ["data", "split", str(src), "--out", str(tmp_path / "cyc"), "--test", "0.3", "--unaligned"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "cyc").iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert detect_layout(tmp_path / "cyc") == "unaligned"


def test_check_reports_layout_counts_sizes_and_unreadable_files(tmp_path: Path) -> None:
    root = tmp_path / "facades"
    _write(root / "train" / "1.png", _image(1, 8, 16))
    _write(root / "train" / "2.png", _image(2, 10, 20))
    _write(root / "test" / "3.png", _image(3, 8, 16))
    (root / "train" / "bad.jpg").write_bytes(b"\xff\xd8not a jpeg")
    result = check_folder(root)
    assert (result.layout, result.detected) == ("aligned", True)
    by_split = {f.split: f for f in result.folders}
    assert (by_split["train"].count, by_split["test"].count) == (3, 1)
    assert by_split["train"].size_range() == "16x8 .. 20x10" and by_split["test"].size_range() == "16x8"
    assert [(p.name, why) for p, why in by_split["train"].unreadable] == [
        ("bad.jpg", "truncated JPEG (no end-of-image marker)")
    ]
    cli = runner.invoke(app, ["data", "check", str(root)])
    assert cli.exit_code == 1
    assert "layout aligned (detected)" in cli.output and "unreadable (1):" in cli.output
    assert str(root / "train" / "bad.jpg") in cli.output
    (root / "train" / "bad.jpg").unlink()
    assert runner.invoke(app, ["data", "check", str(root)]).exit_code == 0


def test_check_paired_lists_names_without_a_partner(tmp_path: Path) -> None:
    root = tmp_path / "p"
    for n in range(3):
        _write(root / "train" / "A" / f"{n}.png", _image(n))
    for n in (0, 1):
        _write(root / "train" / "B" / f"{n}.png", _image(n))
    result = check_folder(root)
    assert result.layout == "paired" and not result.ok
    rows = {(f.split, f.domain): (f.count, [p.name for p in f.unmatched]) for f in result.folders}
    assert rows == {("train", "A"): (3, ["2.png"]), ("train", "B"): (2, [])}
    given = runner.invoke(app, ["data", "check", str(root), "--layout", "paired"])
    assert "layout paired (given)" in given.output and "no partner of the same name (1)" in given.output


def test_check_of_a_folder_with_no_layout_says_what_it_expected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["data", "check", str(tmp_path / "empty")])
    assert (
        result.exit_code == 2
        and "cannot tell the layout" in result.output
        and "pass --layout" in result.output
    )
