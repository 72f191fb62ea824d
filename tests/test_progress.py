"""Build progress: a bar on a terminal, plain lines otherwise, nothing when off."""
import io

from rag.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal_ending_with_the_total():
    out = io.StringIO()
    p = Progress(3, "embedding", "texts", stream=out)
    for _ in range(3):
        p.update(1)
    p.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "embedding: 1/3 texts" and lines[-1] == "embedding: 3/3 texts"
    assert "\r" not in out.getvalue()


def test_a_bar_on_a_terminal_and_nothing_when_disabled():
    tty = Terminal()
    p = Progress(4, "chunking", "files", stream=tty)
    p.update(4)
    p.close()
    assert "chunking" in tty.getvalue() and "\r" in tty.getvalue()
    quiet = io.StringIO()
    p = Progress(4, "chunking", "files", enabled=False, stream=quiet)
    p.update(4)
    p.close()
    assert quiet.getvalue() == ""
