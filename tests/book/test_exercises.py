"""Something to do on every page (issue 15, item 3), checked in the sources (fast, no build).

Every theory page of _toc.yml (a chapter's ``.md`` page; not the intro, the glossary, the
references or the instructors' guide) ends with a section ``## Exercises`` (only a closing
``## References`` may follow it) holding 3 to 6 ``{exercise}`` directives labelled
``ex-<page stem>-1``, ``-2``, ..., each followed by its ``{solution}`` with ``:class: dropdown``
(hidden until clicked). Every lab has 2 or 3 "Predict, then run" exercises labelled
``predict-<lab stem>-<n>``, each with its hidden solution, in a markdown cell right before the
code cell it is about. Labels are unique across the book.

The directives are read by the same markdown parser the book uses (myst-parser's markdown-it
with the book's extensions), so a fence inside a solution is not mistaken for a directive.
"""

import re
from pathlib import PurePosixPath

import nbformat
import pytest
from markdown_it.renderer import RendererHTML
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from tests.conftest import ROOT, toc_pages

NOT_THEORY = {"intro", "glossary", "references", "instructors"}
PAGES = toc_pages()
THEORY = [p for p in PAGES if (ROOT / f"{p}.md").exists() and PurePosixPath(p).name not in NOT_THEORY]
LABS = [p for p in PAGES if p.endswith("-lab") and (ROOT / f"{p}.ipynb").exists()]
PARSER = create_md_parser(
    MdParserConfig(enable_extensions={"colon_fence", "dollarmath", "amsmath", "deflist"}),
    RendererHTML)


def stem(page):
    return PurePosixPath(page).name


def blocks(markdown):
    """The top-level h2 headings and directives of a markdown text, in order, as
    ("heading", title) and (directive name, argument, options, body) tuples."""
    tokens = PARSER.parse(markdown)
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h1", "h2"):
            found.append(("heading", token.tag, tokens[index + 1].content.strip()))
        elif token.type in ("fence", "colon_fence") and token.info.startswith("{"):
            name, _, argument = token.info.partition("}")
            options, body = {}, token.content.splitlines()
            while body and (match := re.match(r"^:([\w-]+):\s*(.*)$", body[0])):
                options[match.group(1)] = match.group(2).strip()
                body.pop(0)
            found.append((name[1:], argument.strip(), options, "\n".join(body).strip()))
    return found


def pairs(found):
    """(exercise, following solution) pairs; a solution that does not follow its exercise
    directly is paired with None, and an exercise without one with None."""
    directives = [b for b in found if b[0] in ("exercise", "solution")]
    result = []
    for index, block in enumerate(directives):
        if block[0] == "exercise":
            following = directives[index + 1] if index + 1 < len(directives) else None
            result.append((block, following if following and following[0] == "solution" else None))
        elif index == 0 or directives[index - 1][0] != "exercise":
            result.append((None, block))
    return result


def check_pair(exercise, solution):
    """Problems with one exercise and its solution (an empty list when it is right)."""
    if exercise is None:
        return [f"solution {solution[1]!r} does not follow its exercise"]
    label = exercise[2].get("label")
    problems = []
    if solution is None:
        return [f"exercise {label!r} is not followed by its solution"]
    if solution[1] != label:
        problems.append(f"solution {solution[1]!r} follows exercise {label!r}")
    if solution[2].get("class") != "dropdown":
        problems.append(f"solution {solution[1]!r} is not hidden (`:class: dropdown`)")
    if not exercise[3] or not solution[3]:
        problems.append(f"exercise {label!r} or its solution is empty")
    return problems


def theory_exercises(page):
    """The exercises of the page's final ``## Exercises`` section, as (exercise, solution)
    pairs, after checking that the section is where it must be."""
    found = blocks((ROOT / f"{page}.md").read_text())
    headings = [(i, b[2]) for i, b in enumerate(found) if b[0] == "heading" and b[1] == "h2"]
    titles = [title for _, title in headings]
    assert "Exercises" in titles, f"{page}.md has no '## Exercises' section"
    start = max(i for i, title in headings if title == "Exercises")
    after = [title for i, title in headings if i > start]
    assert after in ([], ["References"]), (
        f"{page}.md must end with its exercises (only '## References' may follow), "
        f"but {after} follow them")
    end = next((i for i, _ in headings if i > start), len(found))
    section = found[start + 1:end]
    outside = [b for i, b in enumerate(found)
               if b[0] in ("exercise", "solution") and not start < i < end]
    assert not outside, f"{page}.md has exercises outside its '## Exercises' section"
    return pairs(section)


def test_there_are_theory_pages_and_labs():
    assert len(THEORY) >= 15 and len(LABS) >= 15


@pytest.mark.parametrize("page", THEORY, ids=stem)
def test_theory_page_ends_with_three_to_six_exercises(page):
    exercises = theory_exercises(page)
    assert 3 <= len(exercises) <= 6, f"{page}.md has {len(exercises)} exercises, not 3-6"


@pytest.mark.parametrize("page", THEORY, ids=stem)
def test_every_exercise_is_followed_by_its_hidden_solution(page):
    problems = [p for exercise, solution in theory_exercises(page)
                for p in check_pair(exercise, solution)]
    assert not problems, f"{page}.md: " + "; ".join(problems)


@pytest.mark.parametrize("page", THEORY, ids=stem)
def test_theory_exercises_are_labelled_by_page_and_number(page):
    labels = [exercise[2].get("label") for exercise, _ in theory_exercises(page) if exercise]
    expected = [f"ex-{stem(page)}-{n}" for n in range(1, len(labels) + 1)]
    assert labels == expected, f"{page}.md: labels {labels}, expected {expected}"


def lab_cells(page):
    return nbformat.read(ROOT / f"{page}.ipynb", as_version=4).cells


def lab_exercises(page):
    """(cell index, exercise, solution) for every exercise in the lab's markdown cells."""
    found = []
    for index, cell in enumerate(lab_cells(page)):
        if cell.cell_type == "markdown":
            found += [(index, e, s) for e, s in pairs(blocks(cell.source))]
    return found


@pytest.mark.parametrize("page", LABS, ids=stem)
def test_lab_has_two_or_three_predict_then_run_questions(page):
    exercises = lab_exercises(page)
    assert 2 <= len(exercises) <= 3, f"{page} has {len(exercises)} 'predict, then run' questions"
    titles = [e[1] for _, e, _ in exercises if e]
    assert all(t.lower().startswith("predict, then run") for t in titles), titles


@pytest.mark.parametrize("page", LABS, ids=stem)
def test_lab_questions_have_hidden_solutions_and_lab_labels(page):
    exercises = lab_exercises(page)
    problems = [p for _, e, s in exercises for p in check_pair(e, s)]
    assert not problems, f"{page}: " + "; ".join(problems)
    labels = [e[2].get("label") for _, e, _ in exercises if e]
    expected = [f"predict-{stem(page)}-{n}" for n in range(1, len(labels) + 1)]
    assert labels == expected, f"{page}: labels {labels}, expected {expected}"


@pytest.mark.parametrize("page", LABS, ids=stem)
def test_each_lab_question_comes_right_before_the_code_it_is_about(page):
    cells = lab_cells(page)
    late = [e[2].get("label") for index, e, _ in lab_exercises(page)
            if e and (index + 1 >= len(cells) or cells[index + 1].cell_type != "code")]
    assert not late, f"{page}: {late} are not in the markdown cell right before a code cell"


def test_exercise_labels_are_unique_across_the_book():
    labels = [e[2].get("label") for page in THEORY for e, _ in theory_exercises(page) if e]
    labels += [e[2].get("label") for page in LABS for _, e, _ in lab_exercises(page) if e]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    assert not duplicates, f"labels used more than once: {duplicates}"
