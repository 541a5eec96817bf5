"""Formulas a person types, made safe: parsed once into a small tree, from which come the
TensorFlow function, the LaTeX, the exact derivative (sympy) and the code-panel text.

The text goes through Python's own parser (``ast.parse(mode="eval")`` only builds a syntax tree;
nothing is run) and then an allow-list: numbers, ``x`` and ``k``, ``pi`` and ``e``, ``+ - * / **``,
unary minus and one-argument functions from ``FUNCTIONS``. Nothing here evaluates text: no
``eval``, ``exec``, ``compile``, and sympy objects are built with constructors from the tree,
never parsed from a string. Every cap (length, characters, nodes, nesting, exponents) is checked
before any work is done, and a broken formula gets a message that says where and why."""

from __future__ import annotations

import ast
import math
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable, Mapping

import numpy as np
import sympy
import tensorflow as tf

from gradlib.core import Tensor, elementwise_custom_gradient

MAX_LENGTH = 200  # characters
MAX_NODES = 80  # numbers, names, operators and calls
MAX_NESTING = 40  # operators and calls inside one another (a sum of n terms nests n − 1 deep)
MAX_EXPONENT = 64  # |a constant exponent|: 9**9**9 must not reach sympy, which would compute it exactly
MAX_LITERAL = 1e6  # |a number written in the formula|
VARIABLES = ("x", "k", "y")  # k: a surrogate's scale; y: the forward's output, in a backward formula
CONSTANTS: Mapping[str, float] = {"pi": math.pi, "e": math.e}
# Printable ASCII only: no control characters, no look-alike letters. What Python's parser makes of
# the rest is then refused or allowed by node type, with a message that names it.
ALLOWED_CHARACTERS = frozenset(chr(code) for code in range(0x20, 0x7F))


class ExpressionError(ValueError):
    """A formula that cannot be used, with a message meant for the person who typed it."""


@dataclass(frozen=True)
class Function:
    tf: Callable[[Tensor], Tensor]
    sympy: Callable[[sympy.Expr], sympy.Expr]
    code: str  # TF source with {} for the argument


_X = sympy.Symbol("x", real=True)
_SYMBOLS = {"x": _X, "k": sympy.Symbol("k", positive=True), "y": sympy.Symbol("y", real=True)}


# sympy has no sigmoid or softplus, and differentiates tanh into 1 − tanh², which cancels to 0 for
# large |x|. These three differentiate into forms without cancellation and print as written.
class _Named(sympy.Function):
    latex_name = ""

    def _latex(self, printer, exp: str | None = None) -> str:
        text = rf"{self.latex_name}\left({printer._print(self.args[0])}\right)"
        return text if exp is None else rf"{text}^{{{exp}}}"


class _Sigmoid(_Named):
    latex_name = r"\sigma"

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return _Sigmoid(self.args[0]) * _Sigmoid(-self.args[0])  # σ(1 − σ), as σ(u)·σ(−u)


class _Softplus(_Named):
    latex_name = r"\operatorname{softplus}"

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return _Sigmoid(self.args[0])


class _Hardtanh(_Named):
    latex_name = r"\operatorname{hardtanh}"

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.Heaviside(1 - sympy.Abs(self.args[0]))  # 1 inside [−1, 1], 0 outside


class _Tanh(_Named):
    latex_name = r"\tanh"

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return 1 / sympy.cosh(self.args[0]) ** 2


def _heaviside(u: Tensor) -> Tensor:
    # H(0) = 1/2, as sympy's Heaviside (the derivative of max(0, u) and of |u|'s sign at 0 does not matter).
    return tf.where(u > 0, tf.ones_like(u), tf.where(u < 0, tf.zeros_like(u), 0.5 * tf.ones_like(u)))


FUNCTIONS: Mapping[str, Function] = {
    "sin": Function(tf.sin, sympy.sin, "tf.sin({})"),
    "cos": Function(tf.cos, sympy.cos, "tf.cos({})"),
    "tan": Function(tf.tan, sympy.tan, "tf.tan({})"),
    "exp": Function(tf.exp, sympy.exp, "tf.exp({})"),
    "log": Function(tf.math.log, sympy.log, "tf.math.log({})"),
    "sqrt": Function(tf.sqrt, sympy.sqrt, "tf.sqrt({})"),
    "abs": Function(tf.abs, sympy.Abs, "tf.abs({})"),
    "tanh": Function(tf.tanh, _Tanh, "tf.tanh({})"),
    "sigmoid": Function(tf.sigmoid, _Sigmoid, "tf.sigmoid({})"),
    "softplus": Function(tf.math.softplus, _Softplus, "tf.math.softplus({})"),
    "log1p": Function(tf.math.log1p, lambda u: sympy.log(1 + u), "tf.math.log1p({})"),
    "hardtanh": Function(lambda u: tf.clip_by_value(u, -1, 1), _Hardtanh, "tf.clip_by_value({}, -1, 1)"),
    "erf": Function(tf.math.erf, sympy.erf, "tf.math.erf({})"),
    "sign": Function(tf.sign, sympy.sign, "tf.sign({})"),
    "relu": Function(tf.nn.relu, lambda u: sympy.Max(0, u), "tf.nn.relu({})"),
    "cosh": Function(tf.cosh, sympy.cosh, "tf.cosh({})"),
    "atan": Function(tf.atan, sympy.atan, "tf.atan({})"),
}
ALLOWED = (f"x (and k in a surrogate), {', '.join(CONSTANTS)}, numbers, + - * / ** and the functions "
           f"{', '.join(FUNCTIONS)}")
# What sympy's derivatives bring that a person does not type.
_DERIVATIVE_ONLY: Mapping[str, Function] = {
    "heaviside": Function(_heaviside, sympy.Heaviside, "tf.where(({0}) > 0, 1.0, tf.where(({0}) < 0, 0.0, 0.5))"),
}

_ALL_FUNCTIONS = {**FUNCTIONS, **_DERIVATIVE_ONLY}

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_NOT_ALLOWED = {  # node type -> what a person would call it
    ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[]')", ast.Lambda: "lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='",
    ast.Compare: "a comparison", ast.BoolOp: "'and'/'or'", ast.IfExp: "'if'/'else'", ast.Tuple: "a tuple (',')",
    ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set", ast.Starred: "'*' unpacking",
}


# ---- the tree --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    kind: str  # "number", "name", "negate", "binary", "call"
    value: float | str = 0.0  # the number, the name, the operator or the function
    children: tuple["Node", ...] = ()


def _count(node: Node) -> int:
    return 1 + sum(_count(child) for child in node.children)


def _nesting(node: Node) -> int:
    return 1 + max((_nesting(child) for child in node.children), default=0)


def _constant_value(node: Node) -> float | None:
    """The value of a subtree without x or k, in plain floats (None if it has a variable)."""
    if node.kind == "number":
        return float(node.value)
    if node.kind == "name":
        return CONSTANTS.get(str(node.value))
    values = [_constant_value(child) for child in node.children]
    if any(v is None for v in values):
        return None
    try:
        with np.errstate(all="ignore"):
            if node.kind == "negate":
                return -values[0]
            if node.kind == "call":
                return float(FUNCTIONS[str(node.value)].tf(tf.constant(values[0], tf.float64)))
            left, right = values
            return {"+": left + right, "-": left - right, "*": left * right,
                    "/": left / right if right else math.inf, "**": _power(left, right)}[str(node.value)]
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.inf


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT:
        return math.inf
    try:
        return float(base ** exponent) if not (base < 0 and not exponent.is_integer()) else math.nan
    except OverflowError:
        return math.inf


# ---- parsing ---------------------------------------------------------------------------------

def _describe(character: str) -> str:
    name = unicodedata.name(character, "") or "a control character"
    return f"{character!r} (U+{ord(character):04X} {name})"


def _check_characters(text: str) -> None:
    for column, character in enumerate(text, start=1):
        if character not in ALLOWED_CHARACTERS:
            raise ExpressionError(f"{_describe(character)} at column {column} is not allowed: use ASCII letters, "
                                  "digits, spaces and + - * / ** ( )")


def _convert(node: ast.AST, depth: int = 0) -> Node:
    if depth > 2 * MAX_LENGTH:  # cannot happen within MAX_LENGTH characters; a guard for recursion itself
        raise ExpressionError(f"the formula nests too deeply (at most {MAX_NESTING} levels)")
    if isinstance(node, ast.Expression):
        return _convert(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{node.value!r} at column {node.col_offset + 1} is not a number")
        if not abs(node.value) <= MAX_LITERAL:
            raise ExpressionError(f"the number at column {node.col_offset + 1} is larger than {MAX_LITERAL:g}")
        return Node("number", float(node.value))
    if isinstance(node, ast.Name):
        if node.id in VARIABLES or node.id in CONSTANTS:
            return Node("name", node.id)
        hint = " (it is a function: write it with one argument in parentheses)" if node.id in FUNCTIONS else ""
        raise ExpressionError(f"unknown name {node.id!r} at column {node.col_offset + 1}{hint}; "
                              f"allowed: {ALLOWED}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _convert(node.operand, depth + 1)
        return Node("negate", children=(operand,)) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return Node("binary", _OPERATORS[type(node.op)], (_convert(node.left, depth + 1),
                                                          _convert(node.right, depth + 1)))
    if isinstance(node, ast.Call):
        return _convert_call(node, depth)
    what = _NOT_ALLOWED.get(type(node)) or (
        f"the operator '{ast.unparse(node)}'" if isinstance(node, (ast.BinOp, ast.UnaryOp)) else type(node).__name__)
    raise ExpressionError(f"{what} at column {getattr(node, 'col_offset', 0) + 1} is not allowed; "
                          f"allowed: {ALLOWED}")


def _convert_call(node: ast.Call, depth: int) -> Node:
    column = node.col_offset + 1
    if not isinstance(node.func, ast.Name):
        raise ExpressionError(f"only a function name can be called (column {column}): no calls of calls, "
                              "methods or attributes")
    if node.func.id not in FUNCTIONS:
        raise ExpressionError(f"unknown function {node.func.id!r} at column {column}; allowed: {ALLOWED}")
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        raise ExpressionError(f"{node.func.id}() at column {column} takes exactly one argument, no keywords")
    return Node("call", node.func.id, (_convert(node.args[0], depth + 1),))


def _check_caps(tree: Node) -> None:
    if _count(tree) > MAX_NODES:
        raise ExpressionError(f"the formula has more than {MAX_NODES} parts; make it shorter")
    if _nesting(tree) > MAX_NESTING:
        raise ExpressionError(f"the formula nests more than {MAX_NESTING} levels deep")
    _check_exponents(tree)


def _check_exponents(node: Node) -> None:
    for child in node.children:
        _check_exponents(child)
    if node.kind == "binary" and node.value == "**":
        exponent = _constant_value(node.children[1])
        if exponent is not None and not abs(exponent) <= MAX_EXPONENT:
            raise ExpressionError(f"a constant exponent must be at most {MAX_EXPONENT} in size; this one is "
                                  f"{exponent:.6g}")


def parse(text: str, variables: tuple[str, ...] = ("x",)) -> Node:
    """The formula's tree, or ExpressionError saying what is wrong and where. ``variables`` are
    the names it may use (``x``; ``k`` too for a surrogate)."""
    if not isinstance(text, str):
        raise ExpressionError("a formula is text")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the formula is {len(text)} characters long; at most {MAX_LENGTH}")
    _check_characters(text)
    if not text.strip():
        raise ExpressionError("the formula is empty")
    try:
        syntax = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(_syntax_message(text.strip(), error)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"the formula nests too deeply (at most {MAX_NESTING} levels)") from None
    tree = _convert(syntax)
    _check_caps(tree)
    unknown = sorted(name for name in _names(tree) if name in VARIABLES and name not in variables)
    if unknown:
        raise ExpressionError(f"{unknown[0]!r} cannot be used here; this formula takes {', '.join(variables)}")
    return tree


def _syntax_message(text: str, error: SyntaxError) -> str:
    column = error.offset or len(text)
    if "never closed" in error.msg or "unmatched" in error.msg:
        return f"{error.msg} (column {column})"
    if column >= len(text) and (column > len(text) or text[-1] in "+-*/(.,"):
        return f"the formula ends too early (after column {len(text)}): a number, name or ')' is missing"
    return f"unexpected {text[column - 1]!r} at column {column}"


def _names(node: Node) -> set[str]:
    own = {str(node.value)} if node.kind == "name" else set()
    return own.union(*(_names(child) for child in node.children))


# ---- what a tree becomes ---------------------------------------------------------------------

def to_tf(node: Node, values: Mapping[str, Tensor]) -> Tensor:
    """The tree as TensorFlow ops on ``values`` (x, and k for a surrogate), elementwise. Numbers
    are scalars, which broadcast, as in the code panel's text (``to_code``); a tree of numbers
    alone is spread to x's shape by ``Formula``."""
    x = values["x"]
    if node.kind == "number":
        return tf.constant(float(node.value), x.dtype)
    if node.kind == "name":
        name = str(node.value)
        if name in CONSTANTS:
            return tf.constant(CONSTANTS[name], x.dtype)
        return x if name == "x" else values[name] * tf.ones_like(x)  # k or y, spread to x's shape
    children = [to_tf(child, values) for child in node.children]
    if node.kind == "negate":
        return -children[0]
    if node.kind == "call":
        return _ALL_FUNCTIONS[str(node.value)].tf(children[0])
    left, right = children
    if node.value == "**" and node.children[1] == Node("number", 2.0):
        return tf.square(left)  # exactly x·x, as the notebook's foo
    return {"+": tf.add, "-": tf.subtract, "*": tf.multiply, "/": tf.divide, "**": tf.pow}[str(node.value)](left, right)


def to_sympy(node: Node) -> sympy.Expr:
    """The tree as a sympy expression, built with constructors (never from text)."""
    if node.kind == "number":
        value = float(node.value)
        return sympy.Integer(int(value)) if value.is_integer() else sympy.Float(value)
    if node.kind == "name":
        return {**_SYMBOLS, "pi": sympy.pi, "e": sympy.E}[str(node.value)]
    children = [to_sympy(child) for child in node.children]
    if node.kind == "negate":
        return -children[0]
    if node.kind == "call":
        return _ALL_FUNCTIONS[str(node.value)].sympy(children[0])
    left, right = children
    operator = str(node.value)
    if operator == "**":
        return sympy.Pow(left, right)
    return {"+": sympy.Add, "-": lambda a, b: a - b, "*": sympy.Mul, "/": lambda a, b: a / b}[operator](left, right)


_SYMPY_FUNCTIONS = {_Sigmoid: "sigmoid", _Softplus: "softplus", _Tanh: "tanh", _Hardtanh: "hardtanh",
                    sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.exp: "exp", sympy.log: "log",
                    sympy.Abs: "abs", sympy.erf: "erf", sympy.sign: "sign", sympy.cosh: "cosh",
                    sympy.atan: "atan"}


def from_sympy(expression: sympy.Expr) -> Node:
    """A sympy result (a derivative) back as a tree, so it becomes TF and code like any formula.
    Dirac deltas, the derivative of a jump, count as 0: they are 0 everywhere but at the jump."""
    if expression.is_Number or expression in (sympy.pi, sympy.E):
        return Node("number", float(expression))
    if expression.is_Symbol:
        return Node("name", expression.name)
    if isinstance(expression, sympy.DiracDelta):
        return Node("number", 0.0)
    if expression.is_Add or expression.is_Mul:
        operator = "+" if expression.is_Add else "*"
        nodes = [from_sympy(arg) for arg in expression.args]
        tree = nodes[0]
        for node in nodes[1:]:
            tree = Node("binary", operator, (tree, node))
        return tree
    if expression.is_Pow:
        base, exponent = expression.args
        if exponent == sympy.Rational(1, 2):
            return Node("call", "sqrt", (from_sympy(base),))
        return Node("binary", "**", (from_sympy(base), from_sympy(exponent)))
    if isinstance(expression, sympy.Max) and len(expression.args) == 2 and 0 in expression.args:
        other = next(arg for arg in expression.args if arg != 0)
        return Node("call", "relu", (from_sympy(other),))
    if isinstance(expression, sympy.sinh):  # d/dx cosh
        argument = from_sympy(expression.args[0])
        half = Node("number", 0.5)
        exp_plus = Node("call", "exp", (argument,))
        exp_minus = Node("call", "exp", (Node("negate", children=(argument,)),))
        return Node("binary", "*", (half, Node("binary", "-", (exp_plus, exp_minus))))
    if isinstance(expression, sympy.Heaviside):  # its second argument is H(0) = 1/2, as _heaviside
        return Node("call", "heaviside", (from_sympy(expression.args[0]),))
    name = _SYMPY_FUNCTIONS.get(expression.func)
    if name is None or len(expression.args) != 1:
        raise ExpressionError(f"the exact derivative contains {expression.func.__name__}, which cannot be drawn")
    return Node("call", name, (from_sympy(expression.args[0]),))


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "negate": 3, "**": 4}


def to_code(node: Node, outer: int = 0) -> str:
    """The tree as TensorFlow source in x (and k), with only the parentheses it needs."""
    if node.kind == "number":
        value = float(node.value)
        return repr(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if node.kind == "name":
        return {"pi": "math.pi", "e": "math.e"}.get(str(node.value), str(node.value))
    if node.kind == "call":
        argument = to_code(node.children[0])
        if not _names(node.children[0]) & set(VARIABLES):  # e.g. sqrt(2*pi): a tensor of x's dtype, not float32
            argument = f"tf.constant({argument}, x.dtype)"
        return _ALL_FUNCTIONS[str(node.value)].code.format(argument)
    if node.kind == "binary" and node.value == "**" and node.children[1] == Node("number", 2.0):
        return f"tf.square({to_code(node.children[0])})"  # as to_tf computes it
    own = _PRECEDENCE["negate" if node.kind == "negate" else str(node.value)]
    if node.kind == "negate":
        text = "-" + to_code(node.children[0], own)
    else:
        left, right = node.children
        # ** groups to the right, the others to the left: the other side needs parentheses on a tie.
        left_needs, right_needs = (own + 1, own) if node.value == "**" else (own, own + 1)
        text = f"{to_code(left, left_needs)} {node.value} {to_code(right, right_needs)}"
    return f"({text})" if own < outer else text


# ---- a formula, and a custom gradient made of two -------------------------------------------

@dataclass(frozen=True)
class Formula:
    """A parsed formula in x (and k): everything shown about it comes from its one tree."""

    text: str
    tree: Node

    @property
    def latex(self) -> str:
        return sympy.latex(to_sympy(self.tree))

    @cached_property
    def constant(self) -> bool:
        """Numbers alone, no variable: spread to x's shape, so that it is a tensor like any result."""
        return not _names(self.tree) & set(VARIABLES)

    @property
    def code(self) -> str:
        """TF source in x (and k), computing what ``__call__`` computes."""
        text = to_code(self.tree)
        return f"tf.fill(tf.shape(x), tf.cast({text}, x.dtype))" if self.constant else text

    def __call__(self, x: Tensor, k: Tensor | float | None = None, y: Tensor | None = None) -> Tensor:
        """The formula at x (k: a surrogate's scale; y: the forward's output, for a backward)."""
        values = {"x": x, "k": None if k is None else tf.cast(k, x.dtype), "y": y}
        value = to_tf(self.tree, values)
        return tf.fill(tf.shape(x), value) if self.constant else value

    def derivative(self) -> "Formula":
        """d/dx, exact (sympy), as a formula of its own."""
        return _derivative(self.tree)


@lru_cache(maxsize=256)  # sympy's diff costs about a millisecond; pages ask for it on every rerun
def _derivative(tree: Node) -> Formula:
    exact = sympy.diff(to_sympy(tree), _X)
    return Formula(sympy.sstr(exact), from_sympy(exact))


@lru_cache(maxsize=256)  # a formula is a few hundred bytes: the cache stays well under 1 MB
def formula(text: str, variables: tuple[str, ...] = ("x",)) -> Formula:
    """Parse ``text`` (ExpressionError if it cannot be used) into a Formula."""
    return Formula(text.strip(), parse(text, variables))


def custom_gradient(forward: Formula, backward: Formula) -> Callable[[Tensor], Tensor]:
    """A real ``tf.custom_gradient`` op: forward(x) in the forward pass, and in the backward pass
    downstream = backward(x) × upstream, elementwise, eager or in ``tf.function``."""
    return elementwise_custom_gradient(forward, lambda x, y: backward(x))
