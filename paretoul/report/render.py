"""How the report is written out: its Settings block as YAML that relaunches the study, the
machine it ran on, and its Markdown as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from paretoul.redact import mask_secrets, mask_url
from paretoul.study.storage.layout import read_meta


def machine_lines(directory: Path) -> list[str]:
    """Where the study ran (``study.json``: each launch's CPU and torch's kernel set there), as
    Markdown lines: the same seeds give other floats on another kind of CPU."""
    meta = read_meta(directory)
    seen = [r["machine"] for r in meta.get("runs", []) if r.get("machine")] or (
        [meta["machine"]] if meta.get("machine") else [])
    torch = meta.get("versions", {}).get("torch", "?")
    names = list(dict.fromkeys(f"{m['cpu']} ({m['machine']}), torch {torch} with "
                               f"{m['torch_cpu_kernels']} CPU kernels" for m in seen))
    if not names:
        return ["Launched on: not recorded (a study launched before paretoul recorded it).", ""]
    return [f"Launched on: {'; '.join(names)} (on a Ray cluster, each trial's own kernel set is its "
            "`cpu_kernels` attribute). Bit for bit the figures come back only with the same kind of "
            "CPU and library versions; elsewhere they move within seed noise.", ""]


class _SettingsDumper(yaml.SafeDumper):
    """YAML with short lists and small mappings of plain values on one line."""


def _flow_if_short(dumper: yaml.SafeDumper, data: Any) -> Any:
    plain = all(not isinstance(v, dict | list) for v in (data.values() if isinstance(data, dict)
                                                         else data))
    short = len(repr(data)) <= 70
    if isinstance(data, dict):
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                        flow_style=bool(data) and plain and short)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=plain and short)


_SettingsDumper.add_representer(dict, _flow_if_short)
_SettingsDumper.add_representer(list, _flow_if_short)


def settings_yaml(spec: Any) -> str:
    """The study's full resolved spec — every default included, the model and arm names as
    resolved, types kept — as YAML that relaunches the same study when pasted into a spec
    file; any database password masked (``storage``, any URL). The recipe shows the overrides,
    with the dataset's default recipe in a comment."""
    from paretoul.training import default_recipe

    settings = spec.model_dump(mode="json")
    settings["model"] = spec.model_name
    for i, arm in enumerate(settings["arms"]):
        arm["name"] = spec.arm_name(i)
    if settings.get("storage"):
        settings["storage"] = mask_url(settings["storage"])
    text = yaml.dump(settings, Dumper=_SettingsDumper, sort_keys=False, width=100).strip()
    base = {k: v for k, v in default_recipe(spec.dataset).to_dict().items() if v not in (None, [])}
    note = f"  # overrides of the default {spec.dataset} recipe: " + ", ".join(
        f"{k} {v}" for k, v in base.items())
    text = "\n".join(ln + note if ln.startswith("recipe:") else ln for ln in text.splitlines())
    return mask_secrets(text)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; }
pre { background: #f5f5f5; padding: 1em; overflow-x: auto; }
code { background: #f5f5f5; padding: 0 0.2em; }
"""


def markdown_to_html(md: str, images: dict[str, str]) -> str:
    """The report's Markdown as a self-contained HTML page (markdown-it-py, CommonMark with
    tables; raw HTML in the text is escaped). ``images`` maps each image file name the
    Markdown links to its base64 PNG, embedded as a data URI."""
    from markdown_it import MarkdownIt

    for name, data in images.items():
        md = md.replace(f"]({name})", f"](data:image/png;base64,{data})")
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(md)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>paretoul report</title><style>{_STYLE}</style></head>\n<body>\n{body}</body></html>\n")
