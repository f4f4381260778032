"""The README's first command with no Slack settings: local mode in a terminal, as a newcomer uses it."""

import subprocess
import sys

from bot import texts


def test_local_mode_answers_what_a_person_types(tmp_path) -> None:
    typed = "\n".join(["we ship the release on friday", "@parlance help", "/translate to Klingon: hello", "/quit"])
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=typed + "\n",
        # The model server is pointed at a closed port: this test is about the terminal and the Slack path, and
        # the mention it sends (help) needs no model. Real answers are tested in test_conversation.py.
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MODEL_URL": "http://127.0.0.1:9/v1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Parlance local mode" in result.stdout
    assert "parlance in thread: " + texts.HELP.splitlines()[0] in result.stdout
    assert "parlance (only you can see this): I don't know the language `Klingon`" in result.stdout
    assert (tmp_path / "parlance-local.db").exists()
