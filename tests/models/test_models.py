"""tmiclnet.models: shapes, gradients, the released TCAF's size, SDM by hand, missing modalities."""

from __future__ import annotations

import math

import pytest
import torch

from tests.models.small import F_RAD, FAMILIES, built, make_batch, tiny_bert
from tmiclnet.config import get_profile
from tmiclnet.models import build, catalogue, model_config
from tmiclnet.models.losses import TMFFLoss, sdm_loss
from tmiclnet.models.tcaf import ReleasedTCAF, cycle_context


@pytest.mark.parametrize("name", catalogue()["name"].tolist())
def test_every_model_gives_logits_features_and_a_loss(name: str) -> None:
    model = built(name).train()
    batch = make_batch()
    out = model(batch)
    assert out["logits"].shape == (4, 2)
    assert len(out["features"]) == 3
    for modality, f in zip(("ct", "radiomics", "text"), out["features"]):
        assert (f is None) == (modality not in model.modalities)
        assert f is None or f.shape == (4, 256)
    loss = model.loss(out, batch["label"])
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()


def test_catalogue_lists_the_contract_names() -> None:
    names = set(catalogue()["name"])
    assert {
        "tmiclnet_tokens",
        "tmiclnet_released",
        "ct_only",
        "radiomics_only",
        "text_only",
        "ct_radiomics",
        "ct_text",
        "radiomics_text",
        "early_fusion",
        "late_fusion",
        "no_ima",
        "no_tcaf",
        "no_tmff",
    } == names
    assert list(catalogue().columns) == ["name", "modalities", "fusion", "description"]


def test_build_rejects_unknown_names_and_keys() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        build("tmiclnet_v2", rad_features=3)
    with pytest.raises(TypeError, match="rad_featurs"):
        build("ct_only", rad_featurs=3)
    with pytest.raises(ValueError, match="rad_features"):
        build("radiomics_only")


def test_released_tcaf_has_the_authors_27_parameters() -> None:
    assert sum(p.numel() for p in ReleasedTCAF(3).parameters()) == 27
    model = built("tmiclnet_released")
    assert sum(p.numel() for p in model.tcaf.parameters()) == 27
    # one-token IMA: the softmax over a single key is 1, whatever the input
    out = model(make_batch())
    assert torch.allclose(out["attention"]["ima/ct/self"], torch.ones(4, 1, 1))
    assert out["attention"]["tcaf/text"].shape == (4, 256, 256)


def test_released_cycle_and_its_fallback_when_a_modality_is_missing() -> None:
    present = torch.tensor([[True, True, True], [True, True, False], [True, False, False]])
    # text queries radiomics, radiomics queries ct, ct queries text (else the next present one)
    assert cycle_context(present).tolist() == [[2, 0, 1], [1, 0, 1], [0, 0, 0]]


def test_gradients_reach_all_three_encoders() -> None:
    torch.manual_seed(0)
    lm = tiny_bert()
    model = build(
        "tmiclnet_tokens",
        rad_features=F_RAD,
        rad_families=FAMILIES,
        use_ct_tokens=False,
        ct_widen=0.125,
        use_text_tokens=False,
        text_model=lm,
        text_finetune=True,
    ).train()
    batch = make_batch(ct="volume")
    del batch["text_tokens"], batch["text_mask"]
    batch["text"] = {
        "input_ids": torch.randint(1, 50, (4, 9)),
        "attention_mask": torch.ones(4, 9, dtype=torch.long),
    }
    model.loss(model(batch), batch["label"]).backward()
    for name, module in (
        ("ct conv1", model.encoders["ct"].backbone.net.conv1),
        ("radiomics", model.encoders["radiomics"]),
        ("text embeddings", model.encoders["text"].lm.embeddings.word_embeddings),
    ):
        grad = module.weight.grad
        assert grad is not None and grad.abs().sum() > 0, f"no gradient reaches the {name} encoder"


def test_frozen_text_model_gets_no_gradient() -> None:
    lm = tiny_bert()
    model = build("text_only", text_model=lm, use_text_tokens=False).train()
    batch = {
        "text": {"input_ids": torch.randint(1, 50, (4, 9)), "attention_mask": torch.ones(4, 9)},
        "label": torch.tensor([0, 1, 0, 1]),
    }
    model.loss(model(batch), batch["label"]).backward()
    assert all(p.grad is None for p in model.encoders["text"].lm.parameters())
    assert model.encoders["text"].proj[0].weight.grad is not None


def test_sdm_matches_a_hand_computed_value_and_is_symmetric() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1])
    # S = 2 * I; each row: P = softmax([2, 0]), Q = [1, 0]
    # -> KL = p(log p - log(1+eps)) + r(log r - log eps)
    p, r = math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)
    row = p * (math.log(p) - math.log(1 + 1e-8)) + r * (math.log(r) - math.log(1e-8))
    assert sdm_loss(a, b, labels).item() == pytest.approx(2 * row, rel=1e-5)
    # same labels: Q = [1/2, 1/2] for every row
    same = torch.tensor([0, 0])
    kl = p * math.log(p / 0.5) + r * math.log(r / 0.5)
    assert sdm_loss(a, b, same).item() == pytest.approx(2 * kl, rel=1e-5)
    g = torch.Generator().manual_seed(1)
    x, y, lab = (
        torch.randn(6, 5, generator=g),
        torch.randn(6, 5, generator=g),
        torch.tensor([0, 1, 1, 0, 1, 0]),
    )
    assert torch.allclose(sdm_loss(x, y, lab), sdm_loss(y, x, lab))
    assert sdm_loss(x, y, lab, logit_scale=2.0) != sdm_loss(x, y, lab, logit_scale=5.0)


def test_tmff_is_ce_plus_the_weighted_sdm_terms() -> None:
    g = torch.Generator().manual_seed(2)
    m1, m2, m3 = (torch.randn(6, 8, generator=g) for _ in range(3))
    logits, labels = torch.randn(6, 2, generator=g), torch.tensor([0, 1, 1, 0, 1, 0])
    ce = torch.nn.functional.cross_entropy(logits, labels)
    expected = ce + 0.01 * (
        0.8 * sdm_loss(m1, m2, labels)
        + 0.2 * (sdm_loss(m2, m3, labels) + sdm_loss(m1, m3, labels)) / 2
    )
    assert torch.allclose(TMFFLoss()(m1, m2, m3, logits, labels), expected)
    assert torch.allclose(TMFFLoss(w2=0.0)(m1, m2, m3, logits, labels), ce)


@pytest.mark.parametrize(
    "name",
    [
        "tmiclnet_tokens",
        "tmiclnet_released",
        "early_fusion",
        "late_fusion",
        "no_tcaf",
        "ct_text",
        "ct_only",
    ],
)
def test_a_missing_modality_changes_the_prediction_without_errors(name: str) -> None:
    model = built(name)
    full = make_batch()
    missing = dict(
        full,
        present=torch.tensor(
            [[True, True, True], [False, True, True], [True, True, False], [True, False, True]]
        ),
    )
    with torch.no_grad():
        a, b = model(full), model(missing)
    assert torch.isfinite(b["logits"]).all()
    assert torch.equal(a["logits"][0], b["logits"][0]), "a complete sample is untouched"
    changed = [not torch.allclose(a["logits"][i], b["logits"][i]) for i in (1, 2, 3)]
    expected = [m in model.modalities for m in ("ct", "text", "radiomics")]
    assert changed == expected


def test_missing_data_is_not_attended_to() -> None:
    model = built("tmiclnet_tokens")
    batch = make_batch()
    batch["present"] = torch.tensor([[True, True, False]] * 4)
    batch["text_tokens"] = torch.full_like(batch["text_tokens"], float("nan"))
    with torch.no_grad():
        out = model(batch)
    assert torch.isfinite(out["logits"]).all()
    # the CT query's weights over the text tokens (after its 3 radiomic family tokens) are zero
    assert out["attention"]["tcaf/ct"][:, len(FAMILIES) :].abs().sum() == 0
    # and the result does not depend on what the missing text contains
    batch["text_tokens"] = torch.randn_like(batch["text_tokens"])
    with torch.no_grad():
        assert torch.equal(model(batch)["logits"], out["logits"])


def test_same_seed_same_model_and_output() -> None:
    batch = make_batch()
    a, b, c = (built("tmiclnet_tokens", seed=s) for s in (3, 3, 4))
    with torch.no_grad():
        assert torch.equal(a(batch)["logits"], b(batch)["logits"])
        assert not torch.equal(a(batch)["logits"], c(batch)["logits"])
    # training mode too (dropout draws from the seeded generator)
    a.train(), b.train()
    torch.manual_seed(5)
    la = a.loss(a(batch), batch["label"])
    torch.manual_seed(5)
    assert torch.equal(la, b.loss(b(batch), batch["label"]))


def test_ct_volume_path_gives_tokens_of_the_advertised_width() -> None:
    model = built("ct_only", use_ct_tokens=False, ct_widen=0.125)
    enc = model.encoders["ct"]
    raw = enc.backbone(torch.rand(2, 1, 16, 32, 32))
    assert raw.shape[0] == 2 and raw.shape[2] == enc.token_dim == 64
    with pytest.raises(ValueError, match=r"\(B,1,D,H,W\)"):
        enc.backbone(torch.rand(2, 16, 32, 32))


def test_model_config_follows_the_profile() -> None:
    cpu, gpu = model_config(get_profile("cpu")), model_config(get_profile("gpu"), rad_features=5)
    assert cpu["head"] == "small" and gpu["head"] == "densenet121"
    assert gpu["ct_depth"] == 18 and gpu["rad_features"] == 5 and gpu["use_text_tokens"] is False
    with pytest.raises(TypeError):
        model_config(get_profile("cpu"), epochs=3)


def test_released_ima_is_a_residual_mlp_on_one_token() -> None:
    from tmiclnet.models.ima import SelfAttentionBlock, one_token_closed_form

    torch.manual_seed(0)
    block = SelfAttentionBlock(32, heads=4).eval()
    x = torch.randn(5, 32)
    with torch.no_grad():
        out, weights = block(x[:, None], torch.ones(5, 1, dtype=torch.bool))
        assert torch.allclose(out[:, 0], one_token_closed_form(block, x), atol=1e-5)
    assert torch.equal(weights, torch.ones(5, 1, 1))
