"""Safe by construction: checkpoints load with ``weights_only=True``, no unsafe YAML or pickle
loads, exported models stay inside the folder the user gave, database passwords never show."""

from __future__ import annotations

import ast
import io
import json
import logging
import pickle
from pathlib import Path

import pytest
import torch

import paretoul
from paretoul import ArtefactCache, UserError
from paretoul.cli import main
from paretoul.pareto.export import export_target, safe_export_path
from paretoul.redact import mask_secrets
from paretoul.study.storage.store import mask_url

PACKAGE = Path(paretoul.__file__).parent


# --- exported model paths -------------------------------------------------------------------


def test_dotdot_escape_is_refused(tmp_path) -> None:
    (tmp_path / "base").mkdir()
    for bad in ("../escape.pt", "sub/../../escape.pt", "a/b/../../../x.pt"):
        with pytest.raises(UserError) as e:
            safe_export_path(bad, tmp_path / "base")
        assert e.value.field == "export" and bad in str(e.value) and "\n" not in str(e.value)


def test_symlinked_folder_escape_is_refused(tmp_path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "models").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserError, match=r"export: models/m\.pt resolves to .*outside"):
        safe_export_path("models/m.pt", base)


def test_symlink_file_escape_is_refused(tmp_path) -> None:
    base, victim = tmp_path / "base", tmp_path / "victim.pt"
    base.mkdir()
    victim.write_text("keep me")
    (base / "m.pt").symlink_to(victim)
    (base / "dangling.pt").symlink_to(tmp_path / "not-yet.pt")  # a write would create it outside
    for name in ("m.pt", "dangling.pt"):
        with pytest.raises(UserError, match=f"export: {name} resolves to"):
            safe_export_path(name, base)
    assert victim.read_text() == "keep me"


def test_a_path_inside_is_accepted(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "sub", target_is_directory=True)  # stays inside
    assert safe_export_path("m.pt", tmp_path) == tmp_path.resolve() / "m.pt"
    assert safe_export_path("new/dir/m.pt", tmp_path) == tmp_path.resolve() / "new" / "dir" / "m.pt"
    assert safe_export_path("sub/../m.pt", tmp_path) == tmp_path.resolve() / "m.pt"
    assert safe_export_path("link/m.pt", tmp_path) == tmp_path.resolve() / "sub" / "m.pt"
    with pytest.raises(UserError, match="itself"):
        safe_export_path("sub/..", tmp_path)


def test_an_absolute_path_is_taken_as_given(tmp_path) -> None:
    base, elsewhere = tmp_path / "base", tmp_path / "elsewhere" / "m.pt"
    base.mkdir()
    assert safe_export_path(elsewhere, base) == elsewhere
    assert safe_export_path(str(elsewhere), base) == elsewhere


def test_an_existing_file_is_never_overwritten(tmp_path) -> None:
    (tmp_path / "m.pt").write_text("old")
    (tmp_path / "n.pt.json").write_text("old sidecar")
    (tmp_path / "d.pt").symlink_to(tmp_path / "nothing-there")  # dangling, inside
    for name in ("m.pt", "n.pt", "d.pt", str(tmp_path / "m.pt")):
        with pytest.raises(UserError, match="already exists"):
            export_target(name, tmp_path)
    assert export_target("fresh.pt", tmp_path) == (tmp_path.resolve() / "fresh.pt",
                                                   tmp_path.resolve() / "fresh.pt.json")


def test_choose_export_refuses_an_escape_before_reading_the_study(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    assert main(["choose", str(tmp_path / "no-study"), "--export", "../escape.pt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("paretoul: error: export: ../escape.pt") and "\n" not in err
    assert not (tmp_path / "escape.pt").exists()


# --- no unsafe loaders anywhere in the package ------------------------------------------------

_FORBIDDEN = {("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"),
              ("yaml", "unsafe_load_all"), ("yaml", "full_load_all"), ("pickle", "load"),
              ("pickle", "loads"), ("pickle", "Unpickler"), ("cloudpickle", "load"),
              ("cloudpickle", "loads"), ("dill", "load"), ("dill", "loads"), ("joblib", "load"),
              ("marshal", "load"), ("marshal", "loads"), ("shelve", "open"), ("builtins", "eval"),
              ("builtins", "exec")}
_TORCH_LOAD = {("torch", "load"), ("torch.serialization", "load")}


def _qualified(node: ast.expr, aliases: dict[str, str]) -> tuple[str, str] | None:
    """``(module, name)`` of a called ``module.name`` or of a name imported from a module."""
    if isinstance(node, ast.Attribute):
        parts, cur = [node.attr], node.value
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if isinstance(cur, ast.Name):
            parts.append(aliases.get(cur.id, cur.id))
            dotted = ".".join(reversed(parts))
            module, _, name = dotted.rpartition(".")
            return module, name
    if isinstance(node, ast.Name):
        if node.id in ("eval", "exec"):
            return "builtins", node.id
        if "." in aliases.get(node.id, ""):
            module, _, name = aliases[node.id].rpartition(".")
            return module, name
    return None


def _unsafe_calls(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    bad = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ClassDef):  # a custom Unpickler must restrict find_class
            bases = [_qualified(b, aliases) for b in node.bases]
            if ("pickle", "Unpickler") in bases and not any(
                    isinstance(f, ast.FunctionDef) and f.name == "find_class" for f in node.body):
                bad.append(f"{where}: pickle.Unpickler subclass without find_class")
        if not isinstance(node, ast.Call):
            continue
        q = _qualified(node.func, aliases)
        if q in _FORBIDDEN:
            bad.append(f"{where}: {'.'.join(q)}")
        elif q in _TORCH_LOAD:
            kw = {k.arg: k.value for k in node.keywords}
            ok = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
            if not ok:
                bad.append(f"{where}: torch.load without weights_only=True")
        elif q == ("numpy", "load"):
            kw = {k.arg: k.value for k in node.keywords}
            if isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value:
                bad.append(f"{where}: numpy.load with allow_pickle")
    return bad


def test_the_scanner_catches_unsafe_calls() -> None:
    src = ("import torch, yaml, pickle as pk\nimport numpy as np\nfrom torch import load\n"
           "torch.load('a')\ntorch.load('a', weights_only=False)\nload('a')\nyaml.load(s)\n"
           "yaml.unsafe_load(s)\npk.loads(b)\nnp.load('x', allow_pickle=True)\neval('1')\n"
           "class U(pk.Unpickler):\n    pass\n"
           "torch.load('a', map_location='cpu', weights_only=True)\nyaml.safe_load(s)\n")
    lines = sorted(int(b.split(":")[1]) for b in _unsafe_calls(src, "x.py"))
    assert lines == [4, 5, 6, 7, 8, 9, 10, 11, 12]


def test_package_has_no_unsafe_loads() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    bad = [b for f in files for b in _unsafe_calls(f.read_text(), str(f.relative_to(PACKAGE.parent)))]
    assert not bad, "\n".join(bad)


# --- a checkpoint crafted to run code is never executed --------------------------------------


class _Payload:
    """Unpickling this creates ``marker`` (a harmless stand-in for arbitrary code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _malicious_checkpoint(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(3), "x": _Payload(marker)}, buf)
    return buf.getvalue()


def test_the_payload_does_run_when_unpickled(tmp_path) -> None:
    """Control: the crafted file really runs code under a plain (unsafe) load."""
    marker = tmp_path / "ran"
    torch.load(io.BytesIO(_malicious_checkpoint(marker)), weights_only=False)  # the control case
    assert marker.exists()


@pytest.mark.parametrize("forge_checksum", [False, True])
def test_a_malicious_cache_entry_is_refused_and_rebuilt(tmp_path, caplog, forge_checksum: bool) -> None:
    import hashlib

    marker = tmp_path / "ran"
    cache, spec = ArtefactCache(tmp_path / "cache"), {"dataset": "digits", "seed": 0}
    cache.save("original", spec, {"w": torch.ones(3)}, {})
    pt, side = cache.paths("original", spec)
    blob = _malicious_checkpoint(marker)
    pt.write_bytes(blob)
    if forge_checksum:  # the attacker rewrote the sidecar too: weights_only is the last line
        info = json.loads(side.read_text())
        info.update(bytes=len(blob), sha256=hashlib.sha256(blob).hexdigest())
        side.write_text(json.dumps(info))
    with caplog.at_level(logging.WARNING, logger="paretoul"):
        entry = cache.get_or_build("original", spec, lambda: ({"w": torch.full((3,), 2.0)}, {}))
    assert entry.status == "rebuilt" and torch.equal(entry.state["w"], torch.full((3,), 2.0))
    assert not marker.exists()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "rebuilding" in warning and "\n" not in warning
    assert ("refused" in warning) if forge_checksum else ("checksum mismatch" in warning)
    # the loader itself, called directly on the file, refuses it without running it
    with pytest.raises(pickle.UnpicklingError):
        torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    assert not marker.exists()


def test_a_crafted_dataset_file_is_refused_without_running(tmp_path, fake_cifar) -> None:
    """``--no-verify`` CIFAR files are read with a restricted unpickler, not ``pickle.load``."""
    from paretoul import load_dataset

    fake_cifar("cifar10", n_train=10, n_test=5)
    marker = tmp_path / "ran"
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_1"
    batch.write_bytes(pickle.dumps({"data": _Payload(marker), "labels": [0]}))
    with pytest.raises(UserError, match=r"data-root: .*not plain data"):
        load_dataset("cifar10", tmp_path, verify=False)
    assert not marker.exists()


# --- database passwords ----------------------------------------------------------------------

URLS = [  # (url, password)
    ("postgresql://user:secret@host/db", "secret"),
    ("postgresql+psycopg2://u:p%40ss@h:5432/db?sslmode=disable", "p%40ss"),
    ("postgresql://u:p@ss@h:5432/db", "p@ss"),
    ("postgresql://u:pa:ss@h/db", "pa:ss"),
    ("postgresql://u:pa/ss@h/db", "pa/ss"),
    ("postgresql://u:a@b:c/d@h:5432/db?sslmode=require", "a@b:c/d"),
    ("mysql://u:p@h/db", "p"),
    ("mysql+pymysql://u:hunter2@h/db?charset=utf8mb4", "hunter2"),
    ("postgresql://:onlypw@h/db", "onlypw"),
    ("postgresql://user@server:azure-pw@server.example.com/db", "azure-pw"),
    ("postgresql://u:pa ss'x\"y@h/db", "pa ss'x\"y"),
    ("postgresql://u@h/db?password=qsecret&sslmode=require", "qsecret"),
    ("user:noscheme-pw@host/db", "noscheme-pw"),
]


@pytest.mark.parametrize(("url", "password"), URLS)
def test_mask_url_never_shows_the_password(url: str, password: str) -> None:
    masked = mask_url(url)
    assert password not in (masked.partition("://")[2] or masked) and "***" in masked
    assert mask_url(masked) == masked
    # the same URL inside a message (e.g. a driver's error) is masked the same way (inside a
    # text a URL ends at a space or a quote, and needs its scheme to be recognised)
    if "://" in url and not any(c in password for c in " '\""):
        for text in (f"cannot open {url}: connection refused", f"could not parse '{url}'"):
            assert mask_secrets(text) == text.replace(url, masked)


def test_mask_url_keeps_what_is_not_secret() -> None:
    assert mask_url("postgresql://user:secret@host/db") == "postgresql://user:***@host/db"
    assert (mask_url("postgresql+psycopg2://u:p%40ss@h:5432/db?sslmode=disable")
            == "postgresql+psycopg2://u:***@h:5432/db?sslmode=disable")
    assert mask_url("postgresql://u:p@ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("mysql://u:p@h/db") == "mysql://u:***@h/db"
    for plain in ("postgresql://u@h:5432/db", "sqlite:////tmp/a@b:c/study.db", "sqlite:///rel.db"):
        assert mask_url(plain) == plain


def test_user_errors_and_log_lines_mask_passwords(caplog) -> None:
    url = "postgresql://u:s3cret-pw@h/db"
    assert "s3cret-pw" not in str(UserError("storage", f"could not parse {url!r}"))
    with caplog.at_level(logging.WARNING, logger="paretoul"):
        logging.getLogger("paretoul").warning("storage: %s is down (%s)", url, f"url={url}")
    assert caplog.records and all("s3cret-pw" not in r.getMessage() for r in caplog.records)


def test_an_unparsable_storage_url_is_one_masked_line(tmp_path, capsys) -> None:
    from paretoul.study.storage.store import open_storage

    for url in ("postgresql://u:pw@rd:1@127.0.0.1:notaport/db", "no-scheme u:s3cret@h"):
        with pytest.raises(UserError) as e:
            open_storage(url)
        assert "s3cret" not in str(e.value) and "pw@rd" not in str(e.value) and "rd:1" not in str(e.value)


def _tiny_study(d: Path, storage_in_spec: str) -> str:
    """A study directory with one arm and three finished trials, written straight to the
    database (no study is run); returns its sqlite URL."""
    import optuna
    import yaml

    d.mkdir()
    spec = {"name": "tiny", "storage": storage_in_spec, "seeds": [0],
            "arms": [{"name": "ft", "method": "ft", "searcher": {"type": "grid"},
                      "grid": {"epochs": [1, 2, 3]}}]}
    (d / "spec.yaml").write_text(yaml.safe_dump(spec))
    url = f"sqlite:///{d / 'study.db'}"
    study = optuna.create_study(storage=url, study_name="tiny:ft", directions=["minimize", "minimize"])
    for i, (f, r) in enumerate([(10.0, 1.0), (5.0, 2.0), (1.0, 8.0)]):
        metrics = {"forget_gap": f, "retain_gap": r, "ua": 1.0, "ra": 99.0 - r, "ta": 95.0 - r,
                   "mia": 2.0, "avg_gap": (f + r) / 2, "rte": 0.1, "ref_gap": f + 1}
        study.add_trial(optuna.trial.create_trial(
            params={"epochs": i + 1}, distributions={"epochs": optuna.distributions.IntDistribution(1, 3)},
            values=[f, r], user_attrs={"metrics": metrics, "seeds": [0], "metrics_per_seed": [metrics]}))
    return url


def test_the_report_never_shows_the_database_password(tmp_path, capsys) -> None:
    from paretoul.report.build import write_report

    secret = "pa:ss@w/rd-42"
    url = _tiny_study(tmp_path / "study", f"postgresql+psycopg2://user:{secret}@db.example:5432/studies")
    paths = write_report(tmp_path / "study", tmp_path / "report", storage_url=url)
    md, html = paths["markdown"].read_text(), paths["html"].read_text()
    assert "user:***@db.example:5432/studies" in md  # the URL is there, its password is not
    for text in (md, html):
        assert secret not in text and "ss@w" not in text and "rd-42" not in text
    assert main(["report", str(tmp_path / "study"), "--out", str(tmp_path / "r2"), "--storage", url]) == 0
    out = capsys.readouterr()
    assert "rd-42" not in out.out + out.err
    assert "rd-42" not in (tmp_path / "r2" / "report.md").read_text()
