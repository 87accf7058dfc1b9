"""Symbolic equivalence with sympy: runs only inside a sandbox worker (see sandbox.py).

Why: answers like (x+1)^2 vs x^2+2x+1 or \\frac{\\sqrt{6}}{2} vs \\sqrt{\\frac32} need algebra.
The LaTeX goes through identity.py's small recursive-descent parser (when both answers are in its
subset: ~1 ms instead of ~50-200 ms) or a real LaTeX grammar (latex2sympy2_extended, ANTLR), never
through sympify/parse_expr/eval, so model text cannot become Python code.

Steps: parse both -> node-count guard -> structural equality -> numeric probe (fast reject)
-> expand(rewrite(a - b, exp)) == 0 (cheap; trig and exponential identities) -> simplify(a - b) == 0. Two inequalities are equal when they have the same strictness and their
sides, moved to `e < 0` / `e <= 0`, give the same e (`-x \\ge 2` is `x \\le -2`; as for equations,
`2x \\le -4` is not: it is not solved for x).
"""

from __future__ import annotations

import cmath
import random

_L2S = None


def _to_sympy(node):
    """identity.py's tree as a sympy expression (\\log is base 10, as latex2sympy reads it)."""
    import sympy

    kind = node[0]
    if kind == "num":
        return sympy.Rational(node[1].numerator, node[1].denominator)
    if kind == "var":
        return sympy.pi if node[1] == "\\pi" else sympy.Symbol(node[1].lstrip("\\"))
    if kind == "const":
        return sympy.E if node[1] == "e" else sympy.I
    if kind == "fn":
        arg = _to_sympy(node[2])
        name = node[1]
        if name == "log":
            return sympy.log(arg, 10)
        return sympy.log(arg) if name == "ln" else getattr(sympy, name)(arg)
    if kind == "pow":
        return _to_sympy(node[1]) ** sympy.Rational(node[2].numerator, node[2].denominator)
    if kind == "powx":
        return _to_sympy(node[1]) ** _to_sympy(node[2])
    a = _to_sympy(node[1])
    if kind == "neg":
        return -a
    if kind == "inv":
        return 1 / a
    if kind == "sqrt":
        return sympy.sqrt(a)
    b = _to_sympy(node[2])
    return a + b if kind == "add" else a * b


def _parse_pair(pred: str, gold: str):
    """Both answers through identity.py's parser when both are in its subset (symbols then agree),
    else both through latex2sympy."""
    from r1repro.grading import identity

    try:
        if "=" not in pred + gold:
            return _to_sympy(identity.parse(pred)[0]), _to_sympy(identity.parse(gold)[0])
    except (identity.GiveUp, RecursionError, ValueError, ZeroDivisionError):
        pass
    return None


def _parse(s: str):
    global _L2S
    if _L2S is None:
        from latex2sympy2_extended import latex2sympy
        from latex2sympy2_extended.latex2sympy2 import ConversionConfig
        from latex2sympy2_extended.math_normalization import NormalizationConfig

        norm = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True,
                                   nits=False, boxed="none", equations=False)
        conv = ConversionConfig(interpret_as_mixed_fractions=True, lowercase_symbols=False)
        _L2S = lambda x: latex2sympy(x, normalization_config=norm, conversion_config=conv)
    return _L2S(s)


def _nodes(e) -> int:
    import sympy
    return sum(1 for _ in sympy.preorder_traversal(e))


def _as_expr(e):
    import sympy
    if isinstance(e, sympy.Equality):
        return e.lhs - e.rhs, True
    return e, False


def _numeric_differs(d, rng: random.Random) -> bool | None:
    """True when a - b is clearly nonzero at random points, False when ~0, None when unknown."""
    import sympy
    syms = sorted(d.free_symbols, key=str)
    for _ in range(3):
        sub = {s: sympy.Rational(rng.randint(2, 97), rng.randint(2, 13)) for s in syms}
        try:
            v = complex(sympy.N(d.subs(sub), 30))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        if cmath.isnan(v):
            return None
        if abs(v) > 1e-9:
            return True
    return False


def _relation(r):
    """(e, strict) with r equivalent to `e < 0` (strict) or `e <= 0`; None when r is not one."""
    import sympy
    if isinstance(r, (sympy.StrictLessThan, sympy.LessThan)):
        return r.lhs - r.rhs, isinstance(r, sympy.StrictLessThan)
    if isinstance(r, (sympy.StrictGreaterThan, sympy.GreaterThan)):
        return r.rhs - r.lhs, isinstance(r, sympy.StrictGreaterThan)
    return None


def _compare_relations(p, g) -> dict:
    import sympy
    (ep, sp), (eg, sg) = _relation(p), _relation(g)
    if sp != sg or ep.free_symbols != eg.free_symbols or not ep.free_symbols:
        return {"reason": "mismatch", "detail": "relations differ in strictness or variables"}
    if sympy.simplify(ep - eg) == 0:
        return {"reason": "symbolic_equal", "detail": "the same relation"}
    return {"reason": "mismatch", "detail": "relations differ"}


def compare(pred: str, gold: str, *, factored: bool = True, approx: bool = False,
            rel_tol: float = 1e-4, max_nodes: int = 200) -> dict:
    """{"reason": ..., "detail": ...} for pred vs gold; reasons as in verdict.py."""
    import sympy
    both = _parse_pair(pred, gold)
    if both is not None:
        p, g = both
    else:
        try:
            g = _parse(gold)
        except Exception as e:  # noqa: BLE001 - a gold sympy cannot read: report, do not raise
            return {"reason": "unparseable", "detail": f"gold: {type(e).__name__}"}
        try:
            p = _parse(pred)
        except Exception as e:  # noqa: BLE001
            return {"reason": "unparseable", "detail": f"pred: {type(e).__name__}"}
    if not isinstance(p, sympy.Basic) or not isinstance(g, sympy.Basic):
        return {"reason": "unparseable", "detail": "not an expression"}
    if _nodes(p) > max_nodes:
        return {"reason": "too_large", "detail": "nodes"}
    if p == g:
        return {"reason": "structural_equal", "detail": str(p)[:200]}
    if _relation(p) is not None and _relation(g) is not None:
        return _compare_relations(p, g) if factored else {"reason": "mismatch", "detail": "relations"}
    pe, p_eq = _as_expr(p)
    ge, g_eq = _as_expr(g)
    if p_eq != g_eq or not isinstance(pe, sympy.Expr) or not isinstance(ge, sympy.Expr):
        return {"reason": "mismatch", "detail": f"{type(p).__name__} vs {type(g).__name__}"}
    if not factored:
        return {"reason": "mismatch", "detail": "not structurally equal (factored forms off)"}
    d = pe - ge
    if approx and not d.free_symbols:
        gv = complex(sympy.N(ge, 30))
        ok = abs(complex(sympy.N(d, 30))) <= rel_tol * max(abs(gv), 1e-12)
        return {"reason": "numeric_equal" if ok else "mismatch", "detail": "approx"}
    differs = _numeric_differs(d, random.Random(0))
    if differs:
        if p_eq and _numeric_differs(pe + ge, random.Random(1)) is False:
            return {"reason": "symbolic_equal", "detail": "equation sides swapped"}
        return {"reason": "mismatch", "detail": "numeric probe"}
    try:
        if sympy.expand(d.rewrite(sympy.exp)) == 0:
            return {"reason": "symbolic_equal", "detail": "expand(rewrite(a-b, exp))==0"}
    except Exception:  # noqa: BLE001 - a rewrite sympy cannot do: simplify decides
        pass
    if sympy.simplify(d) == 0:
        return {"reason": "symbolic_equal", "detail": "simplify(a-b)==0"}
    return {"reason": "mismatch", "detail": "simplify(a-b)!=0"}


def math_verify_check(response: str, gold: str) -> dict:
    """HF math-verify on the full response (its own extraction), for backend=math_verify."""
    from math_verify import parse, verify
    g = parse("$" + gold + "$") or parse(gold)
    p = parse(response)
    if not p:
        return {"reason": "no_answer", "extracted": None}
    ok = bool(verify(g, p))
    return {"reason": "symbolic_equal" if ok else "mismatch", "extracted": str(p[-1])[:200]}
