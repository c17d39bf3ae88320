"""`omtx dlq list|replay`: what landed on the dead-letter topics, and sending it back.

Listing leases the messages and releases them when done, so it never consumes them. Replaying
publishes each message (data and attributes) to the topic it was dead-lettered from and
acknowledges it only after that publish succeeded; the handlers are idempotent, so a message
replayed twice does no harm. Fix the cause first (a service down, a bug), then replay.
Against the local stack when the *_EMULATOR_HOST variables are set, Pub/Sub otherwise."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from omtx.settings import get_settings

if TYPE_CHECKING:
    from omtx.gcp.dead_letters import DeadLetter

app = typer.Typer(help="Dead-lettered messages: list them, replay them to their topic.", no_args_is_help=True)
console = Console()

Topic = Annotated[
    str | None,
    typer.Option(
        "--topic", help="Only this topic's dead letters (the original topic, the dead-letter topic or a subscription)"
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for scripts")]


@app.command("list")
def list_letters(topic: Topic = None, as_json: AsJson = False) -> None:
    """Every dead-lettered message, per dead-letter subscription, left in place."""
    from omtx.gcp.dead_letters import Reader, find_queues

    shown: list[dict[str, Any]] = []
    queues = find_queues(get_settings().project, topic)
    if not queues and not as_json:
        console.print(f"no dead-letter subscriptions{f' for {topic}' if topic else ''} in {get_settings().project}")
    for queue in queues:
        with Reader(queue) as reader:
            letters = [x for x in reader.letters() if x.selected_by(topic)]
        shown += [x.as_dict() for x in letters]
        if not as_json:
            _print_queue(queue.subscription, letters)
    if as_json:
        typer.echo(json.dumps(shown, indent=2))


@app.command("replay")
def replay_letters(
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Replay this dead-letter message id (repeatable)")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead-lettered message")] = False,
    topic: Topic = None,
    as_json: AsJson = False,
) -> None:
    """Publish dead-lettered messages to their original topic, then remove them from the queue."""
    from omtx.gcp.dead_letters import Reader, find_queues, replay

    ids = ids or []
    if bool(ids) == replay_all:
        raise typer.BadParameter("name the messages with --id, or pass --all (not both)")
    outcomes: list[dict[str, Any]] = []
    for queue in find_queues(get_settings().project, topic):
        with Reader(queue) as reader:
            chosen = [x for x in reader.letters() if x.selected_by(topic) and (replay_all or x.message_id in ids)]
            for done in replay(reader, chosen):
                outcomes.append(done.letter.as_dict() | {"new_message_id": done.new_message_id, "error": done.error})
    missing = sorted(set(ids) - {o["message_id"] for o in outcomes})
    if as_json:
        typer.echo(json.dumps({"replayed": outcomes, "not_found": missing}, indent=2))
    else:
        for o in outcomes:
            if o["error"]:
                console.print(f"[red]{o['message_id']}[/red] ({o['queue']}): {o['error']}")
            else:
                console.print(f"{o['message_id']} → {o['source_topic']} as {o['new_message_id']}")
        for message_id in missing:
            console.print(f"[yellow]{message_id}[/yellow]: no such dead-lettered message")
        console.print(f"replayed {sum(not o['error'] for o in outcomes)} of {len(outcomes)}")
    if missing or any(o["error"] for o in outcomes):
        raise typer.Exit(1)


def _print_queue(subscription: str, letters: list[DeadLetter]) -> None:
    title = f"{subscription.rsplit('/', 1)[-1]}: {len(letters)} message(s)"
    if not letters:
        console.print(title)
        return
    table = Table("message id", "batch", "event", "attempts", "published", "attributes", "body", title=title)
    for x in letters:
        others = {k: v for k, v in x.attributes.items() if k not in ("batch_id", "event_type")}
        table.add_row(
            x.message_id,
            x.attributes.get("batch_id", "-"),
            x.attributes.get("event_type", "-"),
            str(x.delivery_attempts or "-"),
            f"{(x.published_at or x.dead_lettered_at):%Y-%m-%d %H:%M:%S}",
            ", ".join(f"{k}={v}" for k, v in others.items()) or "-",
            x.body(60),
        )
    console.print(table)
