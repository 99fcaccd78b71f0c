"""Interpretation on a small freshly built TMI-CLNet: attention, occlusion, permutation, tokens."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from tmiclnet.config import get_profile
from tmiclnet.evaluate.interpret import attention, attributions, occlusion, permutation, views
from tmiclnet.evaluate.saved import SavedFold, repeat_rows

COLUMNS = [
    "original_firstorder_Mean",
    "original_firstorder_Energy",
    "original_glcm_Contrast",
    "original_glcm_Idm",
    "original_shape_Sphericity",
    "original_shape_Elongation",
]


class ToyFold(SavedFold):
    """A SavedFold whose models are built here and whose inputs are already model batches."""

    def __init__(self, models: dict, inputs: dict, labels) -> None:
        ids = [f"p{i}" for i in range(len(labels))]
        test = SimpleNamespace(inputs=inputs, labels=torch.tensor(labels), ids=ids)
        super().__init__(
            0, None, "toy", SimpleNamespace(rad_columns=COLUMNS), test, torch.device("cpu")
        )
        self._models = {k: (m.eval(), {}) for k, m in models.items()}

    def model_batch(self, name, inputs=None, ids=None):
        inputs = self.test.inputs if inputs is None else inputs
        model = self._models[name][0]
        keep = {"present"} | {k for k in inputs if any(k.startswith(m) for m in model.modalities)}
        return {k: v for k, v in inputs.items() if k in keep}


@pytest.fixture(scope="module")
def toy() -> ToyFold:
    from tmiclnet.models import build

    torch.manual_seed(0)
    fams = [[0, 1], [2, 3], [4, 5]]
    common = dict(
        rad_features=6,
        rad_families=fams,
        text_dim=16,
        use_text_tokens=True,
        ct_depth=10,
        ct_widen=0.25,
    )
    models = {
        "tmiclnet_tokens": build("tmiclnet_tokens", **common),
        "radiomics_only": build("radiomics_only", rad_features=6, rad_families=fams),
    }
    n = 12
    g = torch.Generator().manual_seed(1)
    raw = torch.randn(n, 9, 16, generator=g)  # 9 word pieces per note, read as they are
    inputs = {
        "ct": torch.rand(n, 1, 16, 16, 16, generator=g),
        "radiomics": torch.randn(n, 6, generator=g),
        "text_tokens": torch.nn.functional.pad(raw, (0, 0, 0, 2)),  # a batch 2 tokens longer
        "text_mask": torch.nn.functional.pad(torch.ones(n, 9, dtype=torch.bool), (0, 2)),
        "present": torch.ones(n, 3, dtype=torch.bool),
    }
    fold = ToyFold(models, inputs, [0, 1] * (n // 2))
    fold.raw_text = raw
    return fold


def test_modality_attention_shares(toy) -> None:
    table = attention.modality_attention(toy)
    assert list(table.index) == ["ct", "radiomics", "text"]
    np.testing.assert_allclose(table.sum(1), 1.0, atol=1e-5)
    assert (np.diag(table.to_numpy()) == 0).all()  # a modality never queries itself
    fam = attention.family_attention(toy)
    assert sorted(fam.index) == ["original_firstorder", "original_glcm", "original_shape"]


def test_occlusion_map_shape_and_zero_for_a_model_without_ct(toy) -> None:
    occ = occlusion.ct_occlusion(toy, "tmiclnet_tokens", patient=0, blocks=(2, 2, 2))
    assert occ.shape == (16, 16, 16) and np.abs(occ).max() > 0
    none = occlusion.ct_occlusion(toy, "radiomics_only", patient=0, blocks=(2, 2, 2))
    assert np.abs(none).max() < 1e-6 < np.abs(occ).max()  # batch-size rounding only


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence:UserWarning")  # MONAI 1.6.1
def test_occlusion_is_monai_s_where_the_blocks_divide_the_grid(toy) -> None:
    """MONAI's OcclusionSensitivity (the volume's mean as the fill, no overlap) slides one mask
    size; where the blocks divide every axis its windows are our blocks and the maps agree. Where
    they do not (the page's 6 blocks on the cpu grid's 64 voxels), MONAI's last window is shifted
    back over its neighbour and the overlap averaged: another map, so ct_occlusion keeps its own."""
    from monai.visualize import OcclusionSensitivity

    name, inputs = "tmiclnet_tokens", toy.patient_inputs(0)

    class Risk(torch.nn.Module):
        """P(label=1) of the patient with its CT replaced by each volume of the batch."""

        def forward(self, ct: torch.Tensor) -> torch.Tensor:
            batch = {k: ct if k == "ct" else repeat_rows(v, len(ct)) for k, v in inputs.items()}
            return toy.probs(name, batch)[:, None]

    def monai_map(mask: int) -> np.ndarray:
        occ = OcclusionSensitivity(
            Risk(), mask, n_batch=32, verbose=False, mode="mean_img", overlap=0.0, activate=False
        )
        risk = occ(inputs["ct"])[0]  # (1, 1, D, H, W): P(label=1) with the window occluded
        return float(toy.probs(name, inputs)[0]) - risk[0, 0].numpy().astype(np.float64)

    ours = occlusion.ct_occlusion(toy, name, patient=0, blocks=(2, 2, 2))  # 8-voxel blocks
    np.testing.assert_allclose(ours, monai_map(8), atol=1e-6)
    uneven = occlusion.ct_occlusion(toy, name, patient=0, blocks=(3, 3, 3))  # 5, 6, 5 voxels
    assert np.abs(uneven - monai_map(6)).max() > 1e-4


def test_permutation_importance_names_families(toy) -> None:
    imp = permutation.family_permutation_importance(toy, "radiomics_only", n_repeats=2, seed=0)
    assert sorted(imp.index) == ["original_firstorder", "original_glcm", "original_shape"]
    assert imp.equals(
        permutation.family_permutation_importance(toy, "radiomics_only", n_repeats=2, seed=0)
    )


def test_token_attributions_cover_the_real_tokens(toy) -> None:
    class Tok:
        def __call__(self, notes, truncation, max_length):
            return {"input_ids": [list(range(max_length + 3))]}

        def convert_ids_to_tokens(self, ids):
            return [f"t{i}" for i in ids]

    profile = dataclasses.replace(get_profile("quick"), text_lines=0, text_max_tokens=9)
    zero = torch.zeros(11, 16)
    attr = attributions.token_attributions(
        toy, "tmiclnet_tokens", 0, Tok(), "a note", toy.raw_text[:1], profile, baseline=zero
    )
    assert len(attr) == 9 and attr["attribution"].abs().sum() > 0
    # integrated gradients are complete: they sum to the log-odds change from the baseline
    assert attr.attrs["total"] == pytest.approx(attr.attrs["gap"], rel=0.05, abs=1e-3)
    assert attr["attribution"].sum() == pytest.approx(attr.attrs["total"], rel=1e-4, abs=1e-5)
    mean = toy.raw_text.mean(0)
    from_mean = attributions.token_attributions(
        toy, "tmiclnet_tokens", 0, Tok(), "a note", toy.raw_text[:1], profile, baseline=mean
    )
    assert from_mean.attrs["gap"] != pytest.approx(attr.attrs["gap"])  # another reference point
    assert from_mean.attrs["total"] == pytest.approx(from_mean.attrs["gap"], rel=0.05, abs=1e-3)
    with pytest.raises(ValueError, match="differ"):  # another note's states are refused
        attributions.token_attributions(
            toy, "tmiclnet_tokens", 0, Tok(), "a note", toy.raw_text[1:2], profile, baseline=zero
        )
    html = views.note_html(
        pd.DataFrame({"token": ["[CLS]", "bili", "##rubin"], "attribution": [0.1, 1.0, -0.5]})
    )
    assert "bili</span><span" in html and "[CLS]" not in html


def test_a_below_average_value_raises_the_risk_from_the_mean_baseline() -> None:
    """Risk falls as albumin rises: a LOW albumin must come out as raising the risk. From a zero
    baseline (gradient x input) it comes out as lowering it, whatever its value."""

    def risk(x):  # log-odds falling with the value
        return -2.0 * x[..., 0]

    low, mean = torch.tensor([1.0]), torch.tensor([3.0])
    from_mean, _ = attributions.integrated_gradients(risk, low, mean, steps=8)
    from_zero, _ = attributions.integrated_gradients(risk, low, torch.zeros(1), steps=8)
    assert float(from_mean[0]) == pytest.approx(4.0) and float(from_zero[0]) == pytest.approx(-2.0)


def test_importance_claims_read_negative_importances_as_noise() -> None:
    imp = pd.Series({"glcm": 0.004, "shape": -0.002, "firstorder": -0.01}, name="AUC drop")
    imp.attrs["sd"] = pd.Series({"glcm": 0.01, "shape": 0.004, "firstorder": 0.02})
    said = views.importance_claims(imp)
    text = said.markdown()
    assert text.startswith("2 of 3 radiomic families have a negative importance")
    assert "-0.0100" in text and "noise" in text and said.unshown() == []
    assert list(said.table.index) == ["glcm", "shape", "firstorder"]  # every family, ranked
    imp.attrs["sd"] = pd.Series({"glcm": 0.001, "shape": 0.004, "firstorder": 0.02})
    clear = views.importance_claims(imp).markdown()
    assert "glcm (+0.0040)" in clear and "does not use it" in clear


def test_the_note_colours_follow_the_sign_of_the_contribution() -> None:
    """Red raised the risk, blue lowered it: a line whose words pull down but whose number pushes
    up more (bilirubin) is red in total, and its number's pieces are red."""
    assert views.sign_colour(0.5, 1.0).startswith(f"rgba({','.join(map(str, views.RAISES))},")
    assert views.sign_colour(-0.5, 1.0).startswith(f"rgba({','.join(map(str, views.LOWERS))},")
    assert views.sign_colour(-2.0, 1.0).endswith(",1.00)")  # capped at full opacity
    attr = pd.DataFrame(
        {
            "token": ["bili", "##rubin", "3", ".", "2"],
            "attribution": [-0.2, -0.1, 0.0, 0.0, 0.0],
            "line": [0, 0, 0, 0, 0],
            "number": [0.0, 0.0, 0.6, 0.6, 0.6],
        }
    )
    attr.attrs["lines"] = pd.DataFrame({"words": [-0.3], "number channels": [1.8]})
    assert views.contributions(attr).sum() == pytest.approx(1.5)
    html = views.note_html(attr)
    red = ",".join(map(str, views.RAISES))
    assert f"rgba({red},1.00); color: white" in html and "+1.500" in html  # the line's total
    assert html.count(f"rgba({red},") == 4  # the total and the three pieces of "3.2"


def test_punctuation_share_of_the_top_word_pieces() -> None:
    attr = pd.DataFrame(
        {"token": [")", "albumin", ".", "-"], "attribution": [0.9, -0.5, 0.3, 0.01]}
    )
    assert views.punctuation_share(attr, top=2) == 0.5
    assert views.punctuation_share(attr, top=4) == 0.75


def test_the_baseline_matches_lines_by_field_not_by_position() -> None:
    from tmiclnet.inputs.tensors import TensorData

    notes = {
        "a": "Note\n- Albumin 3.0 g/dL\n- Bilirubin 2.0 mg/dL",
        "b": "Note\n- Bilirubin 1.0 mg/dL\n- Albumin 4.0 g/dL",  # the other template's order
        "c": "Note\n- Albumin 9.9 g/dL\n- Bilirubin 9.9 mg/dL",  # a test patient: not averaged
    }
    tokens = torch.tensor([[[0.0], [3.0], [20.0]], [[0.0], [10.0], [4.0]], [[0.0], [99.0], [99.0]]])
    data = TensorData(
        list(notes),
        {"text_tokens": tokens, "text_mask": torch.ones(3, 3, dtype=torch.bool)},
        torch.tensor([0, 1, 0]),
    )
    fold = SimpleNamespace(fin=SimpleNamespace(data=data, split=SimpleNamespace(train=["a", "b"])))
    profile = get_profile("quick")
    base = attributions.text_baseline(fold, notes.get, notes["c"], profile)
    assert base[1, 0] == pytest.approx(3.5) and base[2, 0] == pytest.approx(15.0)
    by_position = attributions.text_baseline(fold)
    assert by_position[1, 0] == pytest.approx(6.5)  # albumin and bilirubin mixed
    assert attributions.line_field("- Albumin 3.48 g/dL (ref 3.5-5) L") == "- albumin"


def test_occlusion_claims_set_the_largest_block_against_the_whole_ct() -> None:
    occ = np.zeros((2, 2, 2))
    occ[0, 0, 0], occ[1, 1, 1] = 0.004, -0.010
    said = views.occlusion_claims(occ, whole=0.05, risk=0.31)
    text = said.markdown()
    assert "31.00 %" in text and "-1.00 percentage points" in text and "+5.00" in text
    assert "20%" in text and said.unshown() == []  # |-0.010| / 0.05
    assert said.caption.startswith("8 blocks: 1 raised the risk, 1 lowered it")
    big = np.kron(occ, np.ones((2, 3, 3)))  # each block's value repeated over its voxels
    assert views.occlusion_claims(big, 0.05, 0.31, blocks=(2, 2, 2)).caption.startswith("8 blocks")


def test_line_token_attributions_read_the_value_channels_with_the_folds_scale() -> None:
    """Interpretation rebuilds a note's line tokens with the fold's value statistics: the tokens
    match the model's batch only with that scale, and the training mean comes from it."""
    from tmiclnet import text
    from tmiclnet.models import build
    from tmiclnet.text import values
    from tmiclnet.text.lines import line_parts

    tokenizer = text.load_tokenizer("minilm")[0]
    notes = [
        "Note\n- Albumin 3.0 g/dL\n- Total bilirubin 2.0 mg/dL",
        "Note\n- Total bilirubin 1.0 mg/dL\n- Albumin 4.0 g/dL",
        "Note\n- Albumin 2.2 g/dL\n- Total bilirubin 9.9 mg/dL",
    ]
    enc = tokenizer(notes, truncation=True, max_length=32)
    length = max(len(i) for i in enc["input_ids"])
    states = torch.randn(3, length, 13, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[j < len(i) for j in range(length)] for i in enc["input_ids"]])
    parts = line_parts(notes, states, mask, tokenizer, 32, max_lines=4)
    fields = values.vocabulary(parts.names)
    cohort = {
        "line_states": parts.states,
        "line_field": values.field_index(parts.names, fields, 4),
        "line_value": parts.values,
        "text_mask": parts.mask,
    }
    fold_tensors, scale = values.fold_text(cohort, fields, ["a", "b", "c"], ["a", "b"])
    assert parts.states.shape[-1] + values.n_channels(fields) == 16
    with torch.random.fork_rng():  # later tests must not depend on this one having run
        torch.manual_seed(0)
        model = build("text_only", text_dim=16, use_text_tokens=True, dim=32, heads=4)
    inputs = {**fold_tensors, "present": torch.ones(3, 3, dtype=torch.bool)}
    fold = ToyFold({"text_only": model}, inputs, [0, 1, 0])
    fold.fin = SimpleNamespace(rad_columns=COLUMNS, text_scale=scale)
    profile = dataclasses.replace(get_profile("quick"), text_lines=4, text_max_tokens=32)
    n = len(enc["input_ids"][2])
    base = torch.zeros(4, 16)
    attr = attributions.token_attributions(
        fold, "text_only", 2, tokenizer, notes[2], states[2:3, :n], profile, baseline=base
    )
    lines_ = attr.attrs["lines"]
    albumin = scale.fields.index("albumin")  # line 1 of the note: the mean of 3.0 and 4.0 g/dL
    assert lines_["training mean"].iloc[1] == pytest.approx(12**0.5, rel=1e-5)
    assert float(10 ** scale.mean[albumin]) == pytest.approx(12**0.5, rel=1e-5)
    assert np.isnan(lines_["training mean"].iloc[0])  # "Note" states no value
    assert attr.attrs["total"] == pytest.approx(attr.attrs["gap"], rel=0.05, abs=1e-3)
    other = values.FieldScale(scale.fields, scale.mean + 1.0, scale.sd)  # another fold's scale
    fold.fin = SimpleNamespace(rad_columns=COLUMNS, text_scale=other)
    with pytest.raises(ValueError, match="differ"):
        attributions.token_attributions(
            fold, "text_only", 2, tokenizer, notes[2], states[2:3, :n], profile, baseline=base
        )
