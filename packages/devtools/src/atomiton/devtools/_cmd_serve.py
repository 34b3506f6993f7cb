"""``atomiton devtools serve``: the web inspector over the installed app's persisted data."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from atomiton.devtools._console import console
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import CommandError
from atomiton.devtools._last_run import last_export_path
from atomiton.devtools._serve_options import serve_settings
from atomiton.platform import Container


def run_serve(args: argparse.Namespace) -> int:
    """Compose the installed packages, attach their bus and entity client, serve until Ctrl-C.

    Entity stores are hydrated eagerly so every store saved in the default storage is listed.
    ``--import`` loads a DevTools export (stores from it are shown read-only), ``--last`` the one
    the last ``atomiton demo`` saved; ``--for`` stops after that many seconds.
    """
    settings = serve_settings(args)
    export = None
    path = None
    if getattr(args, "last", False):
        path = last_export_path()
        if not path.is_file():
            raise CommandError(
                f"no saved demo run at {path}: run 'atomiton demo' first (it saves one there)"
            )
    elif args.import_path:
        path = Path(args.import_path)
        if not path.is_file():
            raise CommandError(f"no DevTools export at {path}")
    if path is not None:
        try:
            export = json.loads(path.read_text("utf-8"))
        except ValueError as error:
            raise CommandError(f"{path} is not JSON: {error}") from error
        except RecursionError:
            raise CommandError(f"{path}: its JSON is nested too deeply to read") from None
    out = console()
    with (
        Container.from_installed({"store.hydrate": "eager"}) as container,
        DevTools() as devtools,
    ):
        if container.has("events"):
            devtools.attach(container.resolve("events"), name="events")
        if container.has("store.client"):
            devtools.attach(container.resolve("store.client"), name="entities")
        if export is not None:
            devtools.import_(export)
        server = devtools.serve(
            port=settings.port,
            host=settings.host,
            token=settings.token,
            allowed_hosts=settings.allowed_hosts,
        )
        if path is not None:
            out.print(f"loaded {path}", markup=False)
        elif last_export_path().is_file():
            out.print("tip: --last also shows the last 'atomiton demo' run", markup=False)
        out.print(f"inspector: {server.url} — press Ctrl-C to stop", markup=False)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        try:
            while server.is_running and (deadline is None or time.monotonic() < deadline):
                server.wait(0.2)
        except KeyboardInterrupt:
            out.print("inspector stopped")
    return 0
