"""What every command shares: the app context, ``--config``/``--format``, errors, output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any, NoReturn, TypeVar

import click

from monitor.config import ConfigError, Settings, load_config
from monitor.errors import MonitorError

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """Lazily built settings and database for one CLI invocation."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        return load_config(self.config_path)

    @cached_property
    def db(self) -> Any:
        from monitor.storage.database import Database

        return Database.from_settings(self.settings)


class MonitorGroup(click.Group):
    """A click group that turns known errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            for line in exc.lines:
                click.echo(line, err=True)
            sys.exit(2)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


def _set_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.ensure_object(AppContext).config_path = value
    return value


config_option = click.option(
    "--config",
    "config_path",
    metavar="PATH",
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_set_config,
    help="Config file (default ./config.toml, or $SOCIAL_MONITOR_CONFIG).",
)


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar="SOCIAL_MONITOR_CONFIG",
    default=None,
    help="Config file (default ./config.toml, or $SOCIAL_MONITOR_CONFIG).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Social Monitor: keeps a practice's social media inside its policy."""
    ctx.obj = AppContext(config_path)


def command(group: click.Group, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
    """Register a command that also accepts ``--config`` after its name."""

    def decorate(fn: F) -> F:
        group.command(name, cls=click.Command, **kwargs)(config_option(fn))
        return fn

    return decorate


def subgroup(name: str, help_text: str) -> click.Group:
    """A command group under ``cli`` whose errors are handled like the top level's."""
    group = click.Group(name, help=help_text, context_settings=cli.context_settings)
    cli.add_command(group)
    return group


def app() -> AppContext:
    ctx = click.get_current_context()
    obj = ctx.find_object(AppContext)
    if obj is None:  # pragma: no cover - only when a command runs outside ``cli``
        obj = ctx.ensure_object(AppContext)
    return obj


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output as a readable table or as JSON for scripts.",
)


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Stop the command with one line on stderr."""
    click.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value).replace("\n", " ")
    return text


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    lines = ["  ".join(h.upper().ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    for row in cells:
        lines.append("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip())
    return "\n".join(lines)


def emit(fmt: str, headers: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Print records as a table (keys in ``headers`` order) or as a JSON array."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, default=str))
        return
    if not rows:
        click.echo("(none)")
        return
    click.echo(render_table(headers, [[r.get(h) for h in headers] for r in rows]))


@contextmanager
def handled() -> Iterator[None]:
    """Turn errors from the layers below into one line (for commands outside the group)."""
    try:
        yield
    except ConfigError as exc:
        for line in exc.lines:
            click.echo(line, err=True)
        sys.exit(2)
    except MonitorError as exc:
        fail(str(exc), exc.exit_code)
