"""What the model notebooks (04-07) share: a real batch from the cohort, a toy SDM fit, plots.

`real_batch(run, n)` builds a contract batch from real patients: CT volumes through the MONAI
dataset, radiomics scaled by a pipeline fitted on the OTHER patients (never on the ones shown),
and the note exactly as the profile's trained models read it (`tmiclnet.text.inputs`: one token
per note line with its value standardised on the OTHER patients where `profile.text_lines` is set,
else the word-piece states).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from tmiclnet.models import model_config
from tmiclnet.models.losses import sdm_loss
from tmiclnet.text import lines


@dataclass
class DemoBatch:
    """A model batch of real patients, the build config that fits it, and what it came from."""

    batch: dict
    config: dict
    ids: list[str]
    rad_columns: list[str]
    family_names: list[str]
    notes: list[str]
    text_labels: list[list[str]]  # per patient, what each text token is (a line or a word piece)
    text_input: str  # in words: what the profile's models read of a note


def pick_ids(labels: pd.Series, n: int) -> list[str]:
    """n patients, alternating label 0/1 (sorted ids within a label), so both classes show."""
    by_label = [sorted(labels.index[labels == k]) for k in (0, 1)]
    out: list[str] = []
    while len(out) < n and any(by_label):
        for group in by_label:
            if group and len(out) < n:
                out.append(group.pop(0))
    return out


def real_batch(run, n: int = 8, cohort_name: str = "pbc") -> DemoBatch:
    """`n` real patients of `<run.data_dir>/<cohort_name>` as a model batch (CT as volumes).

    Used by notebooks 04 to 07 (encoders, IMA, TCAF, TMFF loss).

    Args:
        run: the notebook's `tmiclnet.config.Run`: its data folder and profile.
        n: how many patients, alternating label 0 and 1.
        cohort_name: the cohort's folder name under ``run.data_dir``.
    """
    from tmiclnet import radiomics, text
    from tmiclnet.data.cohort import load
    from tmiclnet.data.dataset import CTDataset
    from tmiclnet.radiomics.preprocess import fit_fold, transform
    from tmiclnet.text.inputs import frozen_text_tokens

    cohort = load(run.data_dir / cohort_name)
    ids = pick_ids(cohort.labels, n)
    ct = torch.stack([item["ct"] for item in CTDataset(cohort, ids, run.profile, train=False)])
    table = radiomics.features(cohort, run.profile)
    others = [i for i in cohort.ids if i not in ids]
    pipe = fit_fold(table, cohort.labels, others, run.profile)
    rad = transform(pipe, table, ids)
    families = radiomics.feature_families(list(rad.columns))
    notes = [cohort.note(i) for i in ids]
    emb = text.embed(cohort.notes(), run.profile.text_model, run.profile.text_max_tokens).select(
        ids
    )
    tokenizer = text.load_tokenizer(run.profile.text_model)[0]
    scale = None
    if run.profile.text_lines and not run.profile.text_finetune:  # value channels: OTHERS' stats
        tensors, info = text.text_inputs(cohort, run.profile)
        scale = text.fold_text(tensors, info["text_fields"], list(cohort.ids), others)[1]
    states, mask = frozen_text_tokens(emb.tokens, emb.mask, notes, run.profile, tokenizer, scale)
    length = int(mask.sum(1).max())  # drop padding columns no note of the batch uses
    labels = [text_token_labels(note, tokenizer, run.profile)[:length] for note in notes]
    batch = {
        "ct": ct,
        "radiomics": torch.tensor(rad.to_numpy(), dtype=torch.float32),
        "text_tokens": states[:, :length],
        "text_mask": mask[:, :length],
        "present": torch.ones(len(ids), 3, dtype=torch.bool),
        "label": torch.tensor([int(cohort.labels[i]) for i in ids]),
    }
    config = model_config(
        run.profile,
        rad_features=rad.shape[1],
        rad_families=radiomics.family_indices(list(rad.columns)),
        text_dim=int(states.shape[-1]),
        use_ct_tokens=False,
        use_text_tokens=True,
    )
    return DemoBatch(
        {k: v.to(run.device) for k, v in batch.items()},
        config,
        ids,
        list(rad.columns),
        list(families),
        notes,
        labels,
        text_input_words(run.profile, int(emb.dim)),
    )


def text_token_labels(note: str, tokenizer, profile, width: int = 40) -> list[str]:
    """What each text token of `note` is under the profile: the note's lines (cut to `width`
    characters, for axis labels) where the models read one token per line, else its word pieces.

    Used by notebooks 04 to 06 (axis labels of the text tokens).

    Args:
        note: one clinical note.
        tokenizer: the profile's tokenizer (`tmiclnet.text.load_tokenizer`).
        profile: the run's profile (`text_lines`, `text_max_tokens`).
        width: the longest label, in characters (longer lines end in "...").
    """
    if profile.text_lines:
        spans = lines.line_spans(note)[: profile.text_lines]
        return [_short(note[a:b], width) for a, b in spans]
    ids = tokenizer(note, truncation=True, max_length=profile.text_max_tokens)["input_ids"]
    return tokenizer.convert_ids_to_tokens(ids)


def _short(line: str, width: int = 40) -> str:
    line = " ".join(line.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def text_input_words(profile, state_dim: int) -> str:
    """One sentence saying what the profile's models read of a note, and how it differs from
    the paper (fine-tuned Bio_ClinicalBERT, its pooled output over up to 512 word pieces).

    Used by notebooks 04 to 07 (generated prose, so it follows the profile being built).

    Args:
        profile: the run's profile.
        state_dim: width of one word-piece state of the frozen language model.
    """
    if profile.text_finetune:
        return (
            f"the note's word pieces (up to {profile.text_max_tokens}), through a language model "
            "that trains with the rest, as the paper fine-tunes Bio_ClinicalBERT"
        )
    if profile.text_lines:
        return (
            f"at most {profile.text_lines} **line tokens** per note: each line's word-piece states "
            f"of the frozen encoder averaged ({state_dim} numbers) with the line's first number "
            "appended in its field's own channel, standardised on the training patients "
            "(albumin's value in albumin's channel); the paper instead fine-tunes "
            "Bio_ClinicalBERT on up to 512 word pieces and keeps one pooled vector"
        )
    return (
        f"the frozen encoder's word-piece states (up to {profile.text_max_tokens} per note, "
        f"{state_dim} numbers each); the paper fine-tunes Bio_ClinicalBERT and keeps one "
        "pooled vector"
    )


def shapes(tree, prefix: str = "") -> dict[str, tuple]:
    """Flat {key: shape} of a batch or output (nested dicts and lists included; None kept).

    Used by notebook 04 (encoders).

    Args:
        tree: a batch or a model output: nested dicts, lists and tuples of tensors or None.
        prefix: prepended to every key (the nesting path, when recursing).
    """
    out: dict[str, tuple] = {}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, (dict, list, tuple)):
            out.update(shapes(value, name + "."))
        else:
            out[name] = None if value is None else tuple(value.shape)
    return out


def toy_points(
    n_per_class: int = 6, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two 'modalities' of 2-D points for two labels, at random angles (no label structure).

    Used by notebook 07 (TMFF loss).

    Args:
        n_per_class: points per label and modality.
        seed: seed of the random points.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(2).repeat_interleave(n_per_class)
    a = torch.randn(2 * n_per_class, 2, generator=g)
    b = torch.randn(2 * n_per_class, 2, generator=g)
    return a, b, labels


def fit_sdm(
    a: torch.Tensor,
    b: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 200,
    lr: float = 0.05,
    logit_scale: float = 2.0,
) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Move the points themselves by gradient descent on sdm_loss; returns (a, b, loss curve).

    Used by notebook 07 (TMFF loss).

    Args:
        a: (B, d) starting points of modality A.
        b: (B, d) starting points of modality B, paired with `a` by row.
        labels: (B,) integer labels.
        steps: Adam steps.
        lr: Adam's learning rate.
        logit_scale: scale s of the cosine similarities in `sdm_loss`.
    """
    a, b = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    opt = torch.optim.Adam([a, b], lr=lr)
    curve = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sdm_loss(a, b, labels, logit_scale)
        loss.backward()
        opt.step()
        curve.append(float(loss))
    return a.detach(), b.detach(), curve


def plot_points(ax, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, title: str) -> None:
    """Unit-normalised points: circles = modality A, crosses = modality B, colour = label.

    Used by notebook 07 (TMFF loss).

    Args:
        ax: the matplotlib Axes to draw on.
        a: (B, 2) points of modality A (drawn unit-normalised, as circles).
        b: (B, 2) points of modality B (drawn unit-normalised, as crosses).
        labels: (B,) labels 0 or 1, the colour of each point.
        title: the axes' title.
    """
    a, b = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(b, dim=1)
    colours = np.array(["tab:blue", "tab:orange"])[labels.numpy()]
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.85", lw=1)
    ax.scatter(a[:, 0], a[:, 1], c=colours, marker="o", s=40, label="modality A")
    ax.scatter(b[:, 0], b[:, 1], c=colours, marker="x", s=50, label="modality B")
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.set_xticks([]), ax.set_yticks([])


def heatmap(ax, matrix, title: str, xlabels=None, ylabels=None, cmap: str = "viridis"):
    """A labelled attention map (rows = queries, columns = keys).

    Used by notebooks 04 to 06 (encoders, IMA, TCAF).

    Args:
        ax: the matplotlib Axes to draw on.
        matrix: 2-D array or tensor, rows = queries and columns = keys.
        title: the axes' title.
        xlabels: one label per column (key), or None.
        ylabels: one label per row (query), or None.
        cmap: matplotlib colormap name.
    """
    m = np.asarray(matrix.detach().cpu() if torch.is_tensor(matrix) else matrix)
    im = ax.imshow(m, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_title(title)
    # a row or column is a token: whole-number ticks only (there is no token 0.5)
    if m.shape[1] <= 16:
        ax.set_xticks(range(m.shape[1]))
    if m.shape[0] <= 16:
        ax.set_yticks(range(m.shape[0]))
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), xlabels, rotation=90, fontsize=9)
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), ylabels, fontsize=9)
    if m.size <= 36:  # few cells: write each value, dark text on light cells
        mid = (np.nanmin(m) + np.nanmax(m)) / 2
        for (i, j), v in np.ndenumerate(m):
            ax.text(
                j, i, f"{v:.2g}", ha="center", va="center", color="black" if v > mid else "white"
            )
    plt.colorbar(im, ax=ax, fraction=0.046)
    return im


def parameter_table(model: torch.nn.Module) -> pd.DataFrame:
    """Parameters per top-level block (encoders, ima, tcaf, head ...) of a model.

    Used by notebook 04 (encoders).

    Args:
        model: a built model (`tmiclnet.models.build`).
    """
    rows = []
    for name, child in model.named_children():
        for sub, part in (
            child.named_children() if isinstance(child, torch.nn.ModuleDict) else [("", child)]
        ):
            rows.append(
                {
                    "block": f"{name}.{sub}" if sub else name,
                    "parameters": sum(p.numel() for p in part.parameters()),
                }
            )
    rows.append(
        {"block": "missing-modality vectors", "parameters": model.missing.numel()}
    ) if hasattr(model, "missing") else None
    return pd.DataFrame(rows)


def pooling_figure(attention: dict, real: DemoBatch, patient: int = 0) -> plt.Figure:
    """The learned pooling query's weights over each modality's tokens for one patient: one row
    per modality, horizontal bars labelled by token (CT cell, radiomic family, note line), so
    every label reads at the column's width.

    Used by notebook 05 (IMA).

    Args:
        attention: the `attention` dict of a `tokens` model's output (`ima/<m>/pool` maps).
        real: the batch the model ran on (`real_batch`), for the token labels.
        patient: which row of the batch to show.
    """
    n_text = int(real.batch["text_mask"][patient].sum())
    rows = [
        ("CT cells", [f"cell {i}" for i in range(attention["ima/ct/pool"].shape[1])], "ct"),
        ("radiomic families", real.family_names, "radiomics"),
        ("note tokens", real.text_labels[patient][:n_text], "text"),
    ]
    sizes = [len(labels) for _, labels, _ in rows]
    fig, axes = plt.subplots(
        3, 1, figsize=(7.5, 0.28 * sum(sizes) + 2.4), gridspec_kw={"height_ratios": sizes}
    )
    for ax, (title, labels, m) in zip(axes, rows):
        w = attention[f"ima/{m}/pool"][patient, : len(labels)].detach().cpu().numpy()
        ax.barh(range(len(labels)), w)
        ax.set_yticks(range(len(labels)), labels, fontsize=9)
        ax.invert_yaxis()
        ax.set_title(f"{title}: weights sum to {w.sum():.2f}", loc="left")
    axes[-1].set_xlabel("pooling weight")
    fig.suptitle(f"{real.ids[patient]}: attention pooling at initialisation")
    return fig


def channel_map_claims(maps: dict[str, torch.Tensor], patient: int = 0):
    """What the released TCAF's channel-to-channel maps look like, in numbers and in words built
    from them: per map the largest weight against a flat row's, how far a row's largest weight
    is from its smallest (a row is softmax(q_i k_j) over j, so their log-ratio is
    abs(q_i) times the range of the keys), and how much two rows differ.

    Used by notebook 06 (TCAF).

    Args:
        maps: title -> (B, C, C) attention map of one released TCAF unit.
        patient: the row of the batch to read.
    """
    from tmiclnet.claims import Claims

    rows = {}
    for title, w in maps.items():
        m = w[patient].detach().float().cpu()
        span = (m.max(-1).values / m.min(-1).values.clamp(min=1e-30)).max()
        rows[title] = {
            "largest": f"{float(m.max()):.4f}",
            "flat row": f"{1 / m.shape[-1]:.4f}",
            "max / min in a row": f"{float(span):.2f}",
            "rows differ by": f"{float((m - m[0]).abs().max()):.4f}",
        }
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("map")
    words = [
        f"{t}: no weight exceeds {r['largest']} (a flat row gives each key {r['flat row']}); "
        f"within a row the largest weight is at most {r['max / min in a row']} times the "
        f"smallest, and two rows differ by at most {r['rows differ by']}."
        for t, r in rows.items()
    ]
    return Claims(table, words, caption="one patient; weights of one row sum to 1")
