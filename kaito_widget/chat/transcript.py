"""The transcript as data: what is saved (into a file now, into the notebook's metadata next) and loaded back.

A transcript read from a file or a notebook is untrusted input: it is schema-checked and size-capped here, entry by
entry, so a malformed or hostile entry is dropped or cut with a note and never breaks the chat; its text is rendered
through the same sanitizer as model output. Nothing secret is ever written: no key, token, certificate or URL.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..attachments.parts import clean_attachments, describe
from ..tools.saved import STATUS_LABELS, clean_tool_steps
from . import params as P
from .conversation_tree import ConversationTree, from_saved
from .sources import clean_sources, sources_lines

SCHEMA_VERSION = 2  # 2: every version of a message is kept (ids and parents); 1: one branch, still read
ROLES = ("user", "assistant", "system")
MAX_MESSAGES = 2_000
MAX_MESSAGE_CHARS = 200_000  # ~50k tokens: more than any reply; a bigger entry is cut, visibly
MAX_TOTAL_CHARS = 4_000_000
STAT_FIELDS = {"ttft_ms": float, "reasoning_ms": float, "completion_tokens": int, "tokens_per_s": float,
               "finish_reason": str, "prompt_tokens": int, "turns_left_out": int, "whole_ms": float}
OPTIONAL_STATS = ("prompt_tokens", "turns_left_out", "whole_ms")  # newer fields: absent from older transcripts, left absent
MESSAGE_FIELDS = ("role", "content", "reasoning", "created", "model", "params", "stats", "error", "stopped", "id",
                  "parent", "tool_steps", "notices", "sources", "attachments")
MAX_NOTICES, MAX_NOTICE_CHARS = 10, 500


class TranscriptError(ValueError):
    """The data is not a kaito-widget transcript at all."""


@dataclass
class LoadedTranscript:
    messages: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)  # what was dropped or cut, in words
    model: str | None = None
    workspace: str | None = None
    namespace: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    system_prompt: str | None = None
    tree: ConversationTree | None = None  # every version, when the transcript kept them (version 2)


def build(messages: list[dict[str, Any]], *, model: str | None, params: dict[str, Any],
          workspace: str | None = None, namespace: str | None = None,
          versions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The saved form of a conversation (schema version 2): ``messages`` is the conversation shown, ``versions``
    every other version of its messages (both with node ``id`` and ``parent``, as ``ChatController.saved_tree``)."""
    return {
        "version": SCHEMA_VERSION,
        "messages": [{k: m.get(k) for k in MESSAGE_FIELDS if k in m} for m in messages],
        "versions": [{k: m.get(k) for k in MESSAGE_FIELDS if k in m} for m in versions or []],
        "model": model,
        "workspace": workspace,
        "namespace": namespace,
        "params": {k: params[k] for k in P.SPECS if k in params},
        "system_prompt": params.get("system_prompt"),
    }


def of_conversation(controller: Any, *, workspace: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """The saved form of a ChatController's conversation, every version included."""
    visible, versions = controller.saved_tree()
    return build(visible, versions=versions, model=controller.model, params=controller.params, workspace=workspace,
                 namespace=namespace)


def parse(data: Any) -> LoadedTranscript:
    """Check an untrusted transcript entry by entry; keep what is sound, say what was not."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise TranscriptError("Not a kaito-widget transcript: expected an object with a 'messages' list.")
    problems: list[str] = []
    version = data.get("version")
    if version not in (1, SCHEMA_VERSION):
        problems.append(f"transcript version {version!r} is not one of 1, {SCHEMA_VERSION}; read as far as possible")
    budget = [MAX_TOTAL_CHARS]  # shared by the conversation and its other versions
    messages = _messages(data["messages"], problems, budget, "messages")
    tree = None
    if version != 1 and any("id" in m for m in messages) and len(data["messages"]) <= MAX_MESSAGES:
        raw_versions = data.get("versions")
        if raw_versions is not None and not isinstance(raw_versions, list):
            problems.append("the other versions were dropped: 'versions' is not a list")
            raw_versions = []
        others = _messages(raw_versions or [], problems, budget, "versions", MAX_MESSAGES - len(messages))
        tree, tree_problems = from_saved(messages, others)
        problems += tree_problems
        messages = tree.messages()
    else:
        messages = [{k: v for k, v in m.items() if k not in ("id", "parent")} for m in messages]
    return LoadedTranscript(
        messages=messages,
        tree=tree,
        problems=problems,
        model=_str_or_none(data.get("model")),
        workspace=_str_or_none(data.get("workspace")),
        namespace=_str_or_none(data.get("namespace")),
        params=_params(data.get("params")),
        system_prompt=_str_or_none(data.get("system_prompt")),
    )


def _messages(entries: list[Any], problems: list[str], budget: list[int], what: str,
              limit: int = MAX_MESSAGES) -> list[dict[str, Any]]:
    """Check a list of message entries; ``budget`` holds the characters still allowed (shared across lists)."""
    limit = max(0, limit)
    if len(entries) > limit:
        problems.append(f"only the last {limit} of {len(entries)} {what} were kept")
        entries = entries[-limit:] if limit else []
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        message, problem = _message(entry, i, "message" if what == "messages" else "version")
        if problem:
            problems.append(problem)
        if message is None:
            continue
        budget[0] -= len(message["content"]) + len(message.get("reasoning") or "") + sum(
            len(s["arguments"]) + len(s["content"]) for s in message.get("tool_steps") or ()) + sum(
            len(a.get("text") or "") for a in message.get("attachments") or ())
        if budget[0] < 0:
            problems.append(f"{what} from #{i + 1} on were dropped: the transcript exceeds {MAX_TOTAL_CHARS} characters")
            break
        out.append(message)
    return out


def _message(entry: Any, i: int, kind: str = "message") -> tuple[dict[str, Any] | None, str | None]:
    where = f"{kind} #{i + 1}"
    if not isinstance(entry, dict):
        return None, f"{where} dropped: not an object"
    role, content = entry.get("role"), entry.get("content")
    if role not in ROLES:
        return None, f"{where} dropped: unknown role {str(role)[:40]!r}"
    if not isinstance(content, str):
        return None, f"{where} dropped: its content is not text"
    problem = None
    if len(content) > MAX_MESSAGE_CHARS:
        problem = f"{where} was cut to its first {MAX_MESSAGE_CHARS} characters (too long to restore)"
        content = content[:MAX_MESSAGE_CHARS] + "\n\n…(cut: too long to restore)"
    message: dict[str, Any] = {"role": role, "content": content, "restored": True}
    for key in ("id", "parent"):  # checked as a tree by conversation_tree.from_saved
        if key in entry:
            message[key] = entry[key]
    created = entry.get("created")
    if isinstance(created, str) and len(created) <= 40:
        message["created"] = created
    if role == "user" and entry.get("attachments") is not None:  # untrusted: each checked (attachments/parts.py)
        attachments, dropped = clean_attachments(entry.get("attachments"))
        if attachments:
            message["attachments"] = attachments
        if dropped:
            lost = f"{where}: {dropped} attachment{'s' if dropped != 1 else ''} dropped (not a valid attachment)"
            problem = f"{problem}; {lost}" if problem else lost
    if role == "assistant":
        reasoning = entry.get("reasoning")
        message["reasoning"] = reasoning if isinstance(reasoning, str) and reasoning else None
        if message["reasoning"] is not None and len(reasoning) > MAX_MESSAGE_CHARS:
            cut = f"{where}'s thinking was cut to its first {MAX_MESSAGE_CHARS} characters (too long to restore)"
            problem = f"{problem}; {cut}" if problem else cut
            message["reasoning"] = reasoning[:MAX_MESSAGE_CHARS] + "\n\n…(cut: too long to restore)"
        error = entry.get("error")
        message["error"] = error[:2000] if isinstance(error, str) else None
        message["stopped"] = entry.get("stopped") is True
        message["stats"] = _stats(entry.get("stats"))
        message["params"] = _params(entry.get("params"))
        if isinstance(entry.get("model"), str):
            message["model"] = entry["model"][:200]
        notices = _notices(entry.get("notices"))
        if notices:
            message["notices"] = notices
        if isinstance(entry.get("sources"), list):  # a RAG reply's sources: shown as text, never sent back
            message["sources"] = clean_sources(entry["sources"])
        # the calls and results of a reply that called tools: shown and sent as history, never run again
        steps, step_problems = clean_tool_steps(entry.get("tool_steps"), where)
        if steps:
            message["tool_steps"] = steps
        if step_problems:
            problem = "; ".join([*([problem] if problem else []), *step_problems])
    return message, problem


def _notices(raw: Any) -> list[str]:
    """What the chat said about a reply: plain text (shown as text, never as markup), a few short lines at most."""
    if not isinstance(raw, list):
        return []
    return [n[:MAX_NOTICE_CHARS] for n in raw if isinstance(n, str) and n][:MAX_NOTICES]


def _stats(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    out: dict[str, Any] = {}
    for name, kind in STAT_FIELDS.items():
        value = raw.get(name)
        if name in OPTIONAL_STATS and value is None:
            continue
        if kind is str:
            out[name] = value[:40] if isinstance(value, str) else None
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            out[name] = kind(value)
        else:
            out[name] = 0 if kind is int else None
    return out


def _params(raw: Any) -> dict[str, Any]:
    """Only sampling parameters that pass the same validation as everywhere else."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for name in P.SPECS:
        try:
            out[name] = P.validate(name, raw[name])
        except (KeyError, P.ParameterError):
            continue
    return out


def _str_or_none(value: Any) -> str | None:
    return value[:10_000] if isinstance(value, str) else None


def reasoning_markdown(reasoning: str, reasoning_ms: float | None = None) -> str:
    """The model's thinking as a collapsed ``<details>`` block (GitHub, JupyterLab and VS Code fold it)."""
    seconds = (reasoning_ms or 0) / 1000
    took = f" for {seconds:.1f} s" if 0 < seconds < 10 else f" for {seconds:.0f} s" if seconds else ""
    body = reasoning.strip().replace("</details>", "&lt;/details>")  # its text cannot end the block early
    return f"<details><summary>{'Thought' + took if took else 'Thoughts'}</summary>\n\n{body}\n\n</details>"


READER_TEXT_LIMIT = 100_000


def reader_text(messages: list[dict[str, Any]], *, model: str | None, workspace: str | None = None) -> str:
    """The transcript as plain text, for readers without a kernel (nbconvert, notebook viewers): plain text is
    never interpreted as HTML, so nothing in it can run."""
    where = f" (workspace {workspace})" if workspace else ""
    lines = [f"kaito-widget chat with {model or 'a model'}{where}: {len(messages)} messages.",
             "The live chat needs a running kernel; this is the saved transcript.", ""]
    names = {"user": "You", "assistant": "Assistant", "system": "System"}
    for m in messages:
        version = f" (version {m['version']} of {m['versions']})" if m.get("versions") else ""
        lines.append(f"── {names.get(m.get('role', ''), m.get('role', ''))}{version} ──")
        if m.get("reasoning"):
            lines += ["[thinking]", str(m["reasoning"]).strip(), "[/thinking]"]
        for step in m.get("tool_steps") or ():
            status = STATUS_LABELS.get(step.get("status"), str(step.get("status")))
            lines += [f"[tool call {step.get('name')}({step.get('arguments')}): {status}]",
                      str(step.get("content") or "")[:2000], "[/tool call]"]
        lines.append(str(m.get("content", "")))
        if m.get("attachments"):
            lines += [f"[attached: {describe(a)}]" for a in m["attachments"]]
        if m.get("sources"):
            lines += ["[sources, closest first]", *sources_lines(m["sources"]), "[/sources]"]
        if m.get("stopped"):
            lines.append("[stopped]")
        if m.get("error"):
            lines.append(f"[error: {m['error']}]")
        lines.append("")
    text = "\n".join(lines)
    if len(text) > READER_TEXT_LIMIT:  # the full transcript is in the notebook's metadata anyway
        text = "…(earlier turns omitted)\n" + text[-READER_TEXT_LIMIT:]
    return text


def save_file(path: str | Path, *, markdown: Callable[[], str], data: Callable[[], dict[str, Any]],
              what: str = "save()") -> Path:
    """Write a transcript file: Markdown for ``.md``, JSON (loadable again) for ``.json``; anything else is refused
    before a file is touched. ``what`` names the caller in the error (``save()``, ``/save``)."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in (".md", ".json"):
        raise ValueError(f"{what} writes .md (Markdown) or .json files; got {path.name!r}.")
    text = markdown() if suffix == ".md" else json.dumps(data(), indent=2, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path
