"""Prompt templates as data: `TEMPLATES[name]` -> Template(prompt, response_prefix, target, stop).

Why: the prompt decides what the model is asked and the reward decides what counts as an answer;
both must agree, and the recipe must name the template so the run records it. A Template says:
  prompt(question, tokenizer=None)  the text the model continues;
  response_prefix                   text the prompt already opened (e.g. "<think>"); the grader is
                                    given response_prefix + completion;
  target(solution, gold)            the SFT response that follows the prompt, ending in the
                                    template's answer format;
  stop                              generation stop strings.

Templates: r1_zero (the DeepSeek-R1-Zero paper's text), qa (compact, same think/answer format, for
the tiny embedded model's 512-token context), boxed, chat (the tokenizer's chat template plus a
boxed instruction; needs the tokenizer), chat_answer (the chat template, a short explanation
ending "The answer is N."; what SmolLM2-135M-Instruct follows best, docs/real-models.md), gsm8k_1shot..gsm8k_8shot (k fixed GSM8K train exemplars,
`#### x` answers; `gsm8k_kshot` = 8-shot; `gsm8k_kshot_template(k)` builds any k).

For Countdown the answer slot holds the expression, not the target: use `sft_target(template, p)`,
which puts `p.meta["answer"]` there when a problem has one.
"""

from __future__ import annotations

from dataclasses import dataclass

from r1repro.data.schema import Problem
from r1repro.files import sha256_text
from r1repro.registry import Registry

R1_ZERO = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> "
    "</answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>. User: {question}. Assistant: <think>"
)
QA = "Q: {question}\nA: <think>"
BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
BOXED = "{question}\n" + BOXED_INSTRUCTION + "\n"
# Measured on SmolLM2-135M-Instruct (docs/real-models.md): it ends with this sentence far more often
# than it writes a \boxed{}, and the short explanation keeps most completions under 128 tokens.
ANSWER_INSTRUCTION = 'Answer with a short explanation and end with "The answer is N." where N is a number.'

# The first 8 rows of GSM8K train.jsonl (MIT, (c) 2021 OpenAI), `<<..>>` annotations removed, as
# (question, solution, gold). tests/unit/test_templates.py checks them against the file.
GSM8K_EXEMPLARS = (
    ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?", "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.", "72"),
    ("Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?", "Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10.", "10"),
    ("Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice as much as her parents. How much more money does Betty need to buy the wallet?", "In the beginning, Betty has only 100 / 2 = $50.\nBetty's grandparents gave her 15 * 2 = $30.\nThis means, Betty needs 100 - 50 - 30 - 15 = $5 more.", "5"),
    ("Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she read twice as many pages as yesterday. If she wants to read half of the remaining pages tomorrow, how many pages should she read?", "Maila read 12 x 2 = 24 pages today.\nSo she was able to read a total of 12 + 24 = 36 pages since yesterday.\nThere are 120 - 36 = 84 pages left to be read.\nSince she wants to read half of the remaining pages tomorrow, then she should read 84/2 = 42 pages.", "42"),
    ("James writes a 3-page letter to 2 different friends twice a week.  How many pages does he write a year?", "He writes each friend 3*2=6 pages a week\nSo he writes 6*2=12 pages every week\nThat means he writes 12*52=624 pages a year", "624"),
    ("Mark has a garden with flowers. He planted plants of three different colors in it. Ten of them are yellow, and there are 80% more of those in purple. There are only 25% as many green flowers as there are yellow and purple flowers. How many flowers does Mark have in his garden?", "There are 80/100 * 10 = 8 more purple flowers than yellow flowers.\nSo in Mark's garden, there are 10 + 8 = 18 purple flowers.\nPurple and yellow flowers sum up to 10 + 18 = 28 flowers.\nThat means in Mark's garden there are 25/100 * 28 = 7 green flowers.\nSo in total Mark has 28 + 7 = 35 plants in his garden.", "35"),
    ("Albert is wondering how much pizza he can eat in one day. He buys 2 large pizzas and 2 small pizzas. A large pizza has 16 slices and a small pizza has 8 slices. If he eats it all, how many pieces does he eat that day?", "He eats 32 from the largest pizzas because 2 x 16 = 32\nHe eats 16 from the small pizza because 2 x 8 = 16\nHe eats 48 pieces because 32 + 16 = 48", "48"),
    ("Ken created a care package to send to his brother, who was away at boarding school.  Ken placed a box on a scale, and then he poured into the box enough jelly beans to bring the weight to 2 pounds.  Then, he added enough brownies to cause the weight to triple.  Next, he added another 2 pounds of jelly beans.  And finally, he added enough gummy worms to double the weight once again.  What was the final weight of the box of goodies, in pounds?", "To the initial 2 pounds of jelly beans, he added enough brownies to cause the weight to triple, bringing the weight to 2*3=6 pounds.\nNext, he added another 2 pounds of jelly beans, bringing the weight to 6+2=8 pounds.\nAnd finally, he added enough gummy worms to double the weight once again, to a final weight of 8*2=16 pounds.", "16"),
)


@dataclass(frozen=True)
class Template:
    name: str
    text: str
    """The prompt with a `{question}` slot (chat: the user message)."""
    answer_format: str
    """How target() ends: "think" (</think> <answer> x </answer>), "boxed", "hash" (#### x) or
    "phrase" (The answer is x.); r1repro.rewards.in_answer_format checks a response against it."""
    response_prefix: str = ""
    """Text the prompt already opened; the grader scores response_prefix + completion."""
    stop: tuple[str, ...] = ()
    """Stop strings for generation."""
    chat: bool = False
    """Wrap `text` in the tokenizer's chat template (prompt() then needs the tokenizer)."""

    def prompt(self, question: str, tokenizer=None) -> str:
        user = self.text.replace("{question}", question.strip())
        if not self.chat:
            return user
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"template {self.name!r} needs a tokenizer with a chat template")
        return tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                             add_generation_prompt=True)

    def target(self, solution: str | None, gold: str) -> str:
        steps = (solution or "").strip()
        if self.answer_format == "think":
            return f" {steps} </think> <answer> {gold} </answer>" if steps else f" </think> <answer> {gold} </answer>"
        if self.answer_format == "hash":
            return f" {steps}\n#### {gold}" if steps else f" #### {gold}"
        if self.answer_format == "phrase":
            return f"{steps}\nThe answer is {gold}." if steps else f"The answer is {gold}."
        return f"{steps}\nThe final answer is $\\boxed{{{gold}}}$." if steps else f"The final answer is $\\boxed{{{gold}}}$."

    def record(self) -> dict:
        """What a run records about its template: name, text and its sha256, prefix, stops."""
        return {"name": self.name, "text": self.text, "sha256": sha256_text(self.text),
                "response_prefix": self.response_prefix, "stop": list(self.stop), "chat": self.chat}


def gsm8k_kshot_template(k: int, name: str | None = None) -> Template:
    """k exemplars (the first k GSM8K train rows) in `Question:/Answer:` form, answers as `#### x`."""
    if not 0 <= k <= len(GSM8K_EXEMPLARS):
        raise ValueError(f"gsm8k_kshot: k must be 0..{len(GSM8K_EXEMPLARS)}, got {k}")
    shots = "".join(f"Question: {q}\nAnswer: {s}\n#### {g}\n\n" for q, s, g in GSM8K_EXEMPLARS[:k])
    return Template(name or f"gsm8k_{k}shot", shots + "Question: {question}\nAnswer:", "hash",
                    stop=("\n\nQuestion:", "Question:"))


def sft_target(template: Template, problem: Problem) -> str:
    """template.target with the answer slot `problem.meta["answer"]` when set (Countdown), else gold."""
    return template.target(problem.solution, str(problem.meta.get("answer", problem.gold)))


TEMPLATES: Registry[Template] = Registry("prompt template")
for _t in (
    Template("r1_zero", R1_ZERO, "think", response_prefix="<think>", stop=("</answer>",)),
    Template("qa", QA, "think", response_prefix="<think>", stop=("</answer>",)),
    Template("boxed", BOXED, "boxed"),
    Template("chat", BOXED.replace("\n" + BOXED_INSTRUCTION + "\n", "\n" + BOXED_INSTRUCTION), "boxed", chat=True),
    Template("chat_answer", "{question}\n" + ANSWER_INSTRUCTION, "phrase", chat=True),
    gsm8k_kshot_template(8, "gsm8k_kshot"),
    *(gsm8k_kshot_template(k) for k in range(1, 9)),
):
    TEMPLATES.register(_t.name)(_t)
