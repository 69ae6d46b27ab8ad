"""``kaito-chat``'s command line: the arguments, checked, and the controller (on its ``Target``) they describe."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from ..chat.context_window import OVERFLOW_MODES
from ..chat.controller import ChatController
from ..chat.params import DEFAULTS, ParameterError
from ..chat.params import parse as parse_param
from ..target import Target
from ..transport.endpoint import API_KEY_ENV, normalize_base_url

PROG = "kaito-chat"
EXIT_USAGE = 2  # what argparse exits with on bad usage


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line naming what is wrong (argparse's default adds the whole usage first); exit code 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_redact_unrecognized(message)}\n")


def _redact_unrecognized(message: str) -> str:
    """argparse repeats unknown arguments verbatim: name the options only, since their values may be secrets
    (``--api-key sk-…`` is the likeliest one)."""
    prefix = "unrecognized arguments: "
    if not message.startswith(prefix):
        return message
    names = [arg.split("=", 1)[0] for arg in message[len(prefix):].split() if arg.startswith("-")]
    message = f"unrecognized option {', '.join(names)}" if names else "unexpected extra arguments"
    if "--api-key" in names:
        message += f"; a server that needs a key gets it from ${API_KEY_ENV} (not the command line, where it leaks)"
    return message


def _param(name: str) -> Callable[[str], Any]:
    """An argparse type that checks a sampling parameter with the same validator as the widget and /set."""

    def convert(text: str) -> Any:
        try:
            return parse_param(name, text)[1]
        except ParameterError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _base_url(text: str) -> str:
    try:
        return normalize_base_url(text)
    except ValueError:  # the message would repeat the URL, which may carry credentials
        raise argparse.ArgumentTypeError("must be an http(s) URL such as http://127.0.0.1:8000/v1") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Chat in the terminal with a model served by a Kaito workspace or any OpenAI-compatible server.",
        epilog=f"A server that needs an API key gets it from ${API_KEY_ENV}. When stdin is not a terminal, the whole "
               "input is sent as one message and only the reply's answer is printed, once complete. A reasoning "
               "model's thinking never goes to stdout.",
    )
    add_target_arguments(p)
    p.add_argument("--index", metavar="NAME",
                   help="answer from this index of a Kaito RAGEngine (with its sources; the reply comes whole)")
    p.add_argument("--model", metavar="ID", help="model or LoRA adapter id (default: the server's base model)")
    p.add_argument("--temperature", metavar="T", type=_param("temperature"), default=DEFAULTS["temperature"],
                   help="0.0–2.0 (default: %(default)s)")
    p.add_argument("--max-tokens", metavar="N", type=_param("max_tokens"), default=DEFAULTS["max_tokens"],
                   help="≥ 1 (default: %(default)s)")
    p.add_argument("--top-p", metavar="P", type=_param("top_p"), default=DEFAULTS["top_p"],
                   help="0.0–1.0 (default: %(default)s)")
    p.add_argument("--system-prompt", metavar="TEXT", help="instructions sent before the conversation")
    p.add_argument("--overflow", choices=OVERFLOW_MODES, default="truncate",
                   help="when the conversation outgrows the model's context window: leave the oldest turns out of "
                        "the request and say so (truncate, the default), or show the server's error (error)")
    p.add_argument("--show-reasoning", action="store_true",
                   help="print a reasoning model's thinking, dimmed, on stderr as it streams (default: hidden; an "
                        "interactive session says 'Thinking…' and how long it took)")
    return p


def add_target_arguments(p: argparse.ArgumentParser) -> None:
    """Where to chat: exactly one of --workspace-name, --ragengine, --base-url, and the cluster options."""
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--workspace-name", metavar="NAME", help="the Kaito workspace (or InferenceSet) to chat with")
    target.add_argument("--ragengine", metavar="NAME", help="a Kaito RAGEngine to chat through (with --index: "
                        "answers from that index, with sources)")
    target.add_argument("--base-url", metavar="URL", type=_base_url,
                        help="an OpenAI-compatible server instead, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("-n", "--namespace", help="the workspace's namespace (default: the kubeconfig context's)")
    p.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")


def check_target_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.base_url and (args.namespace or args.kubeconfig or args.context):
        parser.error("--namespace, --kubeconfig and --context only apply with --workspace-name or --ragengine")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_target_arguments(parser, args)
    return args


def target_of(args: argparse.Namespace) -> Target:
    """The server the arguments name; the API key comes from $KAITO_WIDGET_API_KEY, never the command line."""
    return Target(workspace=args.workspace_name, ragengine=args.ragengine, base_url=args.base_url,
                  namespace=args.namespace,
                  context=args.context, kubeconfig=args.kubeconfig, model=args.model)


def make_controller(args: argparse.Namespace) -> ChatController:
    """The controller for the parsed arguments, reaching a workspace the same way ChatWidget does."""
    target = target_of(args)
    return ChatController(
        resolver=target.resolver(), model=target.model, temperature=args.temperature,
        top_p=args.top_p, max_tokens=args.max_tokens, system_prompt=args.system_prompt, overflow=args.overflow,
        index=args.index,
    )
