"""The README's code examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example(name: str) -> str:
    text = README.read_text()
    match = re.search(rf"<!-- readme-example: {name} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no example {name!r}"
    return match.group(1)


@pytest.mark.slow
def test_text_api_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = readme_example("text-api").replace("/tmp/review_model", str(tmp_path / "review_model"))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    p_bad = namespace["p_bad"]
    assert p_bad[0] > p_bad[1]
    assert (namespace["same"].predict_bad(["Support never answered my emails"]) == p_bad[:1]).all()
