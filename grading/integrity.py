"""Find code in a submission that could make tests pass without solving the task.

nbgrader runs the tests in the student's own kernel, so a student can replace what the tests
rely on: ``np.allclose = lambda *a, **k: True``, ``np.testing.assert_allclose = print``, a
result object whose ``__eq__`` always says yes, a patched ``builtins.abs``, a rebound ``np``. No
check inside that kernel can be trusted (the student's code ran first and could have patched the
check too), so this one reads the submitted notebook *outside* it, as text, before any of it
runs: every cell the student could edit is parsed and searched for the ways to reach into other
code. A finding does not prove cheating; the grader withholds the autograded points and asks an
instructor to look (``needs manual grading``), which costs a minute for an honest student and
closes the door for everyone else.

What counts as reaching in (each with the reason an honest solution never needs it):

* assigning to, or deleting, an attribute of an imported module or of anything with a dunder
  name (``np.allclose = ...``, ``x.__class__ = ...``): solutions compute, they do not patch;
* defining comparison, truth or conversion dunders (``__eq__``, ``__bool__``, ``__array__``, ...)
  in a class: the only thing such a method can do in these exercises is fool an ``assert``;
* rebinding a name that a locked cell bound (``np = FakeNumPy()``, ``def cdist(...)``), unless
  it is the very same import again;
* the reflection and execution tools that do the same things indirectly: ``setattr``,
  ``delattr``, ``exec``, ``eval``, ``compile``, ``__import__``, ``globals``, ``vars``,
  ``get_ipython``, the modules ``builtins``, ``gc``, ``ctypes``, ``inspect``, ``importlib``,
  ``unittest.mock``, ``linecache``, IPython's history (``In``, ``Out``, ``_ih``, ``_i3``:
  it holds the code of the hidden tests that ran before), the import and frame hooks of
  ``sys`` (``sys.modules``, ``sys._getframe``, ``sys.settrace``, ``sys.path``, ...), and frame
  or dunder attributes (``__dict__``, ``__globals__``, ``f_back``, ...), also when read through
  ``getattr`` (``getattr(print, "__self__")`` is ``builtins``) or by a computed name;
* the kernel itself: ``IPython`` (except ``IPython.display``), ``ipykernel``,
  ``jupyter_client``, ``zmq`` (the shell can silence every failed test), and code that runs
  bytes or files the scan cannot read: ``pickle`` (and ``allow_pickle=``), ``marshal``,
  ``runpy``, ``site``, ``code``...; a cell too deeply nested to parse is a finding too;
* IPython magics and shell escapes (``%run``, ``!cmd``), and code that does not parse.

Honest idioms pass: ``import sys`` to print a version, a ``@dataclass``, ``%matplotlib
inline``, and the timing magics ``%time``, ``%%time``, ``%timeit``, ``%%timeit``, whose timed
code is checked like any other line.
"""

import ast
import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

FORBIDDEN_CALLS = {
    "setattr", "delattr", "exec", "eval", "compile", "__import__", "globals", "vars",
    "get_ipython", "breakpoint", "attrgetter", "methodcaller",
}
FORBIDDEN_MODULES = {"builtins", "gc", "ctypes", "inspect", "importlib", "unittest", "mock",
                     "linecache",
                     # the kernel itself: its shell, its messages (IPython.display is allowed)
                     "IPython", "ipykernel", "jupyter_client", "zmq", "comm",
                     # code run from bytes or files the scan cannot read
                     "pickle", "marshal", "shelve", "dill", "cloudpickle", "runpy", "pkgutil",
                     "site", "zipimport", "code", "codeop"}
ALLOWED_SUBMODULES = {"IPython.display"}
# IPython's input and output history: a later cell could print the hidden tests that ran before.
HISTORY_NAMES = re.compile(r"^(?:In|Out|_ih|_oh|_dh|_ii|_iii|_i\d+)$")
# What of sys can reach into other code: the module table and import machinery, frames, tracing.
SYS_HOOKS = {
    "modules", "meta_path", "path_hooks", "path_importer_cache", "_getframe", "_current_frames",
    "settrace", "setprofile", "addaudithook", "displayhook", "excepthook", "breakpointhook",
    "path",  # the working folder back on it: a module the notebook wrote replaces a library
}
# Magics that only time or draw what a cell does: the cell's code is checked without them.
TIMING_MAGIC = re.compile(r"^(\s*)%(?:time|timeit)((?:\s+-(?:[nrp]\s*\d+|[tcqov]))*)\s+(?=\S)")
CELL_TIMING_MAGIC = re.compile(r"^%%(?:time|timeit)((?:\s+-(?:[nrp]\s*\d+|[tcqov]))*)\s*$")
MATPLOTLIB_MAGIC = re.compile(r"^(\s*)%matplotlib(?:\s+\w+)?\s*$")
PATCHING_DUNDERS = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
    "__float__", "__int__", "__index__", "__complex__", "__abs__", "__array__",
    "__array_ufunc__", "__array_function__", "__array_priority__", "__torch_function__",
    "__instancecheck__", "__subclasscheck__", "__getattr__", "__getattribute__",
}
HARMLESS_DUNDERS = {"__init__", "__name__", "__doc__", "__call__", "__class__", "__version__",
                    "__file__", "__len__", "__getitem__", "__repr__", "__str__"}
FRAME_ATTRIBUTES = {"f_back", "f_globals", "f_locals", "f_builtins", "tb_frame", "gi_frame"}


@dataclass(frozen=True)
class Finding:
    cell: str  # the cell's grade_id, or "cell <index>" for a cell without one
    line: int
    what: str

    def __str__(self):
        return f"{self.cell}, line {self.line}: {self.what}"


def check_notebook(notebook, trusted):
    """All findings in the code cells of a submitted ``notebook`` (nbformat) except the trusted.

    ``trusted`` maps the grade_id of each locked cell of the source notebook to its source text.
    nbgrader replaces the text of the first submitted cell with such a grade_id by the source's
    before running it (a later copy loses its grade_id and runs as the student wrote it), so
    that cell is skipped and its *source* text gives the names (imports, functions, classes)
    that the other cells must not rebind.
    """
    protected = {}
    findings = []
    seen = set()
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in trusted and grade_id not in seen:
            seen.add(grade_id)
            protected.update(bound_names(trusted[grade_id]))
            continue
        findings.extend(check_cell(cell.source, grade_id or f"cell {index + 1}", protected))
    return findings


def check_cell(source, label, protected):
    """Findings in one student cell; ``protected`` maps names bound by locked cells to how."""
    try:
        return check_parsed_cell(source, label, protected)
    except (RecursionError, MemoryError):  # `x = 1 + 1 + ... + 1`, 1,000 terms, is enough
        return [Finding(label, 1, "code nested too deeply to be checked")]


def check_parsed_cell(source, label, protected):
    source = without_harmless_magics(source)
    python = TransformerManager().transform_cell(source)
    if "get_ipython()" in python and "get_ipython()" not in source:
        return [Finding(label, 1, "an IPython magic or shell command (% or !)")]
    try:
        tree = ast.parse(python)
    except SyntaxError as error:
        return [Finding(label, error.lineno or 1, "code that does not parse, so cannot be checked")]
    modules = imported_modules(tree)
    sys_names = names_of_sys(tree)
    findings = []
    for node in ast.walk(tree):
        what = reach_in(node, modules) or reach_through_sys(node, sys_names)
        if what:
            findings.append(Finding(label, getattr(node, "lineno", 1), what))
    for node, name in global_bindings(tree):
        if name in protected and not same_import(node, name, protected):
            findings.append(Finding(label, node.lineno, f"rebinds {name}, which a locked cell "
                                    f"bound ({protected[name]})"))
    return findings


def without_harmless_magics(source):
    """``source`` with the timing magics and ``%matplotlib`` taken away, so that the code they
    run is checked as plain Python and any other magic is still found. A removed line becomes
    ``pass`` (IPython drops leading blank lines), so findings keep their line numbers."""
    lines = source.split("\n")
    if lines and CELL_TIMING_MAGIC.match(lines[0]):
        lines[0] = "pass"
    lines = [MATPLOTLIB_MAGIC.sub(r"\1pass", TIMING_MAGIC.sub(r"\1", line)) for line in lines]
    return "\n".join(lines)


def names_of_sys(tree):
    """The names under which the cell imports the module ``sys``."""
    return {alias.asname or "sys" for node in ast.walk(tree) if isinstance(node, ast.Import)
            for alias in node.names if alias.name == "sys"}


def reach_through_sys(node, sys_names):
    """Why ``node`` uses a hook of ``sys`` (or hands ``sys`` on), or None."""
    if isinstance(node, ast.ImportFrom) and node.module == "sys":
        hooks = sorted(alias.name for alias in node.names if alias.name in SYS_HOOKS | {"*"})
        return f"imports {', '.join(hooks)} from sys" if hooks else None
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
            node.value.id in sys_names and node.attr in SYS_HOOKS):
        return f"uses sys.{node.attr}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
            node.func.id == "getattr" and node.args and isinstance(node.args[0], ast.Name)
            and node.args[0].id in sys_names):
        return "reads an attribute of sys through getattr"
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and isinstance(
            node.value, ast.Name) and node.value.id in sys_names:
        return "gives sys another name"
    return None


def reach_in(node, modules):
    """Why ``node`` reaches into code it should not, or None."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return forbidden_import(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
            node.func.id in FORBIDDEN_CALLS):
        return f"calls {node.func.id}()"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
            node.func.attr in FORBIDDEN_CALLS):  # IPython.get_ipython(), shell.exec(...)
        return f"calls {ast.unparse(node.func)}()"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
            node.func.id == "getattr" and len(node.args) >= 2):
        # getattr(print, "__self__") is the builtins module, and from it exec: read the
        # name as if it were written as an attribute
        name = node.args[1]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            return "reads an attribute through getattr by a computed name"
        if name.value in FRAME_ATTRIBUTES | FORBIDDEN_CALLS or (
                is_dunder(name.value) and name.value not in HARMLESS_DUNDERS):
            return f"reads the attribute {name.value} through getattr"
    if isinstance(node, ast.Call) and any(
            keyword.arg == "allow_pickle" for keyword in node.keywords):
        return "loads pickled data (allow_pickle), which can run any code"
    if isinstance(node, ast.Attribute):
        changes = isinstance(node.ctx, (ast.Store, ast.Del))
        if node.attr in FRAME_ATTRIBUTES or (is_dunder(node.attr) and (
                changes or node.attr not in HARMLESS_DUNDERS)):
            return f"uses the attribute {node.attr}"
        if changes and root_name(node) in modules:
            return f"changes {ast.unparse(node)}, an attribute of an imported module"
    if isinstance(node, ast.Name) and is_dunder(node.id) and node.id not in HARMLESS_DUNDERS:
        return f"uses {node.id}"
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and HISTORY_NAMES.match(
            node.id):
        return f"reads IPython's history ({node.id}), which holds the hidden tests' code"
    if isinstance(node, ast.ClassDef):
        patched = sorted(
            defined_name(item) for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign))
            and defined_name(item) in PATCHING_DUNDERS
        )
        if patched:
            return f"class {node.name} defines {', '.join(patched)}"
    return None


def forbidden_import(node):
    if isinstance(node, ast.Import):  # `import IPython.display` binds all of IPython
        names = [alias.name if alias.asname else alias.name.split(".")[0] for alias in node.names]
    elif node.module in {name.split(".")[0] for name in ALLOWED_SUBMODULES}:
        names = [f"{node.module}.{alias.name}" for alias in node.names]  # from IPython import x
    else:
        names = [node.module or ""]
    for name in names:
        allowed = any(is_within(name, module) for module in ALLOWED_SUBMODULES)
        if (name.split(".")[0] in FORBIDDEN_MODULES and not allowed) or name.endswith(".mock"):
            return f"imports {name}"
    return None


def is_within(name, module):
    return name == module or name.startswith(module + ".")


def same_import(node, name, protected):
    """Whether ``node`` imports ``name`` exactly as the locked cell did (harmless)."""
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return False
    return dict(import_bindings(node)).get(name) == protected[name]


def bound_names(source):
    """What a locked cell gives later cells to rely on: its imports, functions and classes,
    mapped to their origin ("import numpy", "def library_calls"). Plain variables are left
    out: tests assign their own inputs again before using them."""
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return {}
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(import_bindings(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = f"def {node.name}"
    return names


def global_bindings(tree):
    """(node, name) for every global name the cell binds: top-level statements (not inside
    functions, classes or comprehensions), and names a function declares ``global``."""
    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Global):
                found.extend((child, name) for name in child.names)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append((child, child.name))
                visit_globals_only(child)
                continue
            if isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                  ast.GeneratorExp)):
                continue
            if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                found.append((child, child.id))
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((child, alias) for alias, _ in import_bindings(child))
            visit(child)

    def visit_globals_only(node):
        for child in ast.walk(node):
            if isinstance(child, ast.Global):
                found.extend((child, name) for name in child.names)

    visit(tree)
    return found


def import_bindings(node):
    """(bound name, origin) pairs of an import statement."""
    if isinstance(node, ast.Import):
        return [
            ((alias.asname or alias.name.split(".")[0]),
             f"import {alias.name if alias.asname else alias.name.split('.')[0]}")
            for alias in node.names
        ]
    return [
        (alias.asname or alias.name, f"from {node.module} import {alias.name}")
        for alias in node.names
    ]


def imported_modules(tree):
    """Names that refer to imported modules or their contents anywhere in the cell: imports
    (``np``, ``F``), the usual aliases the locked cells import, and names assigned from them
    (``t = np.testing``), followed until nothing new turns up."""
    names = {"np", "numpy", "torch", "scipy", "math", "os", "nn", "F", "plt", "sklearn"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.asname or alias.name for alias in node.names)
    assignments = [node for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.For))]
    while True:
        aliases = {
            target.id
            for node in assignments
            if refers_to(node.value if isinstance(node, ast.Assign) else node.iter, names)
            for target in ast.walk(node.targets[0] if isinstance(node, ast.Assign) else node.target)
            if isinstance(target, ast.Name)
        }
        if aliases <= names:
            return names
        names |= aliases


def refers_to(expression, names):
    """Whether ``expression`` is, or holds, one of ``names`` or an attribute of one."""
    if isinstance(expression, (ast.Tuple, ast.List, ast.Set)):
        return any(refers_to(element, names) for element in expression.elts)
    return isinstance(expression, (ast.Name, ast.Attribute, ast.Subscript)) and (
        root_name(expression) in names)


def root_name(node):
    """The name an attribute chain starts from: ``np`` for ``np.testing.x`` and for
    ``getattr(np, "testing").x``."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if isinstance(node, ast.Call):
            is_getattr = isinstance(node.func, ast.Name) and node.func.id == "getattr"
            node = node.args[0] if is_getattr and node.args else node.func
        else:
            node = node.value
    return node.id if isinstance(node, ast.Name) else None


def defined_name(item):
    if isinstance(item, ast.Assign):
        return next((t.id for t in item.targets if isinstance(t, ast.Name)), None)
    return item.name


def is_dunder(name):
    return name.startswith("__") and name.endswith("__")
