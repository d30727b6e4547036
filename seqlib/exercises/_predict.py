"""Multiple-choice checks for the book's "predict, then run" questions.

A chapter module lists its questions in ``PREDICTIONS: dict[str, Prediction]``; the student sets
``answer = "b"`` before running anything and calls ``check_prediction(key, answer)``, which says
whether the prediction holds and why (the explanation points at the chapter's evidence).
The texts are written in English, marked with :func:`seqlib.i18n.N_`, and printed in the reader's
language (:func:`seqlib.i18n.tr`).
"""

from __future__ import annotations

from dataclasses import dataclass

from seqlib.i18n import tr


@dataclass(frozen=True)
class Prediction:
    """One "predict, then run" question.

    Attributes:
        question: the question in one sentence (English, marked with ``N_``).
        options: letter -> the option's text (English, marked with ``N_``).
        correct: the letter of the answer the chapter's runs (or the construction) support.
        why: the explanation, shown whatever the student chose (English, marked with ``N_``).
    """

    question: str
    options: dict[str, str]
    correct: str
    why: str

    def __post_init__(self) -> None:
        if self.correct not in self.options:
            raise ValueError(f"correct={self.correct!r} is not among the options {sorted(self.options)}")


def judge(prediction: Prediction, answer: object, verbose: bool = True) -> bool:
    """Say whether ``answer`` is the supported option, with the explanation.

    Args:
        prediction: the question.
        answer: the student's letter (``None`` while unanswered).
        verbose: print "✓ ..." or "✗ ..." and the explanation.

    Returns:
        True for the supported option.
    """
    letters = ", ".join(repr(k) for k in prediction.options)
    if not isinstance(answer, str) or answer.strip().lower() not in prediction.options:
        if verbose:
            options = "\n".join(f"  ({k}) {tr(text)}" for k, text in prediction.options.items())
            given = tr("no answer yet") if answer is None else tr("{answer!r} is not an option", answer=answer)
            print(tr("✗ {given}: set answer to one of {letters} and run the cell again.", given=given, letters=letters)
                  + f"\n{tr(prediction.question)}\n{options}")
        return False
    choice = answer.strip().lower()
    right = choice == prediction.correct
    if verbose:
        verdict = tr("✓ right") if right else tr("✗ the answer is ({letter}) {text}", letter=prediction.correct,
                                                  text=tr(prediction.options[prediction.correct]))
        print(tr("{verdict}; you said ({letter}) {text}.", verdict=verdict, letter=choice,
                 text=tr(prediction.options[choice])) + f"\n{tr(prediction.why)}")
    return right
