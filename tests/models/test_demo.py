"""The model pages' real batch carries the note as the profile's trained models read it."""

from __future__ import annotations

import pytest
import torch

from tmiclnet.config import default_data_dir, setup
from tmiclnet.data.cohort import load
from tmiclnet.models import demo
from tmiclnet.text.inputs import text_inputs
from tmiclnet.text.values import fold_text

QUICK = default_data_dir("quick") / "pbc"


@pytest.mark.needs_build(QUICK)
def test_real_batch_reads_the_text_tokens_training_reads() -> None:
    run = setup("quick", "", 0, "cpu")
    real = demo.real_batch(run, 4)
    cohort = load(QUICK)
    tensors, info = text_inputs(cohort, run.profile)
    others = [i for i in cohort.ids if i not in real.ids]  # the value channels' statistics
    tensors = fold_text(tensors, info["text_fields"], list(cohort.ids), others)[0]
    rows = [cohort.ids.index(i) for i in real.ids]
    length = real.batch["text_tokens"].shape[1]
    assert run.profile.text_lines and length <= run.profile.text_lines
    assert torch.equal(real.batch["text_tokens"], tensors["text_tokens"][rows, :length])
    assert torch.equal(real.batch["text_mask"], tensors["text_mask"][rows, :length])
    assert real.config["text_dim"] == info["text_dim"]
    assert [len(t) for t in real.text_labels] == real.batch["text_mask"].sum(1).tolist()
    assert f"at most {run.profile.text_lines} **line tokens**" in real.text_input
