"""The fourway command: one-line errors, a demo that loads once, the schema on stdout."""

from pathlib import Path

from click.testing import CliRunner

from api.schema import schema_sdl
from cli.main import main
from tests.processes import run_fourway


def test_schema_dash_prints_the_schema():
    result = CliRunner().invoke(main, ["schema", "-"])
    assert result.exit_code == 0
    assert result.output == schema_sdl()


def test_demo_loads_once_and_says_so_the_second_time(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'demo.db'}"
    first = run_fourway("demo", database_url=url)
    assert first.returncode == 0, first.stderr
    assert "Loaded the demo portfolio: 6 organizations" in first.stdout
    again = run_fourway("demo", database_url=url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("The demo portfolio is already loaded.")
    swept = run_fourway("sweep", database_url=url)
    assert swept.returncode == 0, swept.stderr
    # Six of the seven demo engagements are not CLOSED.
    assert swept.stdout.startswith("swept 6 engagement(s): "), swept.stdout


def test_an_unusable_database_is_a_one_line_error(tmp_path: Path):
    for url, message in (
        (f"sqlite://{tmp_path / 'missing' / 'x.db'}", "does not exist: create it first"),
        ("mysql://db.example/x", "DATABASE_URL must start with sqlite://"),
        ("postgres://postgres:secret@127.0.0.1:1/x", "cannot use the database at"),
    ):
        result = run_fourway("migrate", database_url=url)
        assert result.returncode == 1
        assert message in result.stderr
        assert "Traceback" not in result.stderr and "secret" not in result.stderr
