r"""Hand-labelled grader cases: (category, response, gold, label, note).

`label` is what a careful human grader decides under the default policy (docs/grading.md):
equivalent forms accepted (factored/expanded, unreduced fractions, optional % and degree sign,
units, thousands separators), not accepted: unfinished arithmetic, decimal approximations of exact
golds, inequalities for interval golds, hedges, answers only inside <think>, empty final answers.
Every row was written and checked by hand; `python benchmarks/grader_cases/cases.py` rewrites
cases.jsonl from this table.
"""

from __future__ import annotations


def B(x: str) -> str:
    """A plain chain-of-thought response that ends with a boxed answer."""
    return f"Let me work through this step by step. ... Therefore the answer is $\\boxed{{{x}}}$."


def R(x: str, think: str = "First compute the pieces, then combine them.") -> str:
    """An R1-format response (the template's "<think>" prefix included)."""
    return f"<think>{think}</think> <answer>{x}</answer>"


def RB(x: str) -> str:
    return R(f"\\boxed{{{x}}}")


CASES: list[tuple[str, str, str, bool, str]] = []


def add(cat: str, rows: list[tuple[str, str, bool, str]]) -> None:
    CASES.extend((cat, r, g, lab, note) for r, g, lab, note in rows)


add("gsm8k_forms", [
    ("Natalia sold 48 + 24 = 72 clips.\n#### 72", "72", True, "gsm8k marker"),
    ("#### 72.0", "72", True, "trailing .0"),
    ("#### 73", "72", False, "off by one"),
    ("#### -5", "-5", True, "negative"),
    ("#### 5", "-5", False, "sign dropped"),
    (B("72"), "72", True, "boxed integer"),
    (R("72"), "72", True, "bare answer tag"),
    ("The answer is 72.", "72", True, "answer-is clause"),
    ("The answer is 72 clips.", "72", True, "answer-is with unit word"),
    ("The final answer is 0", "0", True, "zero"),
    ("#### 0.5", "0", False, "decimal vs zero"),
    (B("072"), "72", True, "leading zero"),
    ("She has 72 clips in total.", "72", False, "no marker (fallback off)"),
    (R("72", "48/2 = 24, 48 + 24 = 70?"), "72", True, "think content ignored"),
])
add("gsm8k_units_currency", [
    (B("\\$18"), "18", True, "dollar sign"),
    (B("18 \\text{ dollars}"), "18", True, "text unit"),
    (B("\\$18.00"), "18", True, "cents"),
    ("#### $18", "18", True, "bare $ in gsm8k line"),
    (B("18\\text{ cm}"), "18", True, "cm"),
    (B("18 \\text{ cm}^2"), "18", True, "squared unit"),
    (B("18 \\text{ hours}"), "18", True, "hours"),
    (R("18 apples"), "18", True, "plural noun unit"),
    (B("\\$17.99"), "18", False, "near miss"),
    (B("18 \\text{ minutes}"), "18", True, "minutes"),
    (R("18 miles"), "18", True, "miles"),
    (B("1.8 \\text{ dollars}"), "18", False, "scaled"),
    (B("18\\%"), "18", True, "percent sign optional"),
])
add("thousands_separators", [
    (B("1,250"), "1250", True, "comma"),
    (B("1{,}250"), "1250", True, "{,}"),
    (B("1\\,250"), "1250", True, "thin space"),
    (B("1,250,000"), "1250000", True, "two groups"),
    ("#### 1,250", "1250", True, "gsm8k comma"),
    (B("12{,}500"), "12500", True, "braced comma"),
    (B("10,\\!000"), "10000", True, "MATH style ,\\!"),
    (B("1,25"), "125", False, "not a thousands group: list of 1 and 25"),
    (B("1,250"), "1.25", False, "thousands not decimal comma"),
    (B("\\$1,250"), "1250", True, "currency and comma"),
    (B("(1,250)"), "1250", False, "tuple, not a number"),
    (B("1 250"), "1250", True, "space separator"),
])
add("fractions", [
    (B("\\frac{1}{2}"), "\\frac{1}{2}", True, "same"),
    (B("\\dfrac{1}{2}"), "\\frac{1}{2}", True, "dfrac"),
    (B("\\tfrac12"), "\\frac{1}{2}", True, "tfrac12"),
    (B("1/2"), "\\frac{1}{2}", True, "slash"),
    (B("2/4"), "\\frac{1}{2}", True, "unreduced accepted"),
    (B("\\frac{3}{6}"), "\\frac{1}{2}", True, "unreduced frac"),
    (B("0.5"), "\\frac{1}{2}", True, "exact decimal"),
    (B("\\frac{2}{1}"), "2", True, "integer as fraction"),
    (B("\\frac{1}{3}"), "\\frac{1}{2}", False, "different"),
    (B("-\\frac{1}{2}"), "\\frac{1}{2}", False, "sign"),
    (B("\\frac{-1}{2}"), "-\\frac{1}{2}", True, "sign inside"),
    (B("\\frac{2}{1}"), "\\frac{1}{2}", False, "inverted"),
    (B("{1 \\over 2}"), "\\frac12", True, "\\over"),
    (B("\\frac{9}{7}"), "\\dfrac{9}{7}", True, "gold dfrac"),
])
add("decimals_exact", [
    (B("0.333"), "\\frac{1}{3}", False, "approximation of 1/3"),
    (B("0.3333333"), "\\frac{1}{3}", False, "long approximation"),
    (B("0.25"), "\\frac14", True, "terminating"),
    (B("2.50"), "2.5", True, "trailing zero"),
    (B(".5"), "0.5", True, "no leading zero"),
    (B("3.14"), "\\pi", False, "pi approx"),
    (B("1.414"), "\\sqrt{2}", False, "sqrt2 approx"),
    (B("0.1"), "\\frac{1}{10}", True, "tenth"),
    (B("2.000001"), "2", False, "not equal"),
    (B("0.6667"), "\\frac{2}{3}", False, "rounded"),
    (B("1.5"), "\\frac{3}{2}", True, "exact"),
    (B("-0.75"), "-\\frac{3}{4}", True, "negative exact"),
])
add("mixed_numbers", [
    (B("3\\frac{1}{2}"), "\\frac{7}{2}", True, "mixed"),
    (B("3 \\frac{1}{2}"), "3.5", True, "spaced mixed"),
    (B("2\\frac{1}{4}"), "\\frac{9}{4}", True, "mixed quarter"),
    (B("3\\frac{1}{2}"), "\\frac{3}{2}", False, "not a product"),
    (B("\\frac{7}{2}"), "3\\frac{1}{2}", True, "gold mixed"),
    (B("-1\\frac{1}{2}"), "-\\frac{3}{2}", True, "negative mixed"),
    (B("1\\frac{1}{3}"), "\\frac{4}{3}", True, "thirds"),
    (B("4\\frac{1}{3}"), "\\frac{4}{3}", False, "different"),
    (B("7/2"), "3\\frac12", True, "slash vs mixed"),
    (B("3.5"), "3\\frac{1}{2}", True, "decimal vs mixed"),
    (B("1\\frac{2}{3}"), "\\frac{5}{3}", True, "mixed 2/3"),
])
add("percent", [
    (B("50\\%"), "50\\%", True, "same"),
    (B("50"), "50\\%", True, "percent optional"),
    (B("50\\%"), "50", True, "extra percent"),
    (B("0.5"), "50\\%", True, "as a fraction"),
    (B("50 \\text{ percent}"), "50\\%", True, "word"),
    (B("5\\%"), "50\\%", False, "wrong"),
    (B("25\\%"), "\\frac{1}{4}", True, "percent of fraction"),
    (B("12.5\\%"), "12.5\\%", True, "decimal percent"),
    (B("12.5"), "12.5\\%", True, "decimal percent optional"),
    (B("13\\%"), "12.5\\%", False, "rounded"),
    (B("40\\%"), "60\\%", False, "complement"),
    ("The answer is 20%.", "20\\%", True, "plain %"),
])
add("scientific_notation", [
    (B("1.5 \\times 10^{3}"), "1500", True, "times"),
    (B("1.5\\cdot 10^3"), "1500", True, "cdot"),
    (B("1.5e3"), "1500", True, "e notation"),
    (B("3 \\times 10^{-2}"), "0.03", True, "negative exponent"),
    (B("1.5 \\times 10^{4}"), "1500", False, "wrong exponent"),
    (B("6.02\\times10^{23}"), "6.02\\times 10^{23}", True, "same"),
    (B("2\\times 10^{5}"), "200000", True, "integer mantissa"),
    (B("2 \\times 10^{5}"), "200{,}000", True, "gold with separator"),
    (B("1.0\\times10^{0}"), "1", True, "10^0"),
    (B("5 \\times 10^{2}"), "50", False, "off by 10"),
    (B("1E6"), "1000000", True, "capital E"),
])
add("repeating_decimals", [
    (B("0.\\overline{3}"), "\\frac{1}{3}", True, "1/3"),
    (B("0.\\overline{6}"), "\\frac{2}{3}", True, "2/3"),
    (B("0.1\\overline{6}"), "\\frac{1}{6}", True, "1/6"),
    (B("0.\\overline{142857}"), "\\frac{1}{7}", True, "1/7"),
    (B("0.\\overline{3}"), "0.3", False, "not 0.3"),
    (B("\\frac{1}{3}"), "0.\\overline{3}", True, "gold repeating"),
    (B("1.\\overline{2}"), "\\frac{11}{9}", True, "11/9"),
    (B("0.\\overline{09}"), "\\frac{1}{11}", True, "1/11"),
    (B("0.\\overline{9}"), "1", True, "0.999... = 1"),
    (B("0.\\overline{12}"), "\\frac{4}{33}", True, "12/99"),
    (B("0.\\overline{12}"), "\\frac{4}{31}", False, "different"),
])
add("radicals", [
    (B("\\sqrt{2}"), "\\sqrt{2}", True, "same"),
    (B("\\sqrt2"), "\\sqrt{2}", True, "no braces"),
    (B("2\\sqrt{2}"), "\\sqrt{8}", True, "simplified"),
    (B("\\frac{\\sqrt{3}}{2}"), "\\frac{\\sqrt3}{2}", True, "sqrt3"),
    (B("\\frac{1}{\\sqrt{2}}"), "\\frac{\\sqrt{2}}{2}", True, "rationalised"),
    (B("\\sqrt{3}"), "\\sqrt{2}", False, "different"),
    (B("3\\sqrt{2}"), "2\\sqrt{3}", False, "swapped"),
    (B("\\frac{\\sqrt{6}}{2}"), "\\sqrt{\\frac{3}{2}}", True, "nested"),
    (B("-\\sqrt{2}"), "\\sqrt{2}", False, "sign"),
    (B("\\sqrt[3]{8}"), "2", False, "cube root of 8 left unsimplified"),
    (B("5\\sqrt{5}"), "\\sqrt{125}", True, "125"),
    (B("\\sqrt{5}+1"), "1+\\sqrt{5}", True, "commuted"),
    (B("\\frac{1+\\sqrt{5}}{2}"), "\\frac{1-\\sqrt{5}}{2}", False, "conjugate"),
])
add("pi_expressions", [
    (B("\\frac{\\pi}{2}"), "\\frac{\\pi}{2}", True, "same"),
    (B("\\pi/2"), "\\frac{\\pi}{2}", True, "slash"),
    (B("\\frac{1}{2}\\pi"), "\\frac{\\pi}{2}", True, "coefficient"),
    (B("90"), "\\frac{\\pi}{2}", False, "degrees for radians"),
    (B("2\\pi"), "\\pi", False, "double"),
    (B("\\frac{3\\pi}{4}"), "\\frac{3}{4}\\pi", True, "moved"),
    (B("1.5708"), "\\frac{\\pi}{2}", False, "decimal approx"),
    (B("4\\pi"), "4\\pi", True, "same"),
    (B("\\pi r^2"), "\\pi r^2", True, "formula"),
    (B("16\\pi"), "16 \\pi", True, "spacing"),
    (B("18\\pi"), "16\\pi", False, "different"),
])
add("polynomials_factored", [
    (B("(x+1)^2"), "x^2+2x+1", True, "factored vs expanded"),
    (B("x^2+2x+1"), "(x+1)^2", True, "expanded vs factored"),
    (B("(x-1)(x+1)"), "x^2-1", True, "difference of squares"),
    (B("x^2+1"), "x^2-1", False, "sign"),
    (B("2x+3"), "3+2x", True, "commuted"),
    (B("x^3"), "x^2", False, "degree"),
    (B("3(x+2)"), "3x+6", True, "distributed"),
    (B("\\frac{x+1}{2}"), "\\frac{1}{2}x+\\frac{1}{2}", True, "split fraction"),
    (B("x(x-3)"), "x^2-3x", True, "factored"),
    (B("(x-2)^2"), "x^2-4", False, "wrong expansion"),
    (B("a^2-b^2"), "(a-b)(a+b)", True, "two variables"),
    (B("2x^2-5x+2"), "(2x-1)(x-2)", True, "quadratic"),
])
add("intervals", [
    (B("[1, 2)"), "[1,2)", True, "same"),
    (B("(1, 2]"), "[1,2)", False, "ends swapped"),
    (B("(-\\infty, 3)"), "(-\\infty,3)", True, "infinity"),
    (B("x < 3"), "(-\\infty, 3)", False, "inequality not accepted by default"),
    (B("(-\\infty, 3]"), "(-\\infty,3)", False, "closed end"),
    (B("[2, \\infty)"), "[2,\\infty)", True, "to infinity"),
    (B("\\left[ 2, \\infty \\right)"), "[2,\\infty)", True, "\\left \\right"),
    (B("(-\\infty, 1) \\cup (2, \\infty)"), "(-\\infty,1)\\cup(2,\\infty)", True, "union"),
    (B("(2, \\infty) \\cup (-\\infty, 1)"), "(-\\infty,1)\\cup(2,\\infty)", True, "union reordered"),
    (B("(-\\infty, 1] \\cup (2, \\infty)"), "(-\\infty,1)\\cup(2,\\infty)", False, "union endpoint"),
    (B("[0, \\frac{1}{2}]"), "[0,0.5]", True, "fraction endpoint"),
    (B("[0, 1]"), "[0,2]", False, "endpoint"),
    (B("(-\\infty, \\infty)"), "(-\\infty,\\infty)", True, "all reals"),
])
add("sets_lists", [
    (B("1, 2, 3"), "1,2,3", True, "same"),
    (B("3, 1, 2"), "1,2,3", True, "reordered"),
    (B("\\{1, 2, 3\\}"), "1,2,3", True, "braces"),
    (B("1, 2"), "1,2,3", False, "missing one"),
    (B("1, 2, 3, 4"), "1,2,3", False, "extra one"),
    (B("-2, 2"), "2,-2", True, "signs reordered"),
    (B("\\{-1, \\frac{1}{2}\\}"), "\\frac12,-1", True, "fractions"),
    (B("1,2,2"), "1,2,3", False, "duplicate"),
    (B("\\sqrt{2}, -\\sqrt{2}"), "-\\sqrt2,\\sqrt2", True, "radicals"),
    (B("\\emptyset"), "\\emptyset", True, "empty set"),
    (B("\\varnothing"), "\\emptyset", True, "varnothing"),
    (B("0"), "\\emptyset", False, "zero is not empty"),
])
add("tuples_points", [
    (B("(3, \\frac{\\pi}{2})"), "(3,\\frac{\\pi}{2})", True, "polar"),
    (B("(\\frac{\\pi}{2}, 3)"), "(3,\\frac{\\pi}{2})", False, "swapped"),
    (B("(1, 2, 3)"), "(1,2,3)", True, "triple"),
    (B("(1, 3, 2)"), "(1,2,3)", False, "order matters"),
    (B("(2, -1)"), "(2,-1)", True, "negative"),
    (B("(2,1)"), "(2,-1)", False, "sign"),
    (B("\\left( 2, -1 \\right)"), "(2,-1)", True, "\\left"),
    (B("(0.5, 2)"), "(\\frac12,2)", True, "decimal coordinate"),
    (B("(1, 2)"), "(1,2,3)", False, "short"),
    (B("(6, 8)"), "(6,8)", True, "same"),
    (B("(-\\frac{1}{3}, 2\\sqrt{2})"), "(-\\frac13,\\sqrt{8})", True, "symbolic entry"),
    (B("(1,-1,0)"), "(1,-1,0)", True, "vector"),
])
add("plus_minus", [
    (B("\\pm 2"), "2,-2", True, "pm"),
    (B("2, -2"), "\\pm 2", True, "list for pm"),
    (B("1 \\pm \\sqrt{2}"), "1+\\sqrt2,1-\\sqrt2", True, "a pm b"),
    (B("1+\\sqrt{2}, 1-\\sqrt{2}"), "1\\pm\\sqrt{2}", True, "expanded"),
    (B("2"), "\\pm 2", False, "only one root"),
    (B("\\pm 3"), "\\pm 2", False, "different"),
    (B("-1 \\pm \\sqrt{3}"), "1\\pm\\sqrt3", False, "sign of centre"),
    (B("\\pm\\frac{1}{2}"), "\\frac12,-\\frac12", True, "fraction"),
    (B("\\pm 2i"), "2i,-2i", True, "imaginary"),
    (B("-1, 3"), "3,-1", True, "roots reordered"),
    (B("-2, 2, 0"), "\\pm 2", False, "extra root"),
])
add("matrices", [
    (B("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"), "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", True, "same"),
    (B("\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}"), "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", False, "swapped"),
    (B("\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}"), "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", True, "bmatrix for pmatrix"),
    (B("\\begin{pmatrix} \\frac12 \\\\ 0 \\end{pmatrix}"), "\\begin{pmatrix}0.5\\\\0\\end{pmatrix}", True, "fraction entry"),
    (B("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"), "\\begin{pmatrix}1&2\\end{pmatrix}", False, "column vs row"),
    (B("\\begin{pmatrix} -1 \\\\ 2 \\\\ 5 \\end{pmatrix}"), "\\begin{pmatrix}-1\\\\2\\\\5\\end{pmatrix}", True, "column"),
    (B("\\begin{pmatrix} 1 \\\\ 2 \\\\ 5 \\end{pmatrix}"), "\\begin{pmatrix}-1\\\\2\\\\5\\end{pmatrix}", False, "sign"),
    (B("\\begin{pmatrix} \\sqrt{4} & 0 \\\\ 0 & 1 \\end{pmatrix}"), "\\begin{pmatrix}2&0\\\\0&1\\end{pmatrix}", False, "sqrt4 entry is unsimplified"),
    (B("\\begin{pmatrix} 2 & 0 \\\\ 0 & 1 \\end{pmatrix}"), "\\begin{pmatrix}2&0\\\\0&2\\end{pmatrix}", False, "entry"),
    (B("\\begin{pmatrix} x \\\\ y \\end{pmatrix}"), "\\begin{pmatrix}x\\\\y\\end{pmatrix}", True, "symbols"),
    (B("\\begin{pmatrix} 0 & 1 \\\\ 1 & 0 \\end{pmatrix}"), "\\begin{pmatrix}0&1\\\\1&0\\end{pmatrix}", True, "permutation"),
])
add("degrees", [
    (B("30^\\circ"), "30^\\circ", True, "same"),
    (B("30"), "30^\\circ", True, "degree optional"),
    (B("30^{\\circ}"), "30", True, "braced circ"),
    (B("30°"), "30^\\circ", True, "unicode"),
    (B("30 \\text{ degrees}"), "30^\\circ", True, "word"),
    (B("60^\\circ"), "30^\\circ", False, "different"),
    (B("150^\\circ"), "30^\\circ", False, "supplement"),
    (B("45^\\circ"), "45", True, "gold without"),
    (B("\\frac{\\pi}{6}"), "30^\\circ", False, "radians for degrees"),
    (B("120^\\circ"), "120^\\circ", True, "obtuse"),
    (B("-30^\\circ"), "30^\\circ", False, "sign"),
])
add("bases", [
    (B("413_5"), "413_5", True, "same"),
    (B("413_6"), "413_5", False, "wrong base"),
    (B("413"), "413_5", True, "subscript optional"),
    (B("413_{5}"), "413_5", True, "braced subscript"),
    (B("414_5"), "413_5", False, "wrong digit"),
    (B("108"), "413_5", False, "decimal value instead of base 5"),
    (B("1011_2"), "1011_2", True, "binary"),
    (B("1101_2"), "1011_2", False, "binary order"),
    (B("\\text{A}2_{16}"), "A2_{16}", True, "hex"),
    (B("2A_{16}"), "A2_{16}", False, "hex swapped"),
    (B("31_4"), "31_4", True, "base 4"),
])
add("text_answers", [
    (B("\\text{Monday}"), "\\text{Monday}", True, "same"),
    (B("Monday"), "\\text{Monday}", True, "no text macro"),
    (B("monday"), "\\text{Monday}", True, "case"),
    (B("\\text{Tuesday}"), "\\text{Monday}", False, "different"),
    (B("\\text{even}"), "\\text{even}", True, "parity"),
    (B("\\text{odd}"), "\\text{even}", False, "parity wrong"),
    (B("\\text{Evelyn}"), "\\text{Evelyn}", True, "name"),
    (B("Emily"), "\\text{Evelyn}", False, "other name"),
    (B("\\text{no solution}"), "\\text{no solution}", True, "phrase"),
    (B("\\text{(A) and (C)}"), "\\text{(A)}", False, "two answers"),
    (B("\\text{neither}"), "\\text{neither}", True, "neither"),
    (R("Saturday"), "\\text{Saturday}", True, "answer tag text"),
])
add("multiple_choice", [
    (B("\\text{(B)}"), "\\text{(B)}", True, "same"),
    (B("(B)"), "\\text{(B)}", True, "parens"),
    (B("B"), "\\text{(B)}", True, "letter"),
    (B("\\textbf{(B)}"), "\\text{(B)}", True, "bold"),
    (B("C"), "\\text{(B)}", False, "other letter"),
    (R("B"), "B", True, "answer tag letter"),
    (B("(B) and (C)"), "\\text{(B)}", False, "two letters"),
    (B("\\text{(E)}"), "E", True, "gold bare letter"),
    (B("(A)"), "E", False, "wrong"),
    (B("\\mathrm{(D)}"), "\\text{(D)}", True, "mathrm"),
    (B("B, C"), "\\text{(B)}", False, "list of letters"),
])
add("latex_noise", [
    (B("\\left( \\frac{1}{2} \\right)"), "\\frac12", True, "left/right parens around scalar"),
    (B("\\displaystyle \\frac{1}{2}"), "\\frac12", True, "displaystyle"),
    (B("\\;\\frac{1}{2}\\,"), "\\frac12", True, "spacing"),
    (B("\\mathbf{12}"), "12", True, "mathbf"),
    (B("\\text{12}"), "12", True, "text number"),
    (B("{12}"), "12", True, "braces"),
    (B("12."), "12", True, "trailing period"),
    (B("x = 12"), "12", True, "assignment"),
    (B("\\quad 12 \\quad"), "12", True, "quad"),
    (B("\\dfrac{\\sqrt{3}}{2}"), "\\frac{\\sqrt3}2", True, "dfrac + sqrt3 + frac..2"),
    (B("\\frac{1}{2}"), "\\left(\\frac{1}{2}\\right)", True, "gold noise"),
    (B("13"), "\\mathbf{12}", False, "different"),
    (B("\\boxed{12}"), "12", True, "nested box"),
])
add("equations", [
    (B("y = 2x + 3"), "y=2x+3", True, "same"),
    (B("y = 3 + 2x"), "y=2x+3", True, "commuted rhs"),
    (B("2x + 3"), "y=2x+3", True, "rhs only (lhs stripped)"),
    (B("y = 2x - 3"), "y=2x+3", False, "sign"),
    (B("x = 5"), "5", True, "x = value"),
    (B("k = 5"), "5", True, "other letter"),
    (B("x = 6"), "5", False, "wrong value"),
    (B("x^2 + y^2 = 4"), "x^2+y^2=4", True, "circle"),
    (B("x^2 + y^2 = 9"), "x^2+y^2=4", False, "radius"),
    (B("y = -\\frac{1}{2}x + 1"), "y=-\\frac12x+1", True, "line"),
    (B("a=2"), "2", True, "a ="),
])
add("unsimplified_arithmetic", [
    (B("3+4"), "7", False, "unfinished"),
    (B("2 \\cdot 5"), "10", False, "product"),
    (B("10/2"), "5", True, "unreduced fraction accepted"),
    (B("\\frac{14}{2}"), "7", True, "unreduced frac"),
    (B("2^3"), "8", False, "power"),
    (B("100-1"), "99", False, "difference"),
    (B("7"), "7", True, "done"),
    (B("5!"), "120", False, "factorial unevaluated"),
    (B("\\binom{5}{2}"), "10", False, "binomial unevaluated"),
    (B("6 \\times 7"), "42", False, "times"),
    (B("42"), "6\\times7", True, "evaluated when gold is not"),
])
add("r1_format_extraction", [
    (R("\\boxed{18}"), "18", True, "box inside answer"),
    (R("18"), "18", True, "bare answer"),
    (R("$18$"), "18", True, "math mode"),
    ("<think>x</think> The answer is \\boxed{18}.", "18", True, "box after think, no tag"),
    ("<think>so it is \\boxed{18}</think> <answer></answer>", "18", False, "only inside think"),
    ("<think>so it is \\boxed{18}", "18", False, "unclosed think"),
    ("<think>\\boxed{17}</think> <answer>18</answer>", "18", True, "think box ignored"),
    ("<think>a</think><think>b</think> <answer>18</answer>", "18", True, "two thinks: after last"),
    (R("The final answer is 18"), "18", True, "sentence in answer"),
    (R("\\boxed{17}"), "18", False, "wrong"),
    ("<think>a</think> <answer>18", "18", True, "unclosed final answer tag"),
    ("<think>a</think> <answer>\\boxed{18}</answer> \\boxed{19}", "18", True, "tag beats later box"),
    (R("18", think="I think it is 17... wait 18"), "18", True, "reflection"),
])
add("extraction_fallbacks", [
    ("\\boxed{5} so ... final answer \\boxed{}", "5", False, "empty final box, no fallback"),
    ("We get 5. Final Answer: The final answer is $5$. I hope it is correct.", "5", True, "Minerva"),
    ("The answer is: 5", "5", True, "answer is colon"),
    ("Final answer: $\\frac{1}{2}$", "\\frac12", True, "final answer colon"),
    ("So x = 5 and the result is 5.", "5", False, "no marker at all"),
    ("\\fbox{5}", "5", True, "fbox"),
    ("\\boxed 5", "5", True, "boxed space"),
    ("Answer: 5", "5", True, "Answer:"),
    ("#### ", "5", False, "empty gsm8k line"),
    ("First \\boxed{4}. Correction: \\boxed{5}", "5", False, "two boxed values = hedge"),
    ("\\boxed{5}. Indeed \\boxed{5}.", "5", True, "same value twice"),
    ("The answer is $\\boxed{\\frac{1}{2}}$", "0.5", True, "box wins over phrase"),
])
add("hedging", [
    (B("5 \\text{ or } 6"), "5", False, "or"),
    (B("5 or 6"), "5", False, "plain or"),
    ("\\boxed{5} or \\boxed{6}", "5", False, "two boxes"),
    (B("5, 6"), "5", False, "list for scalar"),
    (B("\\{5, 6\\}"), "5", False, "set for scalar"),
    (B("4, 5, 6"), "4,5", False, "extra element"),
    (R("5 or 6"), "5", False, "answer tag or"),
    ("<think>x</think><answer>5</answer><answer>6</answer>", "5", False, "two answer tags"),
    (B("\\pm 5"), "5", False, "pm for positive"),
    (B("5 \\lor 6"), "5", False, "lor"),
    (B("\\text{either } 5 \\text{ or } 6"), "5", False, "either or"),
    (B("\\text{odd or even}"), "\\text{odd or even}", True, "gold itself has or"),
])
add("reward_hacking", [
    ("<think>the answer is \\boxed{18}</think> <answer>I don't know</answer>", "18", False, "answer only in think"),
    ("\\boxed{" + "}\\boxed{".join(str(i) for i in range(1, 30)) + "}", "18", False, "box every number"),
    (B("1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18"), "18", False, "list every number"),
    (B("[0, 100]"), "18", False, "interval covering gold"),
    (B("\\infty"), "18", False, "infinity"),
    (B("x"), "18", False, "a variable"),
    (B("x \\in \\mathbb{R}"), "18", False, "all reals"),
    (B("18 \\text{ or } 19"), "18", False, "hedge"),
    ("<think>18</think>", "18", False, "only think, no answer"),
    ("The answer is 17. Actually 18 appears above.", "18", False, "answer is 17"),
    (R(""), "18", False, "empty answer"),
    (B("\\text{the answer}"), "18", False, "text placeholder"),
    (B("18+0"), "18", False, "padding arithmetic"),
    (B("18.0000001"), "18", False, "near value"),
    ("<answer>18</answer>", "18", True, "no think block but a correct answer (format reward handles it)"),
])
add("adversarial_payloads", [
    (B("__import__('os').system('touch /tmp/r1repro_pwned')"), "18", False, "os.system"),
    (B("__import__('pathlib').Path('/tmp/r1repro_pwned').touch()"), "18", False, "pathlib touch"),
    ("The answer is __import__('os').system('echo pwned')", "0", False, "phrase payload"),
    (B("9^{9^{9^{9}}}"), "18", False, "power tower"),
    (B("9**9**9**9"), "18", False, "python tower"),
    (B("(10^9)!"), "18", False, "huge factorial"),
    (B("10^{10^{10}}"), "18", False, "googolplex-ish"),
    (B("\\sum_{k=1}^{10^{12}} k"), "18", False, "huge sum"),
    ("\\boxed{" * 500, "18", False, "unbalanced boxes"),
    (B("(" * 200 + "18" + ")" * 200), "18", False, "deep nesting (too_large)"),
    (B("x" * 5000), "18", False, "very long"),
    (B("lambda: 18"), "18", False, "lambda"),
    (B("eval('18')"), "18", False, "eval call"),
    (B("\\input{/etc/passwd}"), "18", False, "latex input"),
    ("#### (lambda: 18)()", "18", False, "gsm8k payload"),
])
add("large_numbers", [
    (B("10^{100}"), "10^{100}", True, "googol same"),
    (B("1000000000000"), "10^{12}", True, "expanded power"),
    (B("2^{10}"), "1024", False, "unevaluated power"),
    (B("1024"), "2^{10}", True, "evaluated"),
    (B("123456789012345678901234567890"), "123456789012345678901234567890", True, "big int"),
    (B("123456789012345678901234567891"), "123456789012345678901234567890", False, "last digit"),
    (B("100!"), "100!", True, "same factorial"),
    (B("99!"), "100!", False, "smaller factorial"),
    (B("10^{5000}"), "10^{5000}", True, "big power same"),
    (B("10^{4999}"), "10^{5000}", False, "big power off"),
    (B("3^{100}"), "3^{100}", True, "power"),
])

# --- issue #17: answer forms the checker used to miss (and their near misses) ---
add("markdown_emphasis", [
    ("So in total she has 15 + 9 = 24. The answer is **24**.", "24", True, "bold value"),
    ("**Answer:** 24", "24", True, "bold label"),
    ("**Final answer: $\\frac{5}{6}$**", "\\frac56", True, "whole line bold"),
    ("The answer is _24_.", "24", True, "underscore italics"),
    ("The answer is *24*.", "24", True, "italics"),
    (R("**24**"), "24", True, "bold in answer tag"),
    ("The answer is **25**.", "24", False, "wrong value"),
    ("The answer is **-24**.", "24", False, "sign"),
    ("The answer is **24** or **25**.", "24", False, "bold hedge"),
    ("The answer is **24**.", "2.4", False, "decimal point moved"),
])
add("font_wrappers", [
    (B("\\mathbf{\\frac{5}{6}}"), "\\frac56", True, "mathbf with nested braces"),
    (B("\\boldsymbol{\\sqrt{7}}"), "\\sqrt7", True, "boldsymbol radical"),
    (B("\\textbf{(3, -1)}"), "(3,-1)", True, "bold tuple"),
    (B("{\\bf 42}"), "42", True, "bf switch"),
    (B("\\mathbf{x^2 - 1}"), "x^2-1", True, "bold polynomial"),
    (B("\\mathbf{43}"), "42", False, "wrong value"),
    (B("\\boldsymbol{-\\sqrt{7}}"), "\\sqrt7", False, "sign"),
    (B("\\textbf{(-1, 3)}"), "(3,-1)", False, "swapped"),
    (B("\\mathbf{42, 43}"), "42", False, "extra value"),
])
add("units_after_symbols", [
    (B("16\\pi \\text{ cm}^2"), "16\\pi", True, "cm^2 after pi"),
    (B("\\frac{32\\pi}{3} \\text{ cubic units}"), "\\frac{32\\pi}{3}", True, "cubic units"),
    (B("6\\sqrt{2} \\text{ inches}"), "6\\sqrt2", True, "after a radical"),
    (B("25\\pi\\ \\text{ft}^2"), "25\\pi", True, "backslash space"),
    (B("49\\pi \\text{ square meters}"), "49\\pi", True, "square meters"),
    (B("16\\pi \\text{ cm}^2"), "15\\pi", False, "wrong value"),
    (B("-16\\pi \\text{ cm}^2"), "16\\pi", False, "sign"),
    (B("16 \\text{ cm}^2"), "16\\pi", False, "pi dropped"),
    (B("16\\pi \\text{ cm}^2"), "16", False, "pi added"),
])
add("equation_solution_sets", [
    (B("x = 3 \\text{ or } x = -3"), "3, -3", True, "or-joined equations"),
    ("The answer is $x = 4$ and $x = -1$.", "4, -1", True, "prose and"),
    (B("x = -1 \\text{ and } x = 4"), "4,-1", True, "other order"),
    (B("x_1 = \\frac{1}{2},\\ x_2 = 2"), "\\frac12, 2", True, "subscripted"),
    (B("t = 0 \\quad \\text{or} \\quad t = 6"), "0, 6", True, "quad or"),
    (B("x = \\pm 3"), "3, -3", True, "pm"),
    (B("x = 3 \\text{ or } x = 4"), "3, -3", False, "wrong value"),
    (B("x = 3 \\text{ or } x = 3"), "3, -3", False, "sign lost"),
    (B("x = 3, x = -3, x = 0"), "3, -3", False, "extra solution"),
    (B("x = 3 \\text{ or } x = -3"), "3", False, "hedge for scalar gold"),
])
add("flipped_inequalities", [
    (B("-5 \\ge x"), "x \\le -5", True, "value first"),
    (B("7 > y"), "y < 7", True, "strict"),
    (B("\\frac{2}{3} \\le k"), "k \\ge \\frac23", True, "fraction bound"),
    (B("4 > x > -4"), "-4 < x < 4", True, "descending chain"),
    (B("\\sqrt{2} < x"), "x > \\sqrt{2}", True, "radical bound"),
    (B("-5 \\le x"), "x \\le -5", False, "direction reversed"),
    (B("-5 > x"), "x \\le -5", False, "strictness"),
    (B("5 \\ge x"), "x \\le -5", False, "sign"),
    (B("4 \\ge x > -4"), "-4 < x < 4", False, "closed end"),
])
add("scale_words", [
    ("The answer is 3 million.", "3000000", True, "million"),
    ("#### 4.5 thousand", "4500", True, "decimal thousand"),
    (B("2 \\text{ dozen}"), "24", True, "dozen"),
    ("The answer is \\$2.5 billion.", "2500000000", True, "currency billion"),
    (B("7 \\text{ hundred}"), "700", True, "hundred"),
    ("The answer is 3 million.", "3", False, "scale is not a unit"),
    ("#### 2 dozen", "2", False, "dozen is not a unit"),
    ("#### 4.5 thousand", "45000", False, "wrong value"),
    ("#### -4.5 thousand", "4500", False, "sign"),
])
add("final_answer_boxes", [
    ("The side is \\boxed{4}, so the area is 16. The final answer is \\boxed{16}.", "16", True, "intermediate box"),
    ("We get $\\boxed{a=3}$ and $\\boxed{b=5}$. Final Answer: $\\boxed{8}$", "8", True, "two intermediate"),
    ("\\boxed{2}\n\n**Final Answer**\n\\boxed{7}", "7", True, "markdown heading"),
    ("\\boxed{\\frac{1}{3}}; hence the final answer is $\\boxed{\\frac{2}{3}}$.", "\\frac23", True, "fractions"),
    ("\\boxed{9}. The final answer is \\boxed{3} and \\boxed{-3}.", "3, -3", True, "set after the phrase"),
    ("\\boxed{16}. The final answer is \\boxed{15}.", "16", False, "gold only in the working"),
    ("The final answer is \\boxed{16}. Or \\boxed{15}.", "16", False, "hedge inside final segment"),
    ("Final answer: \\boxed{16}. Final answer: \\boxed{15}.", "16", False, "two final answers"),
    ("\\boxed{16} so the answer is \\boxed{15}", "15", False, "no final-answer phrase: hedge"),
])


def write_jsonl(path: str) -> None:
    import json

    with open(path, "w") as f:
        f.writelines(json.dumps({"category": cat, "response": resp, "gold": gold, "label": label,
                                "note": note}) + "\n" for cat, resp, gold, label, note in CASES)


if __name__ == "__main__":
    import os

    write_jsonl(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.jsonl"))
    cats = sorted({c for c, *_ in CASES})
    print(f"{len(CASES)} cases in {len(cats)} categories")
