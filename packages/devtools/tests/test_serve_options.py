"""Inspector options of the CLI: the token from a file or the environment, the off-loopback rule."""

import argparse
from pathlib import Path

import pytest

from atomiton.devtools._cli import build_parser
from atomiton.devtools._errors import CommandError
from atomiton.devtools._serve_options import TOKEN_ENV, resolve_token, serve_settings


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["devtools", "serve", *argv])


def test_the_token_comes_from_a_file_stripped_of_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    assert resolve_token(_args("--token-file", str(path)), {}) == "s3cret"


def test_the_token_comes_from_the_environment_when_no_flag_names_one(tmp_path: Path) -> None:
    assert resolve_token(_args(), {TOKEN_ENV: "from-env"}) == "from-env"
    assert resolve_token(_args(), {TOKEN_ENV: ""}) is None
    assert resolve_token(_args(), {}) is None
    path = tmp_path / "token"
    path.write_text("from-file")
    assert resolve_token(_args("--token-file", str(path)), {TOKEN_ENV: "env"}) == "from-file"
    assert resolve_token(_args("--token", "flag"), {TOKEN_ENV: "env"}) == "flag"


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no token file at"), ("\n", "is empty"), ("two words", "one line without spaces")],
)
def test_an_unusable_token_file_is_one_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match=message):
        resolve_token(_args("--token-file", str(path)), {})


def test_token_and_token_file_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--token or --token-file, not both"):
        resolve_token(_args("--token", "a", "--token-file", str(tmp_path / "t")), {})


def test_a_public_host_without_a_token_names_the_flags_to_use() -> None:
    with pytest.raises(CommandError) as caught:
        serve_settings(_args("--host", "0.0.0.0"), {})
    message = str(caught.value)
    assert message.startswith("refusing to serve the inspector on '0.0.0.0' without a token")
    for flag in ("--token-file PATH", TOKEN_ENV, "--token TOKEN", "--host 127.0.0.1"):
        assert flag in message


def test_a_public_host_with_a_token_from_the_environment_is_accepted() -> None:
    settings = serve_settings(
        _args("--host", "0.0.0.0", "--allowed-host", "devbox.lan", "--allowed-host", "x.lan"),
        {TOKEN_ENV: "s3cret"},
    )
    assert (settings.host, settings.token, settings.allowed_hosts) == (
        "0.0.0.0",
        "s3cret",
        ("devbox.lan", "x.lan"),
    )
