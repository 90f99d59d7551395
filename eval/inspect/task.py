"""mmmult for inspect-ai: `inspect eval eval/inspect/task.py -T config=image-words -T regime=direct --model ...`.

Parameters (-T NAME=VALUE): config (text-numerals, text-words, image-numerals, image-words, audio-words,
audio-digits, or an extended-* config), kind (multiply or perceive), regime (worked or direct), split (test) or
mini=true, data (a build folder or Hub repo id; else $MMMULT_DATA, else ./mmmult-data), shard ("I/N").
Everything is mmmult/harness/inspect_task.py's; this file only names the task for inspect.
"""

from inspect_ai import Task, task

from mmmult.harness.inspect_task import mmmult_task


@task
def mmmult(
    config: str = "text-numerals",
    kind: str = "multiply",
    regime: str = "worked",
    split: str = "test",
    mini: bool = False,
    data: str | None = None,
    shard: str | None = None,
) -> Task:
    """One config, kind and regime of the mmmult benchmark (the lm-eval task of the same parameters)."""
    return mmmult_task(config, kind, regime, split, mini, data, shard)
