"""The released variant matches the authors' code detail by detail (book/released_vs_paper.md).

Each test walks the built modules and checks one detail against the release: IMA's attention
dropout 0.5 and LayerNorm eps 1e-12, TCAF's Dropout(0.1) on the attention weights, the DenseNet
head's 3-wide biased transitions, no BN-ReLU before pooling and Dropout(0.5) in the classifier,
the CT vector through a 400-wide layer, the text vector from the pooler output, the concatenation
order, a forward pass at the quick profile's sizes, and that the paper variant did not change.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.models.small import SMALL, built, make_batch, tiny_bert
from tmiclnet.config import get_profile
from tmiclnet.models import build, model_config
from tmiclnet.models.encoders import CTEncoder, TextEncoder, masked_mean
from tmiclnet.models.heads import DenseNet1D
from tmiclnet.models.tcaf import ScalarCrossAttention

QUICK_RAD_FEATURES = 107  # radiomic columns of the quick PBC cohort after preprocessing
# frozen MiniLM line tokens with their value channels: a has-a-value flag and one channel per
# field of the PBC notes (age and nine laboratory values; tmiclnet.text.values)
TEXT_DIM = 384 + 1 + 10


def attention_modules(model: nn.Module) -> list[nn.MultiheadAttention]:
    return [m for m in model.ima.modules() if isinstance(m, nn.MultiheadAttention)]


def test_released_ima_drops_attention_weights_with_p_half_and_its_output_with_0_2() -> None:
    model = built("tmiclnet_released")
    mha = attention_modules(model)
    assert len(mha) == 3 and all(m.dropout == 0.5 for m in mha)
    for m in ("ct", "radiomics", "text"):
        block = model.ima[m].block
        assert block.drop.p == 0.2
        assert block.norm.eps == 1e-12


def test_released_ima_attention_dropout_acts_on_a_single_key() -> None:
    # with one key the weight 1 becomes 0 or 2 per head in training: the output varies by call
    model = built("tmiclnet_released").train()
    block = model.ima["ct"].block
    x, mask = torch.randn(64, 1, 256), torch.ones(64, 1, dtype=torch.bool)
    block.drop.p = 0.0  # only the attention dropout left
    torch.manual_seed(0)
    a = block(x, mask)[0]
    b = block(x, mask)[0]
    assert not torch.allclose(a, b)
    block.attn.dropout = 0.0
    assert torch.allclose(block(x, mask)[0], block(x, mask)[0])


def test_paper_variant_keeps_its_dropout_eps_and_size() -> None:
    model = built("tmiclnet_tokens")
    assert all(model.ima[m].block.attn.dropout == 0.2 for m in model.modalities)
    assert all(model.ima[m].block.norm.eps == 1e-5 for m in model.modalities)
    # measured on main before the released variant changed: the paper variant must not move
    assert sum(p.numel() for p in model.parameters()) == 3_240_834


def test_released_tcaf_has_dropout_0_1_on_its_attention_weights() -> None:
    model = built("tmiclnet_released")
    units = [m for m in model.tcaf.modules() if isinstance(m, ScalarCrossAttention)]
    assert len(units) == 3
    assert all(isinstance(u.drop, nn.Dropout) and u.drop.p == 0.1 for u in units)
    assert sum(p.numel() for p in model.tcaf.parameters()) == 27


def test_released_tcaf_dropout_is_on_the_path_from_weights_to_context() -> None:
    unit = ScalarCrossAttention().train()
    x, y = torch.randn(2, 32), torch.randn(2, 32)
    torch.manual_seed(0)
    out, weights = unit(x, y)
    with torch.no_grad():  # recompute with the same dropout mask by hand
        torch.manual_seed(0)
        keep = torch.nn.functional.dropout(weights, 0.1, training=True)
        context = keep @ unit.v(y.unsqueeze(-1))
        by_hand = unit.out(torch.cat([x.unsqueeze(-1), context], dim=-1)).squeeze(-1)
    assert torch.allclose(out, by_hand, atol=1e-6)
    unit.eval()
    assert not torch.allclose(unit(x, y)[0], out)  # eval: no dropout, another output


@pytest.mark.parametrize("size", ["small", "densenet121"])
def test_densenet_head_follows_the_release(size: str) -> None:
    head = DenseNet1D(size)
    convs = [m for m in head.features.modules() if isinstance(m, nn.Conv1d)]
    assert all(c.bias is not None for c in convs)
    transitions = [
        s
        for s in head.features
        if isinstance(s, nn.Sequential) and any(isinstance(m, nn.AvgPool1d) for m in s)
    ]
    assert len(transitions) == 3
    for t in transitions:
        conv = next(m for m in t if isinstance(m, nn.Conv1d))
        assert conv.kernel_size == (3,) and conv.padding == (1,)
        assert conv.out_channels == conv.in_channels // 2
    # no BN-ReLU of our own between the last dense layer and the pooling
    layers = list(head.features)
    pool = next(i for i, m in enumerate(layers) if isinstance(m, nn.AdaptiveAvgPool1d))
    assert not isinstance(layers[pool - 1], (nn.BatchNorm1d, nn.ReLU))
    assert type(layers[pool - 1]).__name__ == "_DenseLayer"
    drops = [m for m in head.classifier if isinstance(m, nn.Dropout)]
    assert [d.p for d in drops] == [0.5]
    lin = [m for m in head.classifier if isinstance(m, nn.Linear)]
    assert lin[0].out_features == lin[0].in_features // 2 and lin[1].out_features == 2
    if size == "densenet121":  # the release's Linear(1024, 512) -> Linear(512, 2)
        assert (lin[0].in_features, lin[0].out_features, lin[1].in_features) == (1024, 512, 512)
    assert head(torch.randn(2, 768)).shape == (2, 2)


def test_released_head_reads_text_radiomics_ct_in_that_order() -> None:
    model = built("tmiclnet_released")
    seen = {}
    model.tcaf.register_forward_hook(lambda m, i, o: seen.update(tcaf=o[0]))
    model.head.register_forward_hook(lambda m, i, o: seen.update(head=i[0]))
    with torch.no_grad():
        model(make_batch())
    outs = seen["tcaf"]  # (B, 3, 256) in MODALITIES order: ct, radiomics, text
    assert torch.equal(seen["head"], torch.cat([outs[:, 2], outs[:, 1], outs[:, 0]], dim=1))


def test_released_ct_vector_is_the_averaged_grid_through_a_400_wide_layer() -> None:
    torch.manual_seed(0)
    enc = CTEncoder(256, use_tokens=True, token_dim=128, mode="released")
    assert not any(isinstance(m, nn.LayerNorm) for m in enc.modules())
    widths = [(m.in_features, m.out_features) for m in enc.modules() if isinstance(m, nn.Linear)]
    assert widths == [(128, 400), (400, 256)]
    raw = torch.randn(3, 5, 128)
    out = enc({"ct_tokens": raw})
    fc1, fc2 = enc.fc
    assert torch.allclose(out.pooled, fc2(fc1(raw.mean(1))), atol=1e-6)
    assert out.tokens.shape == (3, 1, 256) and out.mask.all()


def test_released_text_vector_is_a_linear_map_of_the_pooler_output() -> None:
    torch.manual_seed(0)
    lm = tiny_bert().eval()
    enc = TextEncoder(256, language_model=lm, finetune=False, mode="released").eval()
    assert not any(isinstance(m, nn.LayerNorm) for n, m in enc.named_modules() if "lm" not in n)
    ids, att = torch.randint(1, 50, (2, 9)), torch.ones(2, 9, dtype=torch.long)
    att[1, 6:] = 0
    with torch.no_grad():
        out = enc({"text": {"input_ids": ids, "attention_mask": att}})
        pooler = lm(input_ids=ids, attention_mask=att).pooler_output
    assert torch.allclose(out.pooled, enc.fc(pooler), atol=1e-6)


def test_released_text_vector_from_frozen_states_is_their_masked_mean() -> None:
    # no pooler state is cached for frozen text: the documented stand-in is the mean of the states
    torch.manual_seed(0)
    enc = TextEncoder(256, text_dim=16, mode="released")
    states, mask = torch.randn(2, 7, 16), torch.tensor([[1] * 7, [1] * 4 + [0] * 3]).bool()
    out = enc({"text_tokens": states, "text_mask": mask})
    assert torch.allclose(out.pooled, enc.fc(masked_mean(states, mask)), atol=1e-6)


def test_released_forward_pass_at_the_quick_profile_sizes(one_thread) -> None:
    profile = get_profile("quick")
    cfg = model_config(
        profile,
        rad_features=QUICK_RAD_FEATURES,
        text_dim=TEXT_DIM,
        use_ct_tokens=False,
    )
    torch.manual_seed(0)
    model = build("tmiclnet_released", **cfg).train()
    assert isinstance(model.head, DenseNet1D) and model.head.classifier[0].in_features == 32
    b, lines = 2, profile.text_lines
    batch = {
        "ct": torch.rand(b, 1, *profile.volume_shape),
        "radiomics": torch.randn(b, QUICK_RAD_FEATURES),
        "text_tokens": torch.randn(b, lines, TEXT_DIM),
        "text_mask": torch.ones(b, lines, dtype=torch.bool),
        "present": torch.ones(b, 3, dtype=torch.bool),
        "label": torch.tensor([0, 1]),
    }
    out = model(batch)
    assert out["logits"].shape == (b, 2)
    d = profile.fusion_dim
    assert [tuple(f.shape) for f in out["features"]] == [(b, d)] * 3
    assert out["attention"]["tcaf/text"].shape == (b, d, d)
    model.loss(out, batch["label"]).backward()
    assert model.encoders["ct"].fc[0].weight.grad.abs().sum() > 0


def test_cached_tokens_and_volume_paths_build_the_same_released_ct_layers() -> None:
    a = built("tmiclnet_released", **SMALL)
    b = built("tmiclnet_released", **{**SMALL, "use_ct_tokens": False, "ct_widen": 0.25})
    names = lambda m: [n for n, _ in m.encoders["ct"].named_parameters() if "backbone" not in n]  # noqa: E731
    assert names(a) == names(b) == ["fc.0.weight", "fc.0.bias", "fc.1.weight", "fc.1.bias"]
