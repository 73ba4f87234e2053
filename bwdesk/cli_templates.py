"""`bwdesk templates list|add|remove|import|export` (docs/design.md §17.3, §17.6); `cli_directory.py` parses
and dispatches, and its exit statuses hold here too.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import IO, TYPE_CHECKING

from bwdesk.cli import UsageError, read_stdin_text
from bwdesk.cli_directory import EXIT_OK, Command, TextOut, json_array, plural, report_problems, source_name

if TYPE_CHECKING:
    from bwdesk.core.account import Context
    from bwdesk.core.directory.store import DirectoryStore
    from bwdesk.core.directory.template_book import Scope, Template


def _scope(args: argparse.Namespace) -> Scope:
    from bwdesk.core.directory.template_book import Scope

    return Scope.TEAM if args.team else Scope.PERSONAL


def _refuse_locked(context: Context, name: str) -> None:
    """IT's templates cannot be changed, replaced or shadowed from here."""
    from bwdesk.core.directory.template_book import locked_named

    locked = locked_named(context.loaded.templates, name)
    if locked is not None:
        raise UsageError(
            f"name: {locked.name!r} is a template your administrator set in the system settings file; it cannot "
            "be changed or removed here. Choose another name for yours. Nothing changed."
        )


def _save_template(
    context: Context, directory: DirectoryStore, template: Template, replace_it: bool
) -> Template:
    from bwdesk.core.directory.store import ScopeNotKept, TemplateExists

    try:
        return directory.save_template(template, replace=replace_it)
    except TemplateExists as exc:
        raise UsageError(f"name: {exc} Add --replace to change it. Nothing changed.") from None
    except ScopeNotKept as exc:
        raise UsageError(f"team: {_not_kept(context, exc)} Nothing changed.") from None


def _not_kept(context: Context, exc: Exception) -> str:
    """Why team templates cannot be kept: no team history here, or a team history URL that cannot be used."""
    if context.settings.history_url:
        return (
            "This desk's team history URL cannot be used (`bwdesk team status` says why), so team templates "
            "cannot be kept; keep this one as a personal template (leave out --team) until it is fixed."
        )
    return str(exc)


def templates_list(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.choice import template_book

    book = template_book(context, directory)
    if args.json:
        json_array((template.to_json() for template in book.all()), out)
        return EXIT_OK
    for template in book.all():
        marks = f"[{template.scope.value}]" + (f" tag {template.tag}" if template.tag else "")
        marks += f" +{len(template.media)} media" if template.media else ""
        text = " ".join(template.text.split())
        print(f"{template.name:<28} {marks:<20} {text[:60] + ('…' if len(text) > 60 else '')}", file=out)
    if not len(book):
        print("No templates yet: add one with bwdesk templates add NAME --text TEXT", file=out)
    return EXIT_OK


def templates_add(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.template_book import Template, template_problems

    media = tuple(link.strip() for link in args.media if link.strip())
    template = Template(args.name, _template_text(args), args.tag.strip(), media, _scope(args))
    _refuse_locked(context, template.name)
    problems = template_problems(template)
    if problems:
        raise UsageError("; ".join(str(p) for p in problems) + ". Nothing was saved.")
    saved = _save_template(context, directory, template, args.replace)
    print(f"Saved the {saved.scope.value} template {saved.name!r}.", file=out)
    return EXIT_OK


def _template_text(args: argparse.Namespace) -> str:
    from bwdesk.core.message import normalise_line_breaks

    if args.text is not None:
        return normalise_line_breaks(str(args.text))
    try:
        if args.text_file == "-":
            data = read_stdin_text()
        else:
            with open(args.text_file, encoding="utf-8-sig") as handle:
                data = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = (
            "it is not UTF-8 text"
            if isinstance(exc, UnicodeDecodeError)
            else (exc.strerror or str(exc)).lower()
        )
        raise UsageError(
            f"text: cannot read --text-file {args.text_file}: {why}. Nothing was saved."
        ) from None
    data = normalise_line_breaks(data.removeprefix("\ufeff"))
    return data[:-1] if data.endswith("\n") else data


def templates_remove(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.store import ScopeNotKept
    from bwdesk.core.directory.template_book import clean_name, name_key

    scope = _scope(args)
    _refuse_locked(context, args.name)
    try:
        # Said back as it is stored ("Thanks"), not as typed ("thanks"): names match without regard to case.
        stored = next(
            (
                t.name
                for t in directory.templates()
                if t.scope is scope and name_key(t.name) == name_key(args.name)
            ),
            clean_name(args.name),
        )
        removed = directory.remove_template(args.name, scope)
    except ScopeNotKept as exc:
        raise UsageError(f"team: {_not_kept(context, exc)} Nothing changed.") from None
    if not removed:
        raise UsageError(
            f"name: there is no {scope.value} template called {clean_name(args.name)!r}. Nothing changed."
        )
    print(f"Deleted the {scope.value} template {stored!r}.", file=out)
    return EXIT_OK


def templates_import(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    from bwdesk.core.directory.template_book import templates_from_json

    try:
        if args.path == "-":
            data = json.loads(read_stdin_text())
        else:
            with open(args.path, encoding="utf-8-sig") as handle:
                data = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(
            f"import: cannot read {source_name(args.path)} as JSON: {exc}. Nothing was imported."
        ) from None
    found, problems = templates_from_json(data, _scope(args))
    saved = 0
    for template in found:
        try:
            _refuse_locked(context, template.name)
            _save_template(context, directory, template, args.replace)
        except UsageError as exc:
            problems.append(
                f"template {template.name!r}: {str(exc).partition(': ')[2].removesuffix(' Nothing changed.')}"
            )
            continue
        saved += 1
    refused = f"; {len(problems)} not (below)" if problems else ""
    print(f"Saved {plural(saved, 'template')}{refused}.", file=out)
    return report_problems(problems, err)


def templates_export(
    args: argparse.Namespace, context: Context, directory: DirectoryStore, out: TextOut, err: IO[str]
) -> int:
    """The templates this store keeps (IT's are IT's to hand out), in the form `import` reads."""
    from bwdesk.core.directory.template_book import templates_to_json

    kept = templates_to_json(directory.templates())
    text = json.dumps(kept, ensure_ascii=False, indent=2) + "\n"
    if args.path == "-":
        out.write(text)
        return EXIT_OK
    try:
        fd = os.open(args.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"export: cannot write {args.path}: {(exc.strerror or str(exc)).lower()}.") from None
    print(f"Wrote {plural(len(kept), 'template')} to {args.path}.", file=out)
    return EXIT_OK


TEMPLATE_COMMANDS: dict[str, Command] = {
    "list": templates_list,
    "add": templates_add,
    "remove": templates_remove,
    "import": templates_import,
    "export": templates_export,
}
