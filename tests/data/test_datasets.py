from __future__ import annotations

import numpy as np
import pytest
import torch

from paretoul import DATASETS, UserError, load_dataset


def test_registry_lists_the_datasets() -> None:
    assert {"digits", "cifar10", "cifar100"} <= set(DATASETS.names())


def test_digits_is_embedded_and_fixed() -> None:
    a = load_dataset("digits")
    b = load_dataset("digits")
    assert len(a.train_y) + len(a.test_y) == 1797
    assert a.input_shape == (1, 8, 8) and a.num_classes == 10
    assert torch.equal(a.train_y, b.train_y) and torch.equal(a.test_x, b.test_x)
    assert set(a.test_y.tolist()) == set(range(10))


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_torchvision_loader_reads_cifar_format(tmp_path, fake_cifar, name: str) -> None:
    written = fake_cifar(name)
    data = load_dataset(name, tmp_path, verify=False)
    assert data.input_shape == (3, 32, 32)
    assert data.num_classes == (10 if name == "cifar10" else 100)
    assert data.augment
    assert data.train_y.tolist() == written["train_y"].tolist()
    assert data.test_y.tolist() == written["test_y"].tolist()
    # CIFAR rows are 1024 R, then G, then B values, row-major 32x32: undo the normalisation.
    from paretoul.data.cifar import _STATS

    mean, std = (torch.tensor(v).view(3, 1, 1) for v in _STATS[name])
    pixels = (data.train_x[5] * std + mean) * 255.0
    expected = torch.tensor(written["train_x"][5].reshape(3, 32, 32), dtype=torch.float32)
    assert torch.allclose(pixels, expected, atol=1e-3)


def test_missing_cifar_files_name_path_and_flag(tmp_path) -> None:
    with pytest.raises(UserError) as e:
        load_dataset("cifar10", tmp_path / "nowhere")
    assert e.value.field == "data-root"
    assert "nowhere" in str(e.value) and "--download" in str(e.value)


def test_checksums_are_verified_by_default(tmp_path, fake_cifar) -> None:
    fake_cifar("cifar10")  # fabricated files do not match CIFAR's published MD5s
    with pytest.raises(UserError, match="corrupted"):
        load_dataset("cifar10", tmp_path)


def test_unknown_dataset_names_the_allowed() -> None:
    with pytest.raises(UserError, match="allowed: cifar10, cifar100, digits, fashion-mnist, mnist"):
        load_dataset("imagenet")


def test_augment_is_a_padded_crop_or_its_mirror() -> None:
    from paretoul.data import augment

    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 8, 8)
    out = augment(x, g, pad=2)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    flips = 0
    for i in range(len(x)):
        found = []
        for dy in range(5):
            for dx in range(5):
                win = padded[i, :, dy : dy + 8, dx : dx + 8]
                if torch.equal(out[i], win):
                    found.append("plain")
                if torch.equal(out[i], win.flip(-1)):
                    found.append("flip")
        assert found, f"sample {i} is not a crop of its padded image"
        flips += "flip" in found and "plain" not in found
    assert 0 < flips < len(x)  # both flipped and unflipped samples occur


def test_minibatches_cover_every_index_once() -> None:
    from paretoul.data import minibatches

    g = torch.Generator().manual_seed(0)
    seen = torch.cat(list(minibatches(103, 10, g, torch.device("cpu"))))
    assert sorted(seen.tolist()) == list(range(103))
    assert not np.array_equal(seen.numpy(), np.arange(103))
