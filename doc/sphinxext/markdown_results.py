"""Include the benchmarks' Markdown result files in the reST documentation.

The benchmark scripts write their results as Markdown (``benchmarks/results``).
The directive ``.. markdown-results:: <path>`` converts such a file to reST
when the documentation is built and inserts it in place, so the benchmarks
page always shows the committed results, with no copy to keep in sync.

Only the subset of Markdown that the scripts write is understood: ATX headings
(``#``, ``##``, ...), paragraphs, ``- `` bullet lists (with indented
continuation lines), pipe tables (the second row being the alignment row),
fenced code blocks, images alone on a line (``![alt](file.png)``, the path
relative to the Markdown file), and inline ``code``, ``**bold**``,
``*emphasis*`` and ``[text](url)`` links. Anything else is kept as reST text.
"""

import re
from pathlib import Path

from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList

# Underline characters of Markdown heading levels 1, 2, 3, ... inside the
# including page (whose own title uses "=").
DEFAULT_HEADING_CHARS = "-~^\"'"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_ALIGN_CELL = re.compile(r"^\s*:?-{3,}:?\s*$")
_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_IMAGE = re.compile(r"^\s*!\[([^\]]*)\]\(([^)\s]+)\)\s*$")
# A line that reST would read as the start of an enumerated list: "(a) ...",
# "a) ...", "1. ...".
_ENUMERATOR = re.compile(r"^(\(?[0-9A-Za-z#]{1,3}[.)])(\s)")


def _escape_text(text):
    """Escape the characters of plain Markdown text that reST treats as markup.

    Bold and emphasis markers are kept (their syntax is the same in reST);
    backslashes, a trailing underscore of a word (a reST reference) and a
    ``|`` (a substitution reference) are escaped.
    """
    text = text.replace("\\", "\\\\")
    text = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", text)
    text = text.replace("|", "\\|")
    return text


def _inline(text):
    """Markdown inline markup of one line or cell -> reST."""
    out = []
    pos = 0
    for match in _CODE.finditer(text):
        out.append(_inline_text(text[pos:match.start()]))
        code = match.group(2).strip()
        literal = f"``{code}``"
        # reST needs a literal to be delimited by whitespace or punctuation.
        before = text[match.start() - 1] if match.start() > 0 else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if before.isalnum():
            literal = "\\ " + literal
        if after.isalnum() or after in "_(":
            literal += "\\ "
        out.append(literal)
        pos = match.end()
    out.append(_inline_text(text[pos:]))
    return "".join(out)


def _inline_text(text):
    """Inline markup of text that holds no code span: links, then escapes."""
    out = []
    pos = 0
    for match in _LINK.finditer(text):
        out.append(_escape_text(text[pos:match.start()]))
        out.append(f"`{_escape_text(match.group(1))} <{match.group(2)}>`__")
        pos = match.end()
    out.append(_escape_text(text[pos:]))
    return "".join(out)


def _paragraph_start(text):
    """Inline markup, with a leading enumerator escaped (not a list)."""
    text = _inline(text)
    return _ENUMERATOR.sub(r"\\\1\2", text)


def _split_row(line):
    cells = line.strip()[1:-1].split("|")
    return [cell.strip() for cell in cells]


def _table(rows, table_class):
    """Pipe-table rows (header, alignment, body...) -> a reST list-table."""
    header = _split_row(rows[0])
    body = [_split_row(row) for row in rows[1:]]
    if body and all(_ALIGN_CELL.match(cell) for cell in body[0]):
        body = body[1:]
    lines = [".. list-table::", "   :header-rows: 1"]
    if table_class:
        lines.append(f"   :class: {table_class}")
    lines.append("")
    for row in [header] + body:
        row = row + [""] * (len(header) - len(row))
        for k, cell in enumerate(row[: len(header)]):
            prefix = "   * - " if k == 0 else "     - "
            lines.append(prefix + _paragraph_start(cell) if cell else prefix.rstrip())
    lines.append("")
    return lines


def markdown_to_rst(markdown, heading_chars=DEFAULT_HEADING_CHARS,
                    table_class=None, image_base=""):
    """Convert the Markdown of a benchmark result file to reST lines.

    Parameters
    ----------
    markdown : str
        The Markdown text.
    heading_chars : str, default="-~^\\"'"
        Underline character of each heading level (``#`` first).
    table_class : str or None, default=None
        CSS class given to every table.
    image_base : str, default=""
        Prefix of image paths: the Markdown file's folder relative to the
        including document (images are written relative to the Markdown file).

    Returns
    -------
    lines : list of str
        The reST text, line by line.
    """
    lines = markdown.splitlines()
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.lstrip().startswith("```"):
            fence = line.lstrip()[:3]
            code = []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(fence):
                code.append(lines[i])
                i += 1
            i += 1
            out += ["::", ""] + ["    " + c for c in code] + [""]
            continue
        image = _IMAGE.match(line)
        if image:
            target = image.group(2)
            if image_base and not re.match(r"^[a-z]+://|/", target):
                target = image_base.rstrip("/") + "/" + target
            out += [f".. image:: {target}", f"   :alt: {image.group(1)}", ""]
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            title = _inline(heading.group(2))
            char = heading_chars[min(level, len(heading_chars)) - 1]
            out += [title, char * len(title), ""]
            i += 1
            continue
        if _TABLE_ROW.match(line):
            rows = []
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                rows.append(lines[i])
                i += 1
            out += _table(rows, table_class)
            continue
        bullet = _BULLET.match(line)
        if bullet:
            while i < len(lines) and _BULLET.match(lines[i]):
                item = [_BULLET.match(lines[i]).group(1)]
                i += 1
                while (i < len(lines) and lines[i].strip()
                       and lines[i].startswith((" ", "\t"))):
                    item.append(lines[i].strip())
                    i += 1
                text = _paragraph_start(" ".join(item))
                out.append("- " + text)
            out.append("")
            continue
        paragraph = []
        while (i < len(lines) and lines[i].strip()
               and not _HEADING.match(lines[i])
               and not _TABLE_ROW.match(lines[i])
               and not _BULLET.match(lines[i])
               and not _IMAGE.match(lines[i])
               and not lines[i].lstrip().startswith("```")):
            paragraph.append(lines[i].strip())
            i += 1
        out += [_paragraph_start(" ".join(paragraph)), ""]
    return out


class MarkdownResults(Directive):
    """``.. markdown-results:: path`` (relative to the including document)."""

    required_arguments = 1
    option_spec = {
        "heading-chars": directives.unchanged,
        "class": directives.class_option,
    }
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        relative, absolute = env.relfn2path(self.arguments[0])
        path = Path(absolute)
        if not path.is_file():
            raise self.severe(f"markdown-results: no file {path}")
        env.note_dependency(relative)
        rst = markdown_to_rst(
            path.read_text(encoding="utf-8"),
            heading_chars=self.options.get("heading-chars", DEFAULT_HEADING_CHARS),
            table_class=" ".join(self.options.get("class", [])) or None,
            image_base=str(Path(self.arguments[0]).parent.as_posix()),
        )
        self.state_machine.insert_input(StringList(rst, str(path)), str(path))
        return []


def setup(app):
    app.add_directive("markdown-results", MarkdownResults)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
